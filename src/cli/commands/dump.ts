import { UsageError } from '../../errors.js';
import type { DumpOptions } from '../../deploy/index.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { deployOptions } from './deploy.js';

const HELP = `Usage: myt dump PLATFORM [options]

Downloads the platform's data: the database engine's native dump, run in its container on the
host, compressed there and streamed over SSH into a local file, with a progress line:
  influxdb      influxd backup -portable (a tar of the backup folder)   .tar.gz
  timescaledb   pg_dump -Fc (compressed by pg_dump)                     .pgdump
  mysql         mysqldump --single-transaction                          .sql.gz
  mongodb       mongodump --archive --gzip                              .archive.gz
The file appears under its name only when the dump is whole (it is written as NAME.partial until
then). The last line says how to restore it. docs/deploy.md has the details.

Options:
  -o, --out FILE      where to write (default: PLATFORM-ENGINE-TIME.EXT in the current folder)
  --force             replace FILE when it exists (default: refuse, so no earlier dump is lost)
  --database NAME     another database of the engine (default: MyTData, the platform's)
  --root DIR          repository root (default: the nearest folder upwards with myt.yaml,
                      platforms/ or .git)
  -h, --help          show this help

Exit status: 0 written, 1 failed (no file is left), 2 usage error.
`;

export function dumpCommandWith(deps?: { readonly dump: (o: DumpOptions) => Promise<{ file: string; bytes: number; host: string }> }): Command {
  return {
    name: 'dump',
    help: HELP,
    async run(args: string[], ctx: CliContext): Promise<number> {
      const { options, values } = deployOptions('dump', args, ctx, { out: { type: 'string', short: 'o' }, database: { type: 'string' }, force: { type: 'boolean' } });
      const out = values.out as string | undefined;
      const database = values.database as string | undefined;
      if (database !== undefined && !/^[A-Za-z_][A-Za-z0-9_-]{0,62}$/.test(database)) throw new UsageError(`dump: --database must be a database name (letters, digits, '_' and '-')`);
      const d = deps ?? (await import('../../deploy/index.js'));
      const r = await d.dump({ ...options, out, database, overwrite: values.force === true, cwd: ctx.cwd });
      ctx.stdout(`${r.file}\n`);
      ctx.stderr(`wrote ${(r.bytes / 1e6).toFixed(1)} MB from ${r.host}\n`);
      return 0;
    },
  };
}

export const dumpCommand = dumpCommandWith();
