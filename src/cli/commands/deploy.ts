import { UsageError } from '../../errors.js';
import { findRepoRoot, requireMytRepository } from '../../config/find-root.js';
import type { DeployOptions, DeployResult } from '../../deploy/index.js';
import { parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt deploy PLATFORM [options]

Puts a platform on its host and keeps it there, over SSH:
  1. a cloud platform's infrastructure is applied first (as 'myt apply PLATFORM': nothing
     changes when nothing changed); an existing server (cloud provider ssh) is used as declared
  2. connect: the host key must be the one MyT knows (a cloud VM's from 'myt keys generate',
     installed when the VM was made; an existing server's from spec.cloud.hostKey): a mismatch
     stops before anything is sent. The login key is decrypted in memory only
  3. lock: one deploy of a platform at a time (/opt/myt/PLATFORM/lock says who holds it)
  4. bootstrap, once: Docker Engine and the compose plugin from the distribution's packages; a
     cloud VM's data volume is formatted only when it has no filesystem, and mounted by UUID
  5. upload the rendered bundle to /opt/myt/PLATFORM/releases/ID/ and the secret files (mode 0600)
  6. switch the 'current' link to it atomically, docker compose up -d --remove-orphans --wait
  7. keep the last 5 releases; append what was done to /opt/myt/PLATFORM/audit.log
A run with nothing changed changes nothing and says so. A failure names the step, the host and
the remote output (secrets masked). docs/deploy.md has the details.

Options:
  --commit SHA        the commit being deployed, for the audit log (default: $GITHUB_SHA)
  --actor NAME        who deploys, for the audit log (default: $GITHUB_ACTOR or user@machine)
  --wait SECONDS      how long docker compose up may wait for health (default: 300)
  --release-lock      remove the host's deploy lock (after a deploy that is known to be dead)
  --root DIR          repository root (default: the nearest folder upwards with myt.yaml,
                      platforms/ or .git)
  -h, --help          show this help

Exit status: 0 deployed (or nothing to do), 1 failed, 2 usage error.
`;

export interface DeployCommandDeps {
  readonly deploy: (o: DeployOptions) => Promise<DeployResult>;
  readonly releaseLock: (o: DeployOptions) => Promise<string>;
}

/** The options deploy and redeploy share, parsed once. */
export function deployOptions(command: string, args: string[], ctx: CliContext, extra: Record<string, { type: 'boolean' | 'string'; short?: string }> = {}) {
  const { values, positionals } = parseCommandArgs(command, args, {
    root: { type: 'string' },
    commit: { type: 'string' },
    actor: { type: 'string' },
    wait: { type: 'string' },
    ...extra,
  });
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `${command}: name the platform` : `${command}: one platform at a time (got ${positionals.join(', ')})`);
  let waitSeconds: number | undefined;
  if (values.wait !== undefined) {
    waitSeconds = Number(values.wait);
    if (!Number.isInteger(waitSeconds) || waitSeconds < 1 || waitSeconds > 3600) throw new UsageError(`${command}: --wait must be a whole number of seconds from 1 to 3600 (got '${values.wait}')`);
  }
  const root = findRepoRoot(ctx.cwd, values.root);
  requireMytRepository(root);
  const started = performance.now();
  const options: DeployOptions = {
    root,
    platform: positionals[0]!,
    commit: values.commit ?? ctx.env.GITHUB_SHA,
    actor: values.actor ?? ctx.env.GITHUB_ACTOR,
    env: ctx.env,
    waitSeconds,
    onProgress: (line) => ctx.stderr(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`),
  };
  return { options, values: values as Record<string, string | boolean | undefined> };
}

export function deployCommandWith(deps?: DeployCommandDeps): Command {
  return {
    name: 'deploy',
    help: HELP,
    async run(args: string[], ctx: CliContext): Promise<number> {
      const { options, values } = deployOptions('deploy', args, ctx, { 'release-lock': { type: 'boolean' } });
      const d = deps ?? (await import('../../deploy/index.js'));
      if (values['release-lock'] === true) {
        ctx.stdout(`${options.platform}: ${await d.releaseLock(options)}\n`);
        return 0;
      }
      const r = await d.deploy(options);
      ctx.stdout(`${r.platform} on ${r.host}: ${r.summary}\n`);
      return 0;
    },
  };
}

export const deployCommand = deployCommandWith();
