// The writers against the real servers, below the broker: schema evolution, the hypertable dedupe
// path, and records the database itself refuses (isolated by halving and dead-lettered alone).
import { InfluxDB } from 'influx';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../processor/src/log.js';
import type { Delivery } from '../../processor/src/message.js';
import { createMetrics } from '../../processor/src/metrics.js';
import { Pipeline } from '../../processor/src/pipeline.js';
import type { Schema } from '../../processor/src/schema.js';
import { InfluxWriter } from '../../processor/src/writers/influx.js';
import { MysqlWriter } from '../../processor/src/writers/mysql.js';
import { TimescaleWriter, indexName, quoteIdent } from '../../processor/src/writers/timescale.js';
import type { StoredRecord, Writer } from '../../processor/src/writers/writer.js';
import { uniqueNames } from './support.js';

const names = uniqueNames('t_writers');
const PG = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;
const MY = (db: string) => `mysql://root@127.0.0.1:3306/${db}`;

const record = (id: string, fields: StoredRecord['fields'], ts = 1714564800000, measurement = 'm'): StoredRecord => ({
  id,
  measurement,
  sensor: 's',
  ts: new Date(ts),
  repeatable: true,
  redelivered: false,
  fields,
});

let offset = 0;
const delivery = (body: object): Delivery => ({
  body: Buffer.from(JSON.stringify(body)),
  messageId: undefined,
  source: '@t:0',
  offset: offset++,
  brokerTime: undefined,
  redelivered: false,
  receivedAt: Date.now(),
  skip: false,
});

function pipelineFor(writer: Writer, schema: Schema | undefined, engine: 'timescaledb' | 'mysql' | 'influxdb'): Pipeline {
  return new Pipeline({ engine, schema, writer, script: undefined, retryMaxMs: 100, log: silentLogger, metrics: createMetrics() });
}

/** A checkpoint saved, saved again (replaced) and read back by a new writer on the same database. */
async function checkpointRoundTrip(make: () => Writer): Promise<void> {
  const first = make();
  await first.start();
  expect(await first.loadCheckpoint('cp.stream')).toBeUndefined();
  await first.saveCheckpoint({ stream: 'cp.stream', epoch: 0, next: 10, high: 50_010, fingerprint: 'f1' });
  await first.saveCheckpoint({ stream: 'cp.stream', epoch: 1, next: 12_345_678_901, high: 12_345_728_901, fingerprint: 'f2' });
  await first.saveCheckpoint({ stream: 'cp.other', epoch: 0, next: 1, high: 2, fingerprint: 'o' });
  await first.close();
  const second = make();
  await second.start();
  expect(await second.loadCheckpoint('cp.stream')).toEqual({ stream: 'cp.stream', epoch: 1, next: 12_345_678_901, high: 12_345_728_901, fingerprint: 'f2' });
  await second.close();
}

async function pgRows(db: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: PG(db) });
  await c.connect();
  try {
    return (await c.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

async function myRows(db: string | undefined, sql: string): Promise<Record<string, unknown>[]> {
  const c = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: db });
  try {
    return (await c.query(sql))[0] as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

const DE: Schema = { d: { a: 'double' }, e: { a: 'double' } };

/**
 * Writes d1, then a batch over two tables repeating d1 (the failed plain INSERT must roll back the
 * transaction around both), then one repeating d2; expects each id once with its first values.
 */
async function repeatsStoredId(writer: Writer, rows: (sql: string) => Promise<Record<string, unknown>[]>): Promise<void> {
  await writer.start();
  expect(await writer.write([record('d1', { a: 1 }, undefined, 'd')])).toEqual({ stored: 1, duplicates: 0 });
  expect(await writer.write([record('e1', { a: 1 }, undefined, 'e'), record('d1', { a: 9 }, undefined, 'd'), record('d2', { a: 2 }, undefined, 'd')])).toEqual({ stored: 2, duplicates: 1 });
  expect(await writer.write([record('d2', { a: 9 }, undefined, 'd'), record('d3', { a: 3 }, undefined, 'd'), record('d3', { a: 3 }, undefined, 'd')])).toEqual({ stored: 1, duplicates: 2 });
  await writer.close();
  expect(await rows('SELECT msg_id, a FROM d ORDER BY msg_id')).toEqual([
    { msg_id: 'd1', a: 1 },
    { msg_id: 'd2', a: 2 },
    { msg_id: 'd3', a: 3 },
  ]);
  expect(await rows('SELECT msg_id FROM e')).toEqual([{ msg_id: 'e1' }]);
}

afterAll(async () => {
  for (const db of [names.db, `${names.db}_ledger`]) await pgRows('postgres', `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db)} WITH (FORCE)`).catch(() => {});
  await myRows(undefined, `DROP DATABASE IF EXISTS ${mysql.escapeId(names.db)}`).catch(() => {});
  await new InfluxDB({ host: '127.0.0.1' }).dropDatabase(names.db).catch(() => {});
});

describe('PostgreSQL writer (plain PostgreSQL: no timescaledb extension on this machine)', () => {
  it('adds a field declared later as a column on the next start, keeping the rows', async () => {
    const first = new TimescaleWriter({ url: PG(names.db), schema: { m: { a: 'double' } }, log: silentLogger });
    await first.start();
    await first.write([record('r1', { a: 1 })]);
    await first.close();
    const second = new TimescaleWriter({ url: PG(names.db), schema: { m: { a: 'double', b: 'json', c: 'bool' } }, log: silentLogger });
    await second.start();
    await second.write([record('r2', { a: 2, b: { json: '{"k":[1,2]}' }, c: true })]);
    await second.close();
    const rows = await pgRows(names.db, 'SELECT msg_id, a, b, c FROM m ORDER BY msg_id');
    expect(rows).toEqual([
      { msg_id: 'r1', a: 1, b: null, c: null },
      { msg_id: 'r2', a: 2, b: { k: [1, 2] }, c: true },
    ]);
  });

  it('hypertable dedupe path (msg_id ledger), run on plain PostgreSQL: a repeated id never makes a second row, even with another ts', async () => {
    const writer = new TimescaleWriter({ url: PG(`${names.db}_ledger`), schema: { m: { a: 'double' } }, log: silentLogger, dedupe: 'ledger', hypertables: false });
    await writer.start();
    await writer.write([record('x1', { a: 1 }), record('x2', { a: 2 }), record('x1', { a: 1 })]);
    await writer.write([record('x1', { a: 1 }, 1714564999000), record('x3', { a: 3 })]);
    await writer.close();
    const rows = await pgRows(`${names.db}_ledger`, 'SELECT msg_id FROM m ORDER BY msg_id');
    expect(rows.map((r) => r.msg_id)).toEqual(['x1', 'x2', 'x3']);
  });

  it('a batch repeating a stored id (not a redelivery) stores only the new rows: the plain INSERT fails whole and is repeated with the check', async () => {
    await repeatsStoredId(new TimescaleWriter({ url: PG(names.db), schema: DE, log: silentLogger }), (sql) => pgRows(names.db, sql));
  });

  it('isolates a record PostgreSQL refuses (a NUL character in text) and stores the rest of the batch', async () => {
    const writer = new TimescaleWriter({ url: PG(names.db), schema: { n: { note: 'text' } }, log: silentLogger });
    await writer.start();
    const bodies = ['ok 1', 'bad \u0000 byte', 'ok 2', 'ok 3'].map((note, i) => ({ measurement: 'n', sensor: 's', id: `n${i}`, data: { note } }));
    const result = await pipelineFor(writer, { n: { note: 'text' } }, 'timescaledb').process(bodies.map(delivery), () => false);
    await writer.close();
    expect(result?.outcomes.map((o) => o.kind)).toEqual(['stored', 'dead', 'stored', 'stored']);
    expect(result?.outcomes[1]).toMatchObject({ stage: 'database', reason: expect.stringMatching(/database refused the record/) as unknown });
    expect(result).toMatchObject({ stored: 3, duplicates: 0 });
    expect((await pgRows(names.db, 'SELECT msg_id FROM n ORDER BY msg_id')).map((r) => r.msg_id)).toEqual(['["s","n0"]', '["s","n2"]', '["s","n3"]']);
  });

  it('gives long table names distinct index names within 63 characters, none equal to a table name', async () => {
    const [a, b] = [`${'t'.repeat(62)}a`, `${'t'.repeat(62)}b`];
    const made = [indexName(a, 'ts'), indexName(b, 'ts'), indexName(a, 'msg_id'), indexName(b, 'msg_id')];
    expect(new Set([...made, a, b]).size).toBe(6);
    for (const n of made) expect(n.length).toBeLessThanOrEqual(63);
    expect(indexName('room_climate', 'ts')).toBe('room_climate_ts');
    const writer = new TimescaleWriter({ url: PG(names.db), schema: { [a]: { x: 'double' }, [b]: { x: 'double' } }, log: silentLogger });
    await writer.start();
    await writer.close();
    const found = await pgRows(names.db, `SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_ts' ORDER BY indexname`);
    expect(found.map((r) => r.indexname)).toEqual(expect.arrayContaining([indexName(a, 'ts'), indexName(b, 'ts')]));
  });

  it('refuses identifiers outside the allowed pattern before any SQL is built', () => {
    expect(() => quoteIdent('m"; DROP TABLE m; --')).toThrow(/refusing SQL identifier/);
    expect(quoteIdent('room_climate')).toBe('"room_climate"');
  });

  it('keeps the stream checkpoint in a table of its own, one row per stream', async () => {
    await checkpointRoundTrip(() => new TimescaleWriter({ url: PG(names.db), schema: { m: { a: 'double' } }, log: silentLogger }));
  });

  it('writes to two long tables whose names share their first 50 characters (prepared statements are named by a hash)', async () => {
    const [a, b] = [`${'x'.repeat(50)}_first`, `${'x'.repeat(50)}_second`];
    const schema: Schema = { [a]: { v: 'double' }, [b]: { v: 'double' } };
    const writer = new TimescaleWriter({ url: PG(names.db), schema, log: silentLogger, connections: 1 });
    await writer.start();
    // One connection: both statements are prepared on it, which a shared cut-off name would refuse (42P05).
    expect(await writer.write([record('l1', { v: 1 }, undefined, a), record('l2', { v: 2 }, undefined, b)])).toEqual({ stored: 2, duplicates: 0 });
    expect(await writer.write([record('l3', { v: 3 }, undefined, b)])).toEqual({ stored: 1, duplicates: 0 });
    await writer.close();
  });

  it('keys the hypertable ledger by table: one device id in two measurements is two readings', async () => {
    const writer = new TimescaleWriter({ url: PG(`${names.db}_ledger`), schema: DE, log: silentLogger, dedupe: 'ledger', hypertables: false });
    await writer.start();
    expect(await writer.write([record('same', { a: 1 }, undefined, 'd'), record('same', { a: 2 }, undefined, 'e')])).toEqual({ stored: 2, duplicates: 0 });
    expect(await writer.write([record('same', { a: 1 }, undefined, 'd')])).toEqual({ stored: 0, duplicates: 1 });
    await writer.close();
  });
});

describe('MySQL writer (MariaDB)', () => {
  it('adds a field declared later as a column on the next start (no ADD COLUMN IF NOT EXISTS in MySQL)', async () => {
    const first = new MysqlWriter({ url: MY(names.db), schema: { m: { a: 'double' } }, log: silentLogger });
    await first.start();
    await first.write([record('r1', { a: 1 })]);
    await first.close();
    const second = new MysqlWriter({ url: MY(names.db), schema: { m: { a: 'double', b: 'text', c: 'bigint' } }, log: silentLogger });
    await second.start();
    await second.start(); // a second start with nothing new to add is a no-op
    await second.write([record('r2', { a: 2, b: 'hello', c: '9007199254740993' }), record('r2', { a: 2 })]);
    await second.close();
    const rows = await myRows(names.db, 'SELECT msg_id, a, b, CAST(c AS CHAR) AS c FROM m ORDER BY msg_id');
    expect(rows).toEqual([
      { msg_id: 'r1', a: 1, b: null, c: null },
      { msg_id: 'r2', a: 2, b: 'hello', c: '9007199254740993' },
    ]);
  });

  it('a batch repeating a stored id (not a redelivery) stores only the new rows: the plain INSERT fails whole and is repeated with the check', async () => {
    await repeatsStoredId(new MysqlWriter({ url: MY(names.db), schema: DE, log: silentLogger }), (sql) => myRows(names.db, sql));
  });

  it('isolates a record MariaDB refuses in strict mode (text longer than TEXT holds) and stores the rest', async () => {
    const writer = new MysqlWriter({ url: MY(names.db), schema: { n: { note: 'text' } }, log: silentLogger });
    await writer.start();
    const bodies = ['ok 1', 'x'.repeat(70_000), 'ok 2'].map((note, i) => ({ measurement: 'n', sensor: 's', id: `n${i}`, data: { note } }));
    const result = await pipelineFor(writer, { n: { note: 'text' } }, 'mysql').process(bodies.map(delivery), () => false);
    await writer.close();
    expect(result?.outcomes.map((o) => o.kind)).toEqual(['stored', 'dead', 'stored']);
    expect(result?.outcomes[1]).toMatchObject({ reason: expect.stringMatching(/Data too long/) as unknown });
  });

  it('a row larger than max_allowed_packet is dead-lettered with the reason, never sent (MariaDB drops the connection), and the rest is stored', async () => {
    const [{ packet }] = (await myRows(undefined, 'SELECT @@max_allowed_packet AS packet')) as [{ packet: number }];
    const writer = new MysqlWriter({ url: MY(names.db), schema: { big: { body: 'json' } }, log: silentLogger });
    await writer.start();
    const huge = { text: 'x'.repeat(Number(packet) + 4 * 1024 * 1024) }; // over the limit by 4 MB
    const bodies = [{ n: 1 }, huge, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }].map((body, i) => ({ measurement: 'big', sensor: 's', id: `b${i}`, data: { body } }));
    const result = await pipelineFor(writer, { big: { body: 'json' } }, 'mysql').process(bodies.map(delivery), () => false);
    await writer.close();
    expect(result?.outcomes.map((o) => o.kind)).toEqual(['stored', 'dead', 'stored', 'stored', 'stored', 'stored']);
    expect(result?.outcomes[1]).toMatchObject({ stage: 'database', reason: expect.stringMatching(new RegExp(`more than the server's max_allowed_packet \\(${packet} bytes\\)`)) as unknown });
    expect(await myRows(names.db, 'SELECT count(*) AS n FROM big')).toEqual([{ n: 5 }]);
  }, 60_000);

  it('compares ids byte for byte, also in a table made by an earlier version with a case-insensitive msg_id', async () => {
    await myRows(names.db, 'CREATE TABLE old_ids (ts DATETIME(3) NOT NULL, sensor VARCHAR(255), msg_id VARCHAR(255) NOT NULL, UNIQUE KEY msg_id (msg_id)) DEFAULT CHARSET=utf8mb4');
    const writer = new MysqlWriter({ url: MY(names.db), schema: { old_ids: { a: 'double' } }, log: silentLogger });
    await writer.start();
    const ids = ['Abc1', 'abc1', 'pad', 'pad ', 'e1', 'é1'];
    expect(await writer.write(ids.map((id) => record(id, { a: 1 }, undefined, 'old_ids')))).toEqual({ stored: 6, duplicates: 0 });
    expect(await writer.write(ids.map((id) => record(id, { a: 1 }, undefined, 'old_ids')))).toEqual({ stored: 0, duplicates: 6 });
    await writer.close();
    expect((await myRows(names.db, 'SELECT msg_id FROM old_ids')).map((r) => r.msg_id).sort()).toEqual([...ids].sort());
  });

  it('keeps the stream checkpoint in a table of its own, one row per stream', async () => {
    await checkpointRoundTrip(() => new MysqlWriter({ url: MY(names.db), schema: { m: { a: 'double' } }, log: silentLogger }));
  });
});

describe('InfluxDB writer', () => {
  it('isolates a point InfluxDB refuses (field type conflict) and stores the rest', async () => {
    const writer = new InfluxWriter({ url: `http://127.0.0.1:8086/${names.db}`, schema: undefined, log: silentLogger, dedupeHours: 24 });
    await writer.start();
    const pipeline = pipelineFor(writer, undefined, 'influxdb');
    await pipeline.process([delivery({ measurement: 'c', sensor: 's', ts: 1000, data: { v: 1.5 } })], () => false);
    const outcomes = await pipeline.process(
      [
        delivery({ measurement: 'c', sensor: 's', ts: 2000, data: { v: 2.5 } }),
        delivery({ measurement: 'c', sensor: 's', ts: 3000, data: { v: 'warm' } }),
        delivery({ measurement: 'c', sensor: 's', ts: 4000, data: { v: 4.5 } }),
      ],
      () => false,
    );
    expect(outcomes?.outcomes.map((o) => o.kind)).toEqual(['stored', 'dead', 'stored']);
    expect(outcomes?.outcomes[1]).toMatchObject({ reason: expect.stringMatching(/field type conflict/) as unknown });
    const rows = await new InfluxDB({ host: '127.0.0.1', database: names.db }).query<{ v: number }>('SELECT v FROM c');
    expect(rows.map((r) => r.v)).toEqual([1.5, 2.5, 4.5]);
  });

  it('writes bigint values given as text exactly, as MySQL does', async () => {
    const writer = new InfluxWriter({ url: `http://127.0.0.1:8086/${names.db}`, schema: { big: { v: 'bigint' } }, log: silentLogger, dedupeHours: 24 });
    await writer.start();
    const values = ['12345678901234567', '9223372036854775807', '-9223372036854775808', 42];
    const result = await pipelineFor(writer, { big: { v: 'bigint' } }, 'influxdb').process(
      values.map((v, i) => delivery({ measurement: 'big', sensor: 's', ts: 1000 + i, data: { v } })),
      () => false,
    );
    expect(result?.outcomes.map((o) => o.kind)).toEqual(['stored', 'stored', 'stored', 'stored']);
    // Read back as text: a JavaScript number could not hold them.
    const res = await fetch(`http://127.0.0.1:8086/query?db=${names.db}&q=${encodeURIComponent('SELECT v FROM big')}`);
    const text = await res.text();
    for (const v of values) expect(text).toContain(`,${v}]`);
  });

  it('keeps the stream checkpoint as one point per stream', async () => {
    await checkpointRoundTrip(() => new InfluxWriter({ url: `http://127.0.0.1:8086/${names.db}`, schema: undefined, log: silentLogger, dedupeHours: 24 }));
  });
});
