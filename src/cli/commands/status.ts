import { findRepoRoot, requireMytRepository } from '../../config/find-root.js';
import type { StatusOptions } from '../../deploy/index.js';
import type { PlatformStatus } from '../../deploy/status.js';
import { oneOf, parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt status [platforms...] [options]

Asks each platform's host (default: every declared platform), over SSH with its verified host key:
  - the release that is current, and when and by whom it was deployed (the host's audit log)
  - each service's state and health (docker compose ps)
  - messages in each broker queue and stream, and the dead letters (rabbitmqctl)
  - what the processors received, stored and dead-lettered since they started (their /metrics)
  - the newest reading's time in the database (not yet for MongoDB)
  - the data volume's use (df) and, with TLS, when the broker's certificate expires
Nothing is changed. A cloud platform's address comes from its last 'myt apply'.

Options:
  --format text|json  output format (default: text)
  --root DIR          repository root (default: the nearest folder upwards with myt.yaml,
                      platforms/ or .git)
  -h, --help          show this help

Exit status: 0 every platform healthy, 1 one is not (or could not be reached), 2 usage error.
`;

type Entry = PlatformStatus | { platform: string; healthy: false; error: string };

export function statusCommandWith(deps?: { readonly status: (o: StatusOptions) => Promise<Entry[]> }): Command {
  return {
    name: 'status',
    help: HELP,
    async run(args: string[], ctx: CliContext): Promise<number> {
      const { values, positionals } = parseCommandArgs('status', args, { root: { type: 'string' }, format: { type: 'string' } });
      const format = oneOf('status', 'format', values.format, ['text', 'json'] as const, 'text');
      const root = findRepoRoot(ctx.cwd, values.root);
      requireMytRepository(root);
      const d = deps ?? (await import('../../deploy/index.js'));
      const { formatStatus } = await import('../../deploy/status.js');
      const entries = await d.status({ root, platforms: positionals, env: ctx.env });
      if (format === 'json') ctx.stdout(`${JSON.stringify({ platforms: entries }, null, 2)}\n`);
      else for (const e of entries) ctx.stdout('error' in e ? `${e.platform}: could not be read: ${e.error}\n` : formatStatus(e));
      return entries.every((e) => e.healthy) ? 0 : 1;
    },
  };
}

export const statusCommand = statusCommandWith();
