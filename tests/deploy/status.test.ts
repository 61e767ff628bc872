// `myt status`'s reading of the host over a real OpenSSH server on loopback, with the real databases
// here for the newest reading's time. Docker cannot run here: `docker compose ps` and `exec` on the
// host are the tests' stand-in (tests/helpers/docker-stand-in.sh; `exec` runs the command on the test
// host with the container's environment, so psql, mysql and influx query this machine's servers).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatStatus, parseLastWrite, platformStatus } from '../../src/deploy/status.js';
import { describeNeeding } from '../helpers/needs.js';
import { SSHD_NEED, startSshServer, type TestSshServer } from '../helpers/ssh-server.js';
import { withDeployedPlatform } from './helpers.js';

const tag = randomBytes(4).toString('hex');
const DB = `myt_status_${tag}`;
const NEWEST = '2030-05-06T07:08:09.000Z';
let server: TestSshServer;

function sh(command: string, input?: string): string {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', command], { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
  return r.stdout;
}

describeNeeding(SSHD_NEED, 'myt status over a real OpenSSH server on loopback (docker compose ps and exec are a stand-in)', () => {
  beforeAll(async () => {
    server = await startSshServer({ env: { PGHOST: '127.0.0.1', POSTGRES_USER: 'postgres', MYSQL_HOST: '127.0.0.1', MYSQL_ROOT_PASSWORD: '' } });
  }, 30_000);
  afterAll(async () => server?.stop());

  it('timescaledb: services from the stand-in, the newest reading across the declared tables, the last deploy', async () => {
    sh(`psql -X -q -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE ${DB}'`);
    try {
      sh(`psql -X -q -h 127.0.0.1 -U postgres -d ${DB} -v ON_ERROR_STOP=1`, `CREATE TABLE m (ts timestamptz, v int); INSERT INTO m VALUES ('2030-01-01T00:00:00Z', 1), ('${NEWEST}', 2);`);
      // a declared table the processor has not made yet is no error
      const st = await withDeployedPlatform(server, 'status', 'timescaledb', (host) => platformStatus(host, 'status-timescaledb', 1, false, { engine: 'timescaledb', tables: ['M', 'not_yet'], database: DB }));
      expect(st.lastWrite).toBe(NEWEST);
      expect(st.healthy).toBe(true);
      expect(st.services.map((x) => `${x.service}:${x.state}:${x.health}`).sort()).toEqual(['grafana:running:healthy', 'processor-0:running:healthy', 'rabbitmq:running:healthy', 'timescaledb:running:healthy']);
      expect(st.release).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{12}$/);
      expect(st.lastDeploy).toMatchObject({ command: 'deploy', outcome: 'deployed' });
      expect(st.dataVolume?.sizeBytes).toBeGreaterThan(0);
      // the test user cannot reach the broker's rabbitmqctl here: that is said, not hidden
      expect(st.queues).toBeUndefined();
      expect(st.notes.join('\n')).toMatch(/queues: the broker did not answer/);
      expect(formatStatus(st)).toMatch(new RegExp(`^status-timescaledb on \\S+: healthy, release \\S+\\n(.*\\n)*  last write     ${NEWEST.replace(/\./g, '\\.')}\\n`));
    } finally {
      sh(`psql -X -q -h 127.0.0.1 -U postgres -d postgres -c 'DROP DATABASE IF EXISTS ${DB}'`);
    }
  });

  it('mysql: the newest reading', async () => {
    sh(`mysql -h 127.0.0.1 -u root -e 'CREATE DATABASE ${DB}; CREATE TABLE ${DB}.m (ts datetime(3), v int); INSERT INTO ${DB}.m VALUES ("2030-01-01 00:00:00", 1), ("2030-05-06 07:08:09", 2)'`);
    try {
      const tz = sh(`mysql -h 127.0.0.1 -u root -N -B -e 'SELECT UNIX_TIMESTAMP("2030-05-06 07:08:09")'`).trim();
      const st = await withDeployedPlatform(server, 'status', 'mysql', (host) => platformStatus(host, 'status-mysql', 1, false, { engine: 'mysql', tables: ['m'], database: DB }));
      // MySQL reads DATETIME in the session's time zone: the expected instant is the server's own reading
      expect(st.lastWrite).toBe(new Date(Number(tz) * 1000).toISOString());
    } finally {
      sh(`mysql -h 127.0.0.1 -u root -e 'DROP DATABASE IF EXISTS ${DB}'`);
    }
  });

  it('influxdb: the newest point of any measurement', async () => {
    const q = (text: string) => sh(`curl -sf -XPOST http://127.0.0.1:8086/query --data-urlencode ${JSON.stringify(`q=${text}`)}`);
    q(`CREATE DATABASE ${DB}`);
    try {
      const s = Date.parse(NEWEST) / 1000;
      sh(`curl -sf -XPOST 'http://127.0.0.1:8086/write?db=${DB}&precision=s' --data-binary @-`, `a,sensor=x v=1i ${s - 100}\nb,sensor=y v=2i ${s}\n`);
      const st = await withDeployedPlatform(server, 'status', 'influxdb', (host) => platformStatus(host, 'status-influxdb', 1, false, { engine: 'influxdb', tables: [], database: DB }));
      expect(st.lastWrite).toBe(NEWEST);
    } finally {
      q(`DROP DATABASE ${DB}`);
    }
  });
});

it('parseLastWrite() reads psql/mysql lines and influx JSON, and says nothing when there is nothing', () => {
  expect(parseLastWrite('timescaledb', '1700000000.5\n\n1800000000\n')).toBe(new Date(1800000000 * 1000).toISOString());
  expect(parseLastWrite('mysql', 'NULL\n')).toBeUndefined();
  expect(parseLastWrite('influxdb', '{"results":[{"statement_id":0}]}')).toBeUndefined();
  expect(parseLastWrite('influxdb', 'ERR: database not found')).toBeUndefined();
});
