// `myt dump`'s code end to end over a real OpenSSH server on loopback, against the real PostgreSQL,
// MariaDB and InfluxDB here: the dump streamed into a local file restores to the same row count.
// Docker cannot run here: the host's `docker compose exec SERVICE CMD` is a STAND-IN that runs CMD
// on the test host with the container's environment (tests/helpers/docker-stand-in.sh), so the
// engines' own dump clients (pg_dump, mysqldump, influxd backup) do the work, as in the container.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Engine } from '../../src/bundle/database.js';
import { dumpDatabase, dumpFileName } from '../../src/deploy/dump.js';
import type { Host } from '../../src/deploy/host.js';
import { describeNeeding } from '../helpers/needs.js';
import { SSHD_NEED, startSshServer, type TestSshServer } from '../helpers/ssh-server.js';
import { withDeployedPlatform } from './helpers.js';

const ROWS = 1500;
const tag = randomBytes(4).toString('hex');
/** The mongodb container's root password (its environment, as the bundle sets it), in the generated passwords' format. */
const MONGO_PASSWORD = randomBytes(24).toString('base64url');
let server: TestSshServer;
let out: string;

function sh(command: string, input?: string): string {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', command], { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
  return r.stdout;
}

const psql = (db: string, sql: string) => sh(`psql -X -q -t -A -h 127.0.0.1 -U postgres -d ${db} -v ON_ERROR_STOP=1`, sql).trim();
const mysql = (sql: string) => sh('mysql -h 127.0.0.1 -u root -N -B', sql).trim();
const influx = (q: string) => sh(`curl -sf -XPOST http://127.0.0.1:8086/query --data-urlencode ${JSON.stringify(`q=${q}`)}`);

const withPlatform = <T>(engine: Engine, fn: (host: Host) => Promise<T>) => withDeployedPlatform(server, 'dump', engine, fn);

describeNeeding(SSHD_NEED, 'myt dump over a real OpenSSH server on loopback, against the real databases here (docker compose exec is a stand-in)', () => {
  beforeAll(async () => {
    // The container's environment, as the database images set it (docs/bundle.md); here the servers are on 127.0.0.1.
    server = await startSshServer({ env: { PGHOST: '127.0.0.1', POSTGRES_USER: 'postgres', MYSQL_HOST: '127.0.0.1', MYSQL_ROOT_PASSWORD: '', MONGO_INITDB_ROOT_PASSWORD: MONGO_PASSWORD } });
    out = mkdtempSync(join(tmpdir(), 'myt-dump-'));
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('timescaledb: pg_dump -Fc streamed to a local file restores to the same row count', async () => {
    const db = `myt_dump_${tag}`;
    const restored = `${db}_restored`;
    psql('postgres', `CREATE DATABASE ${db}; CREATE DATABASE ${restored};`);
    try {
      psql(db, `CREATE TABLE m (id int primary key, v text); INSERT INTO m SELECT g, md5(g::text) FROM generate_series(1, ${ROWS}) g;`);
      const file = join(out, dumpFileName('dump-timescaledb', 'timescaledb'));
      const lines: string[] = [];
      const r = await withPlatform('timescaledb', (host) => dumpDatabase({ host, engine: 'timescaledb', file, database: db, progress: (l) => lines.push(l) }));
      expect(r.bytes).toBe(statSync(file).size);
      expect(file).toMatch(/\.pgdump$/);
      expect(lines.at(-1)).toMatch(/^dump: [\d.]+ MB in [\d.]+ s; restore with: pg_restore -d DATABASE /);
      expect(server.dockerCalls().at(-1)).toMatch(/^compose exec -T timescaledb sh -c exec\\ pg_dump\\ -Fc\\ /);
      sh(`pg_restore -h 127.0.0.1 -U postgres -d ${restored} ${file}`);
      expect(Number(psql(restored, 'SELECT count(*) FROM m'))).toBe(ROWS);
    } finally {
      psql('postgres', `DROP DATABASE IF EXISTS ${db}; DROP DATABASE IF EXISTS ${restored};`);
    }
  });

  it('mysql: mysqldump --single-transaction, gzipped on the host, restores to the same row count', async () => {
    const db = `myt_dump_${tag}`;
    const restored = `${db}_restored`;
    mysql(`CREATE DATABASE ${db}; CREATE DATABASE ${restored}; CREATE TABLE ${db}.m (id int primary key, v text);`);
    try {
      mysql(`SET SESSION max_recursive_iterations = ${ROWS * 2}; INSERT INTO ${db}.m (id, v) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${ROWS}) SELECT n, md5(n) FROM s;`);
      const file = join(out, dumpFileName('dump-mysql', 'mysql'));
      await withPlatform('mysql', (host) => dumpDatabase({ host, engine: 'mysql', file, database: db, progress: () => undefined }));
      expect(sh(`gzip -t ${file} && echo ok`).trim()).toBe('ok');
      expect(server.dockerCalls().at(-1)).toMatch(/mysqldump\\ --single-transaction\\ /);
      sh(`gunzip -c ${file} | mysql -h 127.0.0.1 -u root ${restored}`);
      expect(Number(mysql(`SELECT count(*) FROM ${restored}.m`))).toBe(ROWS);
    } finally {
      mysql(`DROP DATABASE IF EXISTS ${db}; DROP DATABASE IF EXISTS ${restored};`);
    }
  });

  it('influxdb: influxd backup -portable as a gzipped tar restores to the same point count', async () => {
    const db = `myt_dump_${tag}`;
    const restored = `${db}_restored`;
    influx(`CREATE DATABASE ${db}`);
    const dir = mkdtempSync(join(tmpdir(), 'myt-influx-restore-'));
    try {
      const points = Array.from({ length: ROWS }, (_, i) => `m,sensor=s${i % 7} v=${i}i ${1_700_000_000_000_000_000 + i * 1_000_000_000}`).join('\n');
      sh(`curl -sf -XPOST 'http://127.0.0.1:8086/write?db=${db}' --data-binary @-`, points);
      const file = join(out, dumpFileName('dump-influxdb', 'influxdb'));
      const lines: string[] = [];
      await withPlatform('influxdb', (host) => dumpDatabase({ host, engine: 'influxdb', file, database: db, progress: (l) => lines.push(l) }));
      // The restore line names the database that was dumped.
      expect(lines.at(-1)).toContain(`restore with: mkdir d && tar -xzf ${file} -C d && influxd restore -portable -db ${db} -newdb DATABASE d`);
      sh(`tar -xzf ${file} -C ${dir}`);
      sh(`influxd restore -portable -db ${db} -newdb ${restored} ${dir}`);
      const count = JSON.parse(influx(`SELECT count(v) FROM ${restored}.autogen.m`)) as { results: { series?: { values: [string, number][] }[] }[] };
      expect(count.results[0]?.series?.[0]?.values[0]?.[1]).toBe(ROWS);
    } finally {
      influx(`DROP DATABASE ${db}`);
      influx(`DROP DATABASE ${restored}`);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // MongoDB cannot run here: `mongodump` on the test host is a STAND-IN that records its arguments and
  // the file given to --config, and writes a few bytes as its archive. The contract it stands in for:
  // mongodump 100.3 and later read the password from the YAML file --config names
  // (https://www.mongodb.com/docs/database-tools/mongodump/#std-option-mongodump.--config).
  it('mongodb, with a stand-in mongodump: the password reaches it in a 0600 --config file that is removed after, never on a command line', async () => {
    const S = server.standIn;
    writeFileSync(
      join(S, 'bin', 'mongodump'),
      `#!/bin/sh\nprintf '%s\\n' "$@" > ${S}/mongodump.args\n` +
        `while [ $# -gt 0 ]; do [ "$1" = --config ] && { stat -c %a "$2" > ${S}/mongodump.mode; cat "$2" > ${S}/mongodump.config; echo "$2" > ${S}/mongodump.path; }; shift; done\n` +
        `printf 'stand-in archive'\n`,
      { mode: 0o755 },
    );
    try {
      const file = join(out, dumpFileName('dump-mongodb', 'mongodb'));
      await withPlatform('mongodb', (host) => dumpDatabase({ host, engine: 'mongodb', file, progress: () => undefined }));
      expect(readFileSync(file, 'utf8')).toBe('stand-in archive');
      const args = readFileSync(join(S, 'mongodump.args'), 'utf8');
      expect(args.split('\n')).toEqual(expect.arrayContaining(['--archive', '--gzip', '--db', 'MyTData', '--config']));
      expect(args).not.toContain(MONGO_PASSWORD);
      expect(server.dockerCalls().at(-1)).not.toContain(MONGO_PASSWORD);
      expect(readFileSync(join(S, 'mongodump.config'), 'utf8')).toBe(`password: "${MONGO_PASSWORD}"\n`);
      expect(readFileSync(join(S, 'mongodump.mode'), 'utf8').trim()).toBe('600');
      expect(existsSync(readFileSync(join(S, 'mongodump.path'), 'utf8').trim())).toBe(false);
    } finally {
      rmSync(join(S, 'bin', 'mongodump'), { force: true });
    }
  });

  it('a gzipped dump whose tool fails is an error, not a short file (the pipeline fails with its first command)', async () => {
    const file = join(out, 'missing.sql.gz');
    const err = await withPlatform('mysql', (host) => dumpDatabase({ host, engine: 'mysql', file, database: `no_such_db_${tag}`, progress: () => undefined })).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/^dump on \S+ failed: exit status 2\n.*Unknown database/s);
    expect(existsSync(file)).toBe(false);
  });

  it('a local folder that does not exist: a clear error before the dump runs, instead of waiting forever for a file that failed to open', { timeout: 30_000 }, async () => {
    const file = join(out, 'no-such-folder', 'x.pgdump');
    const calls = server.dockerCalls().length;
    const err = await withPlatform('timescaledb', (host) => dumpDatabase({ host, engine: 'timescaledb', file, database: 'postgres', progress: () => undefined })).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/^cannot write the dump to \S+\/no-such-folder\/x\.pgdump\.partial: ENOENT/);
    expect(server.dockerCalls().slice(calls).filter((c) => c.startsWith('compose exec'))).toEqual([]);
  });

  it('an existing file is not replaced without overwrite (--force): refused before the dump runs, its content kept', async () => {
    const file = join(out, 'earlier.pgdump');
    writeFileSync(file, 'an earlier dump');
    const calls = server.dockerCalls().length;
    const err = await withPlatform('timescaledb', (host) => dumpDatabase({ host, engine: 'timescaledb', file, database: 'postgres', progress: () => undefined })).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toBe(`${file} exists: an earlier dump is never replaced without --force (or choose another name with -o)`);
    expect(readFileSync(file, 'utf8')).toBe('an earlier dump');
    expect(server.dockerCalls().slice(calls).filter((c) => c.startsWith('compose exec'))).toEqual([]);
    const r = await withPlatform('timescaledb', (host) => dumpDatabase({ host, engine: 'timescaledb', file, database: 'postgres', overwrite: true, progress: () => undefined }));
    expect(r.bytes).toBeGreaterThan(0);
    expect(readFileSync(file, 'utf8')).not.toBe('an earlier dump');
  });

  it('a dump that fails leaves no file, and the error names the step, the host and the remote output', async () => {
    const file = join(out, 'missing.pgdump');
    const err = await withPlatform('timescaledb', (host) => dumpDatabase({ host, engine: 'timescaledb', file, database: `no_such_db_${tag}`, progress: () => undefined })).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(new RegExp(`^dump on ${server.user}@127\\.0\\.0\\.1:\\d+ failed: exit status 1\\n.*no_such_db_${tag}`, 's'));
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });
});
