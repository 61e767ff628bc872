// The processor against the real MariaDB here (the mysql engine; MariaDB speaks the same protocol).
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { sqlName } from '../../processor/src/schema.js';
import { OLD_DEVICE_BODIES, engineSuite, sqlRow } from './engine-suite.js';
import {
  Publisher,
  bundleForTest,
  deleteBrokerObjects,
  drainDeadLetters,
  ensureMariadb,
  freePort,
  processorEnv,
  queueDepth,
  sleep,
  startChild,
  startMariadbLikeVm,
  stopMariadb,
  uniqueNames,
  waitFor,
  type Child,
} from './support.js';

const url = (db: string) => `mysql://root@127.0.0.1:3306/${db}`;

async function query<R>(db: string | undefined, sql: string, params: unknown[] = []): Promise<R[]> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: db, timezone: 'Z' });
  try {
    const [rows] = await conn.query(sql, params);
    return rows as R[];
  } finally {
    await conn.end();
  }
}

engineSuite({
  engine: 'mysql',
  dbUrl: url,
  rows: async (db, measurement, sensor) => {
    const rows = await query<Record<string, unknown>>(db, `SELECT * FROM ${mysql.escapeId(sqlName(measurement))} WHERE sensor = ?`, [sensor]);
    return rows.map(sqlRow);
  },
  count: async (db, measurement, sensor) => {
    const [row] = await query<{ rows: number; distinct: number }>(
      db,
      `SELECT count(*) AS \`rows\`, count(DISTINCT msg_id) AS \`distinct\` FROM ${mysql.escapeId(sqlName(measurement))} WHERE sensor = ?`,
      [sensor],
    );
    return { rows: Number(row?.rows ?? 0), distinct: Number(row?.distinct ?? 0) };
  },
  restart: async (downMs) => {
    try {
      await stopMariadb();
      await sleep(downMs);
    } finally {
      await ensureMariadb();
    }
  },
  dropDatabase: async (db) => {
    await query(undefined, `DROP DATABASE IF EXISTS ${mysql.escapeId(db)}`);
  },
});

describe('a message MariaDB can never take, end to end (the processor under its VM memory flags)', () => {
  const names = uniqueNames('t_mysql_big');
  let child: Child | undefined;

  afterAll(async () => {
    await child?.stop('SIGKILL');
    await deleteBrokerObjects(names);
    await query(undefined, `DROP DATABASE IF EXISTS ${mysql.escapeId(names.db)}`);
  });

  it('a 20 MB json field over max_allowed_packet goes to myt.dead with its reason; the five good messages behind it are stored', async () => {
    const port = await freePort();
    // The processor's own limit (16 MiB by default) would refuse the message before MariaDB sees it:
    // raised here so the database's limit is the one met.
    const env = processorEnv(names, {
      engine: 'mysql',
      dbUrl: url(names.db),
      schema: { doc: { body: 'json' }, room_climate: { temperature: 'double' } },
      port,
      extra: { MYT_MAX_MESSAGE_BYTES: String(64 * 1024 * 1024) },
    });
    child = startChild(await bundleForTest(), env);
    await child.healthy();
    const publisher = await Publisher.open(names.exchange);
    try {
      const big = JSON.stringify({ measurement: 'doc', sensor: 'big', data: { body: { text: 'x'.repeat(20 * 1024 * 1024) } } });
      await publisher.publish([big, ...[1, 2, 3, 4, 5].map((t) => ({ measurement: 'room_climate', sensor: 'behind', data: { temperature: t } }))]);
    } finally {
      await publisher.close();
    }
    const letters = await waitFor('the dead letter', async () => ((await queueDepth(names.deadQueue)) >= 1 ? drainDeadLetters(names.deadQueue) : undefined), 60_000);
    expect(letters[0]!.reason).toMatch(/max_allowed_packet/);
    await waitFor('the five good rows', async () => (await query<{ n: number }>(names.db, 'SELECT count(*) AS n FROM room_climate'))[0]!.n === 5, 30_000);
    expect(child.process.exitCode, 'the processor is still running').toBeNull();
  }, 120_000);
});

describe("the older system's queries on MySQL configured as on the VM (a throwaway MariaDB with lower_case_table_names=1)", () => {
  const names = uniqueNames('t_mysql_names');
  let server: Awaited<ReturnType<typeof startMariadbLikeVm>> | undefined;
  let child: Child | undefined;

  afterAll(async () => {
    await child?.stop('SIGKILL');
    await deleteBrokerObjects(names);
    await server?.stop();
  });

  it("stores sensorData and DaemonRoom as their devices send them, and `SELECT … FROM SensorData` (unquoted) finds them", async () => {
    server = await startMariadbLikeVm();
    const port = await freePort();
    const schema = { sensorData: { temp: 'double', pressure: 'double', device: 'text' }, DaemonRoom: { temp: 'double', pressure: 'double', device: 'text' } };
    child = startChild(await bundleForTest(), processorEnv(names, { engine: 'mysql', dbUrl: server.url(names.db), schema, port }));
    await child.healthy();
    const publisher = await Publisher.open(names.exchange);
    try {
      await publisher.publish(OLD_DEVICE_BODIES);
    } finally {
      await publisher.close();
    }
    const ask = async (sql: string) => {
      const conn = await mysql.createConnection({ host: '127.0.0.1', port: server!.port, user: 'root', database: names.db });
      try {
        return (await conn.query(sql))[0] as Record<string, unknown>[];
      } finally {
        await conn.end();
      }
    };
    await waitFor('both rows', async () => (await ask('SELECT count(*) AS n FROM DaemonRoom'))[0]?.n === 1 && (await ask('SELECT count(*) AS n FROM SensorData'))[0]?.n === 1, 30_000);
    expect(await ask('SELECT temp, pressure, device FROM SensorData')).toEqual([{ temp: 22, pressure: 15, device: 'pi1' }]);
    expect(await ask('select TEMP from sensordata')).toEqual([{ TEMP: 22 }]);
    // What Grafana's query editor lists: the tables in the catalogue.
    expect((await ask('SHOW TABLES')).map((r) => Object.values(r)[0]).sort()).toEqual(['daemonroom', 'myt_checkpoints', 'sensordata']);
  }, 120_000);
});
