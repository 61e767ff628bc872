// `myt dump`: the engine's native dump, run in the database's container, compressed on the host and
// streamed over SSH straight into a local file, as the older system's "download my data" button did.
// The file is written as NAME.partial and renamed only when the dump finished: a file with the final
// name is always a whole dump.
import { createWriteStream, existsSync, openSync, renameSync, rmSync } from 'node:fs';
import { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Engine } from '../bundle/database.js';
import { DB_NAME, DB_USERS, databaseService } from '../bundle/database.js';
import { MytError, messageOf } from '../errors.js';
import { composeIn } from './compose-cli.js';
import { q, StepError, tail, type Host } from './host.js';

interface DumpRecipe {
  /** Run with `sh -c` in the database's container; writes the dump to standard output. */
  readonly command: (database: string) => string;
  /** Whether the host gzips the output (pg_dump -Fc and mongodump --gzip compress already). */
  readonly gzip: boolean;
  /** The file's extension. */
  readonly ext: string;
  /** How the dump is restored, for the person (docs/deploy.md): FILE, SOURCE (the dumped database) and DATABASE (the one to restore into). */
  readonly restore: string;
}

/** The native dump of each engine, with the credentials its container already holds in its environment. */
export const DUMPS: Record<Engine, DumpRecipe> = {
  timescaledb: {
    command: (db) => `exec pg_dump -Fc -U "$POSTGRES_USER" -d ${q(db)}`,
    gzip: false,
    ext: 'pgdump',
    restore: 'pg_restore -d DATABASE FILE',
  },
  mysql: {
    // The password from the container's environment, never on a command line others could read.
    command: (db) => `MYSQL_PWD="$MYSQL_ROOT_PASSWORD" exec mysqldump --single-transaction --routines --triggers -uroot ${q(db)}`,
    gzip: true,
    ext: 'sql.gz',
    restore: 'gunzip -c FILE | mysql DATABASE',
  },
  influxdb: {
    // influxd backup writes a folder: it is sent as one tar stream.
    command: (db) => `d=$(mktemp -d) && influxd backup -portable -db ${q(db)} "$d" >&2 && tar -C "$d" -cf - . ; s=$?; rm -rf "$d"; exit $s`,
    gzip: true,
    ext: 'tar.gz',
    restore: 'mkdir d && tar -xzf FILE -C d && influxd restore -portable -db SOURCE -newdb DATABASE d',
  },
  mongodb: {
    // The password in a 0600 file given to --config (mongodump 100.3+; MongoDB's recommended way),
    // not with -p, where every user of the host could read it in the process list. printf is the
    // shell's own: no process carries it either. Generated passwords have no quote or backslash.
    command: (db) =>
      `f=$(mktemp) && printf 'password: "%s"\\n' "$MONGO_INITDB_ROOT_PASSWORD" > "$f" && ` +
      `mongodump --config "$f" --archive --gzip --db ${q(db)} -u ${DB_USERS.admin} --authenticationDatabase admin; s=$?; rm -f "$f"; exit $s`,
    gzip: false,
    ext: 'archive.gz',
    restore: 'mongorestore --archive=FILE --gzip',
  },
};

export interface DumpInput {
  readonly host: Host;
  readonly engine: Engine;
  /** The local file to write. */
  readonly file: string;
  /** Default MyTData, the platform's database. */
  readonly database?: string;
  /** Replace `file` when it exists (default: refuse, so an earlier dump is never lost). */
  readonly overwrite?: boolean;
  readonly progress: (line: string) => void;
  /** Default 6 hours. */
  readonly timeoutMs?: number;
}

export interface DumpResult {
  readonly file: string;
  readonly bytes: number;
}

export function dumpFileName(platform: string, engine: Engine, now = new Date()): string {
  return `${platform}-${engine}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.${DUMPS[engine].ext}`;
}

export async function dumpDatabase(input: DumpInput): Promise<DumpResult> {
  const { host, engine } = input;
  const recipe = DUMPS[engine];
  const database = input.database ?? DB_NAME;
  const inContainer = `${composeIn(host)} exec -T ${q(databaseService(engine))} sh -c ${q(recipe.command(database))}`;
  // bash for pipefail: a dump that fails half-way must not look like a short, whole one.
  const script = `set -o pipefail; ${inContainer}${recipe.gzip ? ' | gzip -c' : ''}`;
  const partial = `${input.file}.partial`;
  // Opened before anything runs on the host: a folder that does not exist or cannot be written is
  // said at once, not found out after the dump ran (when the stream's error had nobody to tell).
  if (!input.overwrite && existsSync(input.file)) {
    throw new MytError(`${input.file} exists: an earlier dump is never replaced without --force (or choose another name with -o)`);
  }
  let fd: number;
  try {
    fd = openSync(partial, 'w', 0o600);
  } catch (err) {
    throw new MytError(`cannot write the dump to ${partial}: ${messageOf(err)}`);
  }
  const out = createWriteStream(partial, { fd });
  let bytes = 0;
  let shown = 0;
  const started = Date.now();
  const counting = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (Date.now() - shown >= 1000) {
        shown = Date.now();
        input.progress(`dump: ${(bytes / 1e6).toFixed(1)} MB received`);
      }
      cb(null, chunk);
    },
  });
  counting.pipe(out);
  // A local write that fails mid-dump (a full disk) fails the stream the SSH command writes into,
  // which stops the command (SshSession.exec) instead of leaving it blocked on a pipe nobody reads.
  out.on('error', (err) => counting.destroy(new MytError(`cannot write the dump to ${partial}: ${messageOf(err)}`)));
  try {
    input.progress(`dump: ${engine} database ${database}, ${recipe.gzip ? 'gzip-compressed ' : ''}into ${input.file}`);
    const r = await host.exec(script, { shell: 'bash', stdout: counting, timeoutMs: input.timeoutMs ?? 6 * 3_600_000 }).catch((err: unknown) => {
      throw new StepError('dump', host.label, (err as Error).message);
    });
    counting.end();
    await finished(out);
    if (r.code !== 0) throw new StepError('dump', host.label, `exit status ${r.code}`, host.mask(tail(r.stderr)));
    if (bytes === 0) throw new MytError(`dump on ${host.label}: the dump was empty`);
    renameSync(partial, input.file);
    input.progress(`dump: ${(bytes / 1e6).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s; restore with: ${recipe.restore.replace('FILE', input.file).replace('SOURCE', database)}`);
    return { file: input.file, bytes };
  } catch (err) {
    counting.destroy();
    out.destroy();
    rmSync(partial, { force: true });
    throw err;
  }
}
