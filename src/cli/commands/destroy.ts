import { MytError, UsageError } from '../../errors.js';
import { COMMON_HELP, COMMON_OPTIONS, realInfraDeps, rootAndOut, timeoutOption, type InfraDeps } from '../infra-support.js';
import { checkDestroyable, destroyPlatform } from '../../infra/destroy-platform.js';
import { parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt destroy <platform> [options]

Destroys a platform's infrastructure: its VM, public IP, key pair, firewall and its DATA VOLUME
(the database is lost). The platform must be declared and opt in with 'spec.destroy: allow'
(or --force). The plan is shown first; at a terminal you confirm by typing the platform's name,
elsewhere --confirm NAME must be given. The Space it uses is left as it is.

A platform whose file was deleted is never destroyed: restore the file with spec.destroy: allow.

Options:
${COMMON_HELP}
  --force             destroy even though the platform does not set spec.destroy: allow
  --confirm NAME      confirm without a terminal (CI): must be the platform's name
  --timeout MINUTES   limit for each Terraform command (default: 30)
  -h, --help          show this help

Exit status: 0 destroyed (or nothing existed), 1 refused or failed, 2 usage error.
`;

export function destroyCommandWith(deps: InfraDeps = realInfraDeps): Command {
  return {
    name: 'destroy',
    help: HELP,
    async run(args: string[], ctx: CliContext): Promise<number> {
      const { values, positionals } = parseCommandArgs('destroy', args, {
        ...COMMON_OPTIONS,
        force: { type: 'boolean' },
        confirm: { type: 'string' },
        timeout: { type: 'string' },
      });
      if (positionals.length !== 1) throw new UsageError('destroy: name exactly one platform');
      const name = positionals[0]!;
      const timeoutMs = timeoutOption('destroy', values.timeout);
      const { root, outDir } = rootAndOut(ctx, values);

      await checkDestroyable(root, name, values.force === true);
      if (values.confirm !== undefined && values.confirm !== name) throw new MytError(`--confirm '${values.confirm}' is not the platform's name '${name}': nothing was destroyed`);
      if (values.confirm === undefined && !ctx.interactive) {
        throw new MytError(`not at a terminal, so nobody can type the name: pass --confirm ${name} to destroy platform ${name}`);
      }

      const binary = deps.findTerraform(ctx.env);
      const secrets = await deps.secrets();
      const result = await destroyPlatform({
        root,
        outDir,
        name,
        force: values.force === true,
        binary: () => binary,
        secrets,
        env: ctx.env,
        log: (line) => ctx.stderr(`${line}\n`),
        timeoutMs,
        spawn: deps.spawn,
        // The plan summary has just been logged: the question follows it.
        confirm: async () => {
          if (values.confirm === name) return true;
          const answer = await deps.prompt(`This destroys platform ${name} and its data volume. Type the platform name to confirm: `);
          return answer.trim() === name;
        },
      });
      ctx.stdout(result.status === 'unchanged' ? `${name}: nothing to destroy (no resources in its state)\n` : `${name}: destroyed (${result.summary.destroy} resources)\n`);
      return 0;
    },
  };
}

export const destroyCommand = destroyCommandWith();
