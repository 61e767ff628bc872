import { COMMON_HELP, COMMON_OPTIONS, realInfraDeps, rootAndOut, timeoutOption, type InfraDeps } from '../infra-support.js';
import { describeRun } from '../../infra/apply-stack.js';
import { runStacks } from '../../infra/run-stacks.js';
import { orphanNotice, prepareStacks } from '../../infra/workspace.js';
import { parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt apply [options] [platforms...]

Creates or updates the infrastructure of the named platforms (default: every Space and Platform),
Spaces first. For each stack: terraform init, plan (saved), a summary of what would be added,
changed, replaced or destroyed, then apply of exactly that saved plan, and its outputs (the
public IP). Cloud credentials and the VM's SSH host private key are decrypted in memory and
reach Terraform only as environment variables. A plan that would replace or destroy a data volume
or a VM is refused unless --allow-data-loss is given (docs/infrastructure.md lists what replaces a
VM). At a terminal each stack's changes are applied only once you type 'yes' after its summary
(--yes skips the question; off a terminal nothing is asked). A failed apply keeps everything it
made and says what exists; run apply again to continue.

Needs terraform (or tofu) on the PATH, or MYT_TERRAFORM set to it; 1.10 or newer with an s3 state
backend.

Options:
${COMMON_HELP}
  --allow-data-loss   apply even a plan that would replace or destroy a data volume or a VM
  -y, --yes           at a terminal, apply without asking
  --timeout MINUTES   limit for each Terraform command (default: 30)
  -h, --help          show this help

Exit status: 0 applied (or nothing to do), 1 failed or refused, 2 usage error.
`;

export function applyCommandWith(deps: InfraDeps = realInfraDeps): Command {
  return {
    name: 'apply',
    help: HELP,
    async run(args: string[], ctx: CliContext): Promise<number> {
      const { values, positionals } = parseCommandArgs('apply', args, {
        ...COMMON_OPTIONS,
        'allow-data-loss': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        timeout: { type: 'string' },
      });
      const timeoutMs = timeoutOption('apply', values.timeout);
      const { root, outDir } = rootAndOut(ctx, values);
      const binary = deps.findTerraform(ctx.env); // before any decryption: say early when Terraform is missing
      const secrets = await deps.secrets();
      const prepared = await prepareStacks({ root, outDir, readSecrets: secrets.readSecrets, env: ctx.env, only: positionals.length ? positionals : undefined });
      if (prepared.stacks.length === 0) {
        ctx.stdout('Nothing to apply: no Space or cloud Platform is declared (platforms on an existing server need no infrastructure).\n');
        return 0;
      }
      if (prepared.config.state.backend === 'local' && (ctx.env.CI === 'true' || ctx.env.GITHUB_ACTIONS === 'true')) {
        ctx.stderr(
          `warning: Terraform state is local (${prepared.config.state.path}/) on a CI runner, and is lost with it: the next run would try to create everything again. ` +
            'Choose an s3 or gcs state backend in myt.yaml.\n',
        );
      }
      for (const name of prepared.orphans) ctx.stderr(`note: ${orphanNotice(name)}\n`);
      for (const notice of prepared.notices) ctx.stderr(`note: ${notice}\n`);
      const done: string[] = [];
      try {
        await runStacks({
          root,
          stacks: prepared.stacks,
          folders: prepared.folders,
          backend: prepared.config.state,
          binary,
          secrets,
          env: ctx.env,
          log: (line) => ctx.stderr(`${line}\n`),
          allowDanger: values['allow-data-loss'] ?? false,
          // A person at a terminal sees each plan's summary (just logged) and says yes to it, as with terraform apply.
          confirm:
            ctx.interactive && !values.yes
              ? async (stack) => (await deps.prompt(`Apply these changes to ${stack.name}? Only 'yes' applies them: `)).trim() === 'yes'
              : undefined,
          timeoutMs,
          spawn: deps.spawn,
          onResult: (stack, result) => {
            const ip = result.outputs.public_ip;
            ctx.stdout(`${stack.name}: ${describeRun(result)}${typeof ip === 'string' ? `, public IP ${ip}` : ''}\n`);
            done.push(stack.name);
          },
        });
      } catch (err) {
        const rest = prepared.stacks.map((s) => s.name).filter((n) => !done.includes(n));
        ctx.stdout(`Stopped: ${done.length ? `done: ${done.join(', ')}; ` : ''}not done: ${rest.join(', ')}.\n`);
        throw err;
      }
      return 0;
    },
  };
}

export const applyCommand = applyCommandWith();
