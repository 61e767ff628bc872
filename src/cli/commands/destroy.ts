import { resolvePlatform } from '../../config/defaults.js';
import { loadRepository } from '../../config/repository.js';
import { MytError, UsageError } from '../../errors.js';
import { COMMON_HELP, COMMON_OPTIONS, realInfraDeps, rootAndOut, timeoutOption, type InfraDeps } from '../infra-support.js';
import { runStacks } from '../../infra/run-stacks.js';
import { prepareStacks } from '../../infra/workspace.js';
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

      const repo = await loadRepository(root);
      const declared = repo.platforms.find((p) => p.doc.metadata.name === name);
      const space = repo.spaces.find((s) => s.doc.metadata.name === name);
      if (!declared && space) {
        throw new MytError(
          `'${name}' is a Space (${space.file}), not a platform: myt destroy removes one platform's infrastructure, and never a Space, which platforms share`,
        );
      }
      const broken = repo.invalid.find((d) => d.name === name);
      if (!declared && broken) {
        throw new MytError(`${broken.kind} '${name}' is declared in ${broken.file}, but that file has problems: run 'myt validate', fix them, and run 'myt destroy ${name}' again`);
      }
      if (!declared) {
        throw new MytError(
          `no platform named '${name}' is declared under platforms/. MyT never destroys a platform because its file is gone: ` +
            `restore the file with 'spec.destroy: allow' and run 'myt destroy ${name}' again.`,
        );
      }
      const platform = resolvePlatform(declared.doc);
      if (platform.spec.cloud.provider === 'ssh') throw new MytError(`platform ${name} is an existing server (cloud provider ssh): MyT created no infrastructure for it, so there is nothing to destroy`);
      if (platform.spec.destroy !== 'allow' && !values.force) {
        throw new MytError(`platform ${name} does not allow destruction (spec.destroy is '${platform.spec.destroy}'): set 'spec.destroy: allow' in ${declared.file} and commit it, or pass --force`);
      }
      if (values.confirm !== undefined && values.confirm !== name) throw new MytError(`--confirm '${values.confirm}' is not the platform's name '${name}': nothing was destroyed`);
      if (values.confirm === undefined && !ctx.interactive) {
        throw new MytError(`not at a terminal, so nobody can type the name: pass --confirm ${name} to destroy platform ${name}`);
      }

      const binary = deps.findTerraform(ctx.env);
      const secrets = await deps.secrets();
      const prepared = await prepareStacks({ root, outDir, readSecrets: secrets.readSecrets, env: ctx.env, only: [name], forDestroy: [name] });
      const stacks = prepared.stacks.filter((s) => s.name === name); // not the Space: other platforms may use it
      await runStacks({
        root,
        stacks,
        folders: prepared.folders,
        backend: prepared.config.state,
        binary,
        secrets,
        env: ctx.env,
        log: (line) => ctx.stderr(`${line}\n`),
        destroy: true,
        allowDanger: true, // the typed name (or --confirm) is the consent
        timeoutMs,
        spawn: deps.spawn,
        // The plan summary has just been logged: the question follows it.
        confirm: async () => {
          if (values.confirm === name) return true;
          const answer = await deps.prompt(`This destroys platform ${name} and its data volume. Type the platform name to confirm: `);
          return answer.trim() === name;
        },
        onResult: (_stack, result) => {
          ctx.stdout(result.status === 'unchanged' ? `${name}: nothing to destroy (no resources in its state)\n` : `${name}: destroyed (${result.summary.destroy} resources)\n`);
        },
      });
      return 0;
    },
  };
}

export const destroyCommand = destroyCommandWith();
