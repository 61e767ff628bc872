// Processor throughput on loopback, per SQL engine (PostgreSQL, MariaDB), in one run:
//   broker raw   a no-op consumer of a stream like the processor's, its prefetch, acknowledging per batch
//   db raw       bulk INSERTs of the processor's batch size into the same table, no broker
//   one-by-one   the older design: per message parse, INSERT, commit, then ack
//   processor    the bundled processor (child process), default settings, no script
//   + script     the same with a one-line identity script (the common case: it runs in a worker)
//   own drain    right after each processor run, a no-op consumer reading that processor's own
//                stream again, the same messages, in the same round
// Before each timed part the machine is left to settle (see settle()).
// Targets: processor >= 60% of min(broker raw, db raw), >= 20x one-by-one; with and without a
// script, >= 60% of its own drain and peak RSS < 150 MB.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  AMQP_URL,
  bundleForTest,
  declareLikeProcessor,
  deleteBrokerObjects,
  freePort,
  processorEnv,
  sleep,
  startChild,
  uniqueNames,
  type Names,
} from '../tests/processor/support.js';
import { formatCpu, GROUPS, perMessage, snapshot, type Group } from './cpu.js';
import { SCRIPT_NODE_FLAGS } from '../src/processor/node-flags.js';

const N = 100_000;
const WARMUP = 20_000; // messages the processor stores before its clock starts
const N_ONE_BY_ONE = 2_000;
const ROUNDS = Number(process.env.MYT_BENCH_ROUNDS ?? 5);
const BATCH = 500; // the processor's default MYT_BATCH_SIZE
const PREFETCH = 3_000; // and its default MYT_PREFETCH
const SCHEMA = { room_climate: { temperature: 'double', humidity: 'double' } };
/** The common case: a script that returns what it is given. */
const IDENTITY_SCRIPT = 'export default (message: unknown) => message;\n';

const body = (i: number, sensor: string) =>
  Buffer.from(`{"measurement": "room_climate", "sensor": "${sensor}", "data": {"temperature": 21.5, "humidity": ${i}}}`);

interface Sql {
  readonly name: 'timescaledb' | 'mysql';
  readonly label: string;
  readonly url: (db: string) => string;
  create(db: string): Promise<void>;
  drop(db: string): Promise<void>;
  /**
   * Inserts rows in one multi-row statement per batch, each batch its own transaction; `done` runs
   * before the connection closes (a PostgreSQL backend's CPU figures go with its process).
   */
  bulk(db: string, rows: [Date, string, string, number, number][], done: () => void): Promise<void>;
  /** Opens a connection for one-row autocommitted INSERTs. */
  single(db: string): Promise<{ insert: (row: [Date, string, string, number, number]) => Promise<void>; close: () => Promise<void> }>;
  /** A connection that counts the table's rows (polled while the processor runs). */
  counter(db: string): Promise<{ count: () => Promise<number>; close: () => Promise<void> }>;
}

const TABLE_PG = `CREATE TABLE IF NOT EXISTS room_climate (ts timestamptz NOT NULL, sensor text, msg_id text NOT NULL, UNIQUE (msg_id), temperature double precision, humidity double precision); CREATE INDEX IF NOT EXISTS room_climate_ts ON room_climate (ts)`;
const TABLE_MY = `CREATE TABLE IF NOT EXISTS room_climate (ts DATETIME(3) NOT NULL, sensor VARCHAR(255), msg_id VARCHAR(255) NOT NULL, UNIQUE KEY msg_id (msg_id), KEY ts (ts), temperature DOUBLE, humidity DOUBLE) ENGINE=InnoDB`;

const postgres: Sql = {
  name: 'timescaledb',
  label: 'PostgreSQL',
  url: (db) => `postgres://postgres@127.0.0.1:5432/${db}`,
  async create(db) {
    await pgRun('postgres', `CREATE DATABASE ${pg.escapeIdentifier(db)}`);
    await pgRun(db, TABLE_PG);
  },
  async drop(db) {
    await pgRun('postgres', `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db)} WITH (FORCE)`);
  },
  async bulk(db, rows, done) {
    const c = new pg.Client({ connectionString: this.url(db) });
    await c.connect();
    try {
      for (let i = 0; i < rows.length; i += BATCH) {
        const b = rows.slice(i, i + BATCH);
        await c.query('BEGIN');
        await c.query(
          'INSERT INTO room_climate (ts, sensor, msg_id, temperature, humidity) SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::float8[], $5::float8[])',
          [b.map((r) => r[0].toISOString()), b.map((r) => r[1]), b.map((r) => r[2]), b.map((r) => r[3]), b.map((r) => r[4])],
        );
        await c.query('COMMIT');
      }
      done();
    } finally {
      await c.end();
    }
  },
  async single(db) {
    const c = new pg.Client({ connectionString: this.url(db) });
    await c.connect();
    return {
      insert: async (row) => void (await c.query('INSERT INTO room_climate (ts, sensor, msg_id, temperature, humidity) VALUES ($1, $2, $3, $4, $5)', row)),
      close: () => c.end(),
    };
  },
  async counter(db) {
    const c = new pg.Client({ connectionString: this.url(db) });
    await c.connect();
    return {
      count: async () => Number((await c.query<{ n: number }>('SELECT count(*)::int AS n FROM room_climate')).rows[0]?.n ?? 0),
      close: () => c.end(),
    };
  },
};

async function pgRun(db: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${db}` });
  await c.connect();
  try {
    const result = await c.query(sql);
    return (Array.isArray(result) ? [] : result.rows) as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

const mariadb: Sql = {
  name: 'mysql',
  label: 'MariaDB',
  url: (db) => `mysql://root@127.0.0.1:3306/${db}`,
  async create(db) {
    await myRun(undefined, `CREATE DATABASE ${mysql.escapeId(db)}`);
    await myRun(db, TABLE_MY);
  },
  async drop(db) {
    await myRun(undefined, `DROP DATABASE IF EXISTS ${mysql.escapeId(db)}`);
  },
  async bulk(db, rows, done) {
    const c = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: db, timezone: 'Z' });
    try {
      for (let i = 0; i < rows.length; i += BATCH) {
        await c.beginTransaction();
        await c.query('INSERT INTO room_climate (ts, sensor, msg_id, temperature, humidity) VALUES ?', [rows.slice(i, i + BATCH)]);
        await c.commit();
      }
      done();
    } finally {
      await c.end();
    }
  },
  async single(db) {
    const c = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: db, timezone: 'Z' });
    return {
      insert: async (row) => void (await c.execute('INSERT INTO room_climate (ts, sensor, msg_id, temperature, humidity) VALUES (?, ?, ?, ?, ?)', row)),
      close: () => c.end(),
    };
  },
  async counter(db) {
    const c = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: db });
    return {
      count: async () => {
        const [rows] = await c.query('SELECT count(*) AS n FROM room_climate');
        return Number((rows as { n: number }[])[0]?.n ?? 0);
      },
      close: () => c.end(),
    };
  },
};

async function myRun(db: string | undefined, sql: string): Promise<Record<string, unknown>[]> {
  const c = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: db });
  try {
    const [rows] = await c.query(sql);
    return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
  } finally {
    await c.end();
  }
}

/** Publishes n messages into the stream (through the exchange) and waits for every confirm. */
async function preload(names: Names, n: number, sensor: string): Promise<void> {
  await declareLikeProcessor(names);
  const c = await amqp.connect(AMQP_URL);
  c.on('error', () => {}); // a lost broker fails the awaiting call instead of crashing the run
  const ch = await c.createConfirmChannel();
  ch.on('error', () => {});
  for (let i = 0; i < n; i += 1000) {
    for (let j = i; j < Math.min(n, i + 1000); j++) ch.publish(names.exchange, '', body(j, sensor));
    await ch.waitForConfirms();
  }
  await c.close();
}

/** A timed part's rate and its CPU per message by process group. */
interface Figure {
  readonly rate: number;
  readonly cpu: Record<Group, number>;
}

/** Messages per second of a no-op consumer with the processor's prefetch, acknowledging per batch. */
async function brokerRaw(names: Names): Promise<Figure> {
  await preload(names, N, 'raw');
  return drain(names, N);
}

/** A no-op consumer reading the first `n` messages of the stream, acknowledging per batch. */
async function drain(names: Names, n: number): Promise<Figure> {
  await settle();
  const c = await amqp.connect(AMQP_URL);
  const ch = await c.createChannel();
  await ch.prefetch(PREFETCH);
  const before = snapshot();
  const started = performance.now();
  let seen = 0;
  await new Promise<void>((resolve) => {
    void ch.consume(
      names.stream,
      (m) => {
        if (!m) return;
        seen++;
        if (seen % BATCH === 0 || seen === n) ch.ack(m, true);
        if (seen === n) resolve();
      },
      { arguments: { 'x-stream-offset': 'first' } },
    );
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = perMessage(before, snapshot(), n);
  await ch.close();
  await c.close();
  return { rate: n / seconds, cpu };
}

/** The database alone, bulk-inserting the rows the processor would store for the same messages (ids of the same form). */
async function dbRaw(sql: Sql, db: string, round: number): Promise<Figure> {
  const now = Date.now();
  const sensor = `raw-${round}`;
  const rows = Array.from({ length: N }, (_, i): [Date, string, string, number, number] => [new Date(now + i), sensor, `@bench_${round}.readings:0:${i}`, 21.5, i]);
  await settle();
  const before = snapshot();
  let after = before;
  const started = performance.now();
  await sql.bulk(db, rows, () => (after = snapshot()));
  return { rate: N / ((performance.now() - started) / 1000), cpu: perMessage(before, after, N) };
}

/** The older design, one message at a time: parse, INSERT (autocommit), then ack. */
async function oneByOne(sql: Sql, db: string, names: Names, round: number): Promise<number> {
  await preload(names, N_ONE_BY_ONE, 'old');
  await settle();
  const conn = await sql.single(db);
  const c = await amqp.connect(AMQP_URL);
  const ch = await c.createChannel();
  await ch.prefetch(PREFETCH);
  let seen = 0;
  let chain = Promise.resolve();
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    void ch.consume(
      names.stream,
      (m) => {
        if (!m) return;
        chain = chain
          .then(async () => {
            const msg = JSON.parse(m.content.toString()) as { sensor: string; data: { temperature: number; humidity: number } };
            await conn.insert([new Date(), msg.sensor, `old-${round}-${seen}`, msg.data.temperature, msg.data.humidity]);
            ch.ack(m);
            if (++seen === N_ONE_BY_ONE) resolve();
          })
          .catch(reject);
      },
      { arguments: { 'x-stream-offset': 'first' } },
    );
  });
  const rate = N_ONE_BY_ONE / ((performance.now() - started) / 1000);
  await ch.close();
  await c.close();
  await conn.close();
  return rate;
}

/** Busy and total CPU ticks of the whole machine so far (/proc/stat). */
function cpuTicks(): { busy: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const at = (i: number) => ticks[i] ?? 0;
  // user nice system idle iowait irq softirq steal
  const busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
  return { busy, total: busy + at(3) + at(4) };
}

/**
 * Waits (at most 20 s) until the machine has been quiet for half a second: after a burst of inserts
 * the database flushes and purges for a while, and whatever is measured next would pay for it.
 */
async function settle(): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    const a = cpuTicks();
    await sleep(500);
    const b = cpuTicks();
    if ((b.busy - a.busy) / Math.max(1, b.total - a.total) < 0.1) return;
  }
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * The bundled processor on a preloaded queue, with peak RSS. The clock runs only once the processor
 * has stored WARMUP messages: start-up and JIT compilation are not throughput (a processor on a VM
 * runs for days, and the raw consumer it is compared with runs in this already warm process).
 * rate = N / time from the first sample at WARMUP or more to the last of N + WARMUP.
 */
async function processorRate(sql: Sql, db: string, names: Names, bundle: string, round: number, withScript: boolean): Promise<Figure & { rss: number }> {
  await preload(names, WARMUP + N, `proc-${round}`);
  await settle();
  const port = await freePort();
  const counter = await sql.counter(db);
  // MYT_BENCH_NODE_ARGS are passed to the child's node for profiling, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"
  // (Node 20 refuses --cpu-prof in NODE_OPTIONS).
  const nodeArgs = [...(withScript ? SCRIPT_NODE_FLAGS : []), ...(process.env.MYT_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const child = startChild(bundle, processorEnv(names, { engine: sql.name, dbUrl: sql.url(db), schema: SCHEMA, port }), nodeArgs);
  let rss = 0;
  const sampler = setInterval(() => {
    try {
      rss = Math.max(rss, rssOf(child.process.pid!));
    } catch {
      // exited
    }
  }, 20);
  try {
    const base = await counter.count();
    const progress = new Progress(port);
    const start = await progress.reach(WARMUP, 60_000);
    const cpu = snapshot(child.process.pid);
    const end = await progress.reach(WARMUP + N, 120_000);
    const used = perMessage(cpu, snapshot(child.process.pid), end.stored - start.stored);
    const rows = (await counter.count()) - base;
    if (rows !== WARMUP + N) throw new Error(`the processor stored ${rows} rows for ${WARMUP + N} messages`);
    return { rate: (end.stored - start.stored) / ((end.at - start.at) / 1000), cpu: used, rss };
  } finally {
    clearInterval(sampler);
    await counter.close();
    await child.stop('SIGTERM');
  }
}

/**
 * The processor's progress, from its own stored counter: polling the table with count(*) would load
 * the database it is writing to. Polls are spaced by the estimated time left (5–250 ms), so the
 * benchmark takes little CPU from the machine it measures and still sees the end within 5 ms.
 */
class Progress {
  private last = { stored: 0, at: performance.now() };
  private rate = 0; // rows per ms, from the last two samples

  constructor(private readonly port: number) {}

  private async sample(): Promise<{ stored: number; at: number }> {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    const now = { stored: Number(/^myt_processor_rows_stored_total (\d+)/m.exec(text)?.[1] ?? 0), at: performance.now() };
    if (now.stored > this.last.stored) this.rate = (now.stored - this.last.stored) / (now.at - this.last.at);
    this.last = now;
    return now;
  }

  async reach(target: number, timeoutMs: number): Promise<{ stored: number; at: number }> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const now = await this.sample().catch(() => undefined); // not listening yet
      if (now && now.stored >= target) return now;
      const left = now && this.rate > 0 ? (target - now.stored) / this.rate : Infinity;
      await sleep(Math.min(250, Math.max(5, left / 2)));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${target} rows from the processor`);
  }
}

/** Broker names of one measurement: its own exchange, stream and queues (a stream keeps what it was given). */
const side = (names: Names, tag: string): Names => ({
  ...names,
  exchange: `${names.exchange}.${tag}`,
  stream: `${names.stream}.${tag}`,
  deadExchange: `${names.deadExchange}.${tag}`,
  deadQueue: `${names.deadQueue}.${tag}`,
});

const median = (list: readonly number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;

const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} msg/s`;

/** Each figure's median over the rounds, with the rounds themselves. */
const each = (list: readonly Figure[]) => `  (rounds: ${list.map((f) => `${Math.round(f.rate / 1000)}k`).join(', ')})`;
const cpuLine = (list: readonly Figure[]) =>
  `      CPU ${formatCpu(Object.fromEntries(GROUPS.map((g) => [g, median(list.map((f) => f.cpu[g]))])) as Record<Group, number>)}`;
const rateOf = (list: readonly Figure[]) => median(list.map((f) => f.rate));

export default async function bench(): Promise<boolean> {
  try {
    return await measure();
  } catch (err) {
    console.log(`processor benchmark could not run: ${(err as Error).message}`);
    return false;
  }
}

async function measure(): Promise<boolean> {
  const bundle = await bundleForTest();
  const scriptFile = join(mkdtempSync(join(tmpdir(), 'myt-bench-script-')), 'identity.ts');
  writeFileSync(scriptFile, IDENTITY_SCRIPT);
  const scripted = await bundleForTest(scriptFile);
  let ok = true;
  // MYT_BENCH_ENGINES=mysql (or timescaledb) measures one engine only, while working on it.
  const only = process.env.MYT_BENCH_ENGINES?.split(',');
  for (const sql of [postgres, mariadb].filter((e) => !only || only.includes(e.name))) {
    const names = uniqueNames(`bench_${sql.name}`);
    const dbs = { raw: `${names.db}_raw`, old: `${names.db}_old`, proc: `${names.db}_proc` };
    try {
      for (const db of Object.values(dbs)) await sql.create(db);
      // Every figure is measured ROUNDS times, interleaved, and its median counts: a short insert
      // burst's rate swings with fsync timing, and the best round would favour the noisiest figure.
      const rounds = {
        broker: [] as Figure[],
        db: [] as Figure[],
        old: [] as number[],
        proc: [] as Figure[],
        procDrain: [] as Figure[],
        script: [] as Figure[],
        scriptDrain: [] as Figure[],
        rss: [] as number[],
        scriptRss: [] as number[],
      };
      for (let round = 0; round < ROUNDS; round++) {
        // Empty tables each round: rates fall as a table with a random-keyed unique index grows
        // (MariaDB's raw rate went from 102k to 33k msg/s over five rounds into the same table).
        await sql.drop(dbs.raw);
        await sql.create(dbs.raw);
        rounds.broker.push(await brokerRaw(side(names, `raw${round}`)));
        rounds.db.push(await dbRaw(sql, dbs.raw, round));
        // Dropped at once: 100k fresh rows leave the server deferred work (PostgreSQL's autovacuum
        // of an insert-only table, InnoDB's page flushing) that would otherwise land in a later part.
        await sql.drop(dbs.raw);
        // Each row its own commit: the rate follows the disk's flush latency, which swings run to run.
        rounds.old.push(await oneByOne(sql, dbs.old, side(names, `old${round}`), round));
        // Each processor reads a stream of its own; right after it, a no-op consumer reads the same
        // stream again: the drain the processor is compared with, same messages, same round.
        for (const [variant, file, list, drained, rss] of [
          ['proc', bundle, rounds.proc, rounds.procDrain, rounds.rss],
          ['script', scripted, rounds.script, rounds.scriptDrain, rounds.scriptRss],
        ] as const) {
          const own = side(names, `${variant}${round}`);
          await sql.drop(dbs.proc);
          await sql.create(dbs.proc);
          const p = await processorRate(sql, dbs.proc, own, file, round, variant === 'script');
          list.push(p);
          rss.push(p.rss);
          drained.push(await drain(own, WARMUP + N));
        }
      }
      const old = median(rounds.old);
      const [broker, db, proc, script] = [rateOf(rounds.broker), rateOf(rounds.db), rateOf(rounds.proc), rateOf(rounds.script)];
      const vsRaw = proc / Math.min(broker, db);
      const vsOld = proc / old;
      // Each round's processor against its own drain, then the median of those ratios.
      const vsDrain = (runs: readonly Figure[], drains: readonly Figure[]) => median(runs.map((f, i) => f.rate / drains[i]!.rate));
      const [procVsDrain, scriptVsDrain] = [vsDrain(rounds.proc, rounds.procDrain), vsDrain(rounds.script, rounds.scriptDrain)];
      const mb = (list: readonly number[]) => Math.max(...list) / 1024 / 1024;
      const [rssMb, scriptRssMb] = [mb(rounds.rss), mb(rounds.scriptRss)];
      const pass = vsRaw >= 0.6 && vsOld >= 20 && rssMb < 150 && scriptRssMb < 150 && procVsDrain >= 0.6 && scriptVsDrain >= 0.6;
      ok &&= pass;
      console.log(`${sql.label} (${N} messages, batch ${BATCH}, prefetch ${PREFETCH}, stream, median of ${ROUNDS}):`);
      console.log(`  broker raw consume       ${fmt(broker)}${each(rounds.broker)}`);
      console.log(cpuLine(rounds.broker));
      console.log(`  database raw bulk insert ${fmt(db)}${each(rounds.db)}`);
      console.log(cpuLine(rounds.db));
      console.log(`  one-at-a-time (older)    ${fmt(old)}  (${N_ONE_BY_ONE} messages per round; rounds: ${rounds.old.map((n) => Math.round(n)).join(', ')})`);
      console.log(`  processor                ${fmt(proc)}${each(rounds.proc)}`);
      console.log(cpuLine(rounds.proc));
      console.log(`    its own drain          ${fmt(rateOf(rounds.procDrain))}${each(rounds.procDrain)}`);
      console.log(`  processor + script       ${fmt(script)}${each(rounds.script)}`);
      console.log(cpuLine(rounds.script));
      console.log(`    its own drain          ${fmt(rateOf(rounds.scriptDrain))}${each(rounds.scriptDrain)}`);
      console.log(`  processor / min(raw)     ${vsRaw.toFixed(2)}  (target >= 0.60)`);
      console.log(`  processor / one-at-a-time ${vsOld.toFixed(1)}x  (target >= 20x)`);
      console.log(`  processor / own drain    ${procVsDrain.toFixed(2)}  (target >= 0.60, goal 0.75)`);
      console.log(`  + script / own drain     ${scriptVsDrain.toFixed(2)}  (target >= 0.60, goal 0.75)`);
      console.log(`  peak RSS                 ${rssMb.toFixed(1)} MB, with script ${scriptRssMb.toFixed(1)} MB, highest of all rounds  (target < 150 MB, goal 100 MB)`);
      console.log(`  ${pass ? 'PASS' : 'FAIL'}`);
    } finally {
      for (let round = 0; round < ROUNDS; round++) for (const part of ['raw', 'old', 'proc', 'script']) await deleteBrokerObjects(side(names, `${part}${round}`));
      for (const db of Object.values(dbs)) await sql.drop(db).catch(() => {});
    }
  }
  return ok;
}
