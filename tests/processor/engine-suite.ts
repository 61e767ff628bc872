// The behaviour every engine must show, run against the real servers: each engine's test file calls
// engineSuite() with how to read its database and how to restart it.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../processor/src/config.js';
import { silentLogger } from '../../processor/src/log.js';
import { createWriter } from '../../processor/src/writers/index.js';
import {
  AMQP_URL,
  Publisher,
  bundleForTest,
  deleteBrokerObjects,
  drainDeadLetters,
  ensureRabbit,
  freePort,
  metricsOf,
  processorEnv,
  queueDepth,
  startChild,
  stopRabbit,
  streamEnd,
  uniqueNames,
  waitFor,
  type Child,
  type Names,
} from './support.js';

const runFile = promisify(execFile);

export const SCHEMA = {
  room_climate: { temperature: 'double', humidity: 'double' },
  stream: { seq: 'int' },
  // The older system's measurements, declared as its devices send them.
  sensorData: { temp: 'double', pressure: 'double', device: 'text' },
  DaemonRoom: { temp: 'double', pressure: 'double', device: 'text' },
} as const;

/** A stored row, the same shape whatever the engine. */
export interface Row {
  readonly sensor: string | null;
  readonly ts: number;
  readonly msgId: string;
  readonly fields: Record<string, unknown>;
}

/** A SQL table row (columns ts, sensor, msg_id and the fields) as the suite compares it; NULL fields left out. */
export function sqlRow({ ts, sensor, msg_id, ...fields }: Record<string, unknown>): Row {
  return {
    ts: (ts as Date).getTime(),
    sensor: sensor as string | null,
    msgId: msg_id as string,
    fields: Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)),
  };
}

export interface EngineAdapter {
  readonly engine: 'timescaledb' | 'mysql' | 'influxdb';
  readonly dbUrl: (db: string) => string;
  /** Every row of a measurement from one sensor (throws while the database does not exist yet). */
  readonly rows: (db: string, measurement: string, sensor: string) => Promise<Row[]>;
  /** Row count and distinct msg_id count of a measurement from one sensor. */
  readonly count: (db: string, measurement: string, sensor: string) => Promise<{ rows: number; distinct: number }>;
  /** Takes the database down (for at least `downMs`) and brings it back; must always leave it up. */
  readonly restart: (downMs: number) => Promise<void>;
  readonly dropDatabase: (db: string) => Promise<void>;
  /** Extra environment (e.g. no MYT_SCHEMA for InfluxDB's schemaless mode). */
  readonly schema?: object | null;
  /**
   * Runs a query the way the older system's users wrote it (`SELECT … FROM SensorData`, unquoted)
   * and returns the rows, where the engine takes SQL here as on the VM.
   */
  readonly olderQuery?: (db: string, sql: string) => Promise<Record<string, unknown>[]>;
}

const SCRIPT = fileURLToPath(new URL('./fixtures/script.ts', import.meta.url));
const OLD_DEVICE = fileURLToPath(new URL('./fixtures/old_device.py', import.meta.url));

/**
 * The older system's device messages, byte for byte as its devices sent them (pika, json.dumps with
 * its default separators). The DaemonRoom reading's fields were not recorded with it: it is given
 * the sensorData reading's fields here.
 */
export const OLD_DEVICE_BODIES = [
  '{"measurement": "sensorData", "sensor": "pi1", "data": {"temp": 22, "pressure": 15, "device": "pi1"}}',
  '{"measurement": "DaemonRoom", "sensor": "pi1", "data": {"temp": 22, "pressure": 15, "device": "pi1"}}',
];

/** The offset part of a stream identity, `@<stream>:<epoch>:<offset>`. */
const offsetOfId = (id: string) => Number(/^@.+:\d+:(\d+)$/.exec(id)?.[1]);

export function engineSuite(adapter: EngineAdapter): void {
  const names: Names = uniqueNames(`t_${adapter.engine}`);
  let bundle: string;
  let publisher: Publisher;
  let child: Child | undefined;
  let port: number;
  const schema = adapter.schema === null ? undefined : (adapter.schema ?? SCHEMA);

  const env = (extra: Record<string, string> = {}) =>
    processorEnv(names, { engine: adapter.engine, dbUrl: adapter.dbUrl(names.db), schema, port, extra: { MYT_BATCH_SIZE: '50', ...extra } });

  const count = (measurement: string, sensor: string) => adapter.count(names.db, measurement, sensor).catch(() => ({ rows: 0, distinct: 0 }));

  const waitStored = (measurement: string, sensor: string, n: number, timeoutMs = 60_000) =>
    waitFor(`${n} rows of ${measurement}/${sensor}`, async () => ((await count(measurement, sensor)).rows >= n ? true : undefined), timeoutMs, 100);

  /** Waits until the running processor has finished every message in the stream so far. */
  const caughtUp = async (timeoutMs = 30_000) => {
    const end = await streamEnd(names.stream);
    await waitFor(`the processor to pass offset ${end}`, async () => ((await metricsOf(port)).get('myt_processor_stream_next_offset') ?? -1) > end, timeoutMs);
  };

  /** The checkpoint saved in the database (what a restart resumes from). */
  const checkpoint = async () => {
    const writer = await createWriter(loadConfig(env()), silentLogger);
    await writer.start();
    try {
      return await writer.loadCheckpoint(names.stream);
    } finally {
      await writer.close();
    }
  };

  async function startProcessor(extra?: Record<string, string>): Promise<Child> {
    const c = startChild(bundle, env(extra));
    await c.healthy();
    return c;
  }

  beforeAll(async () => {
    port = await freePort();
    bundle = await bundleForTest(SCRIPT);
    publisher = await Publisher.open(names.exchange);
    child = await startProcessor({ MYT_SCRIPT_TIMEOUT_MS: '300' });
  }, 60_000);

  afterAll(async () => {
    await child?.stop('SIGKILL');
    await publisher?.close();
    await ensureRabbit();
    await deleteBrokerObjects(names);
    await adapter.dropDatabase(names.db).catch(() => {});
  }, 60_000);

  it("stores the older system's exact device messages (pika defaults: no properties, not persistent) under their own names", async () => {
    const before = Date.now();
    await publisher.publish(OLD_DEVICE_BODIES);
    await waitStored('sensorData', 'pi1', 1);
    await waitStored('DaemonRoom', 'pi1', 1);
    const rows = await adapter.rows(names.db, 'sensorData', 'pi1');
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.fields).toEqual({ temp: 22, pressure: 15, device: 'pi1' });
    expect(row.sensor).toBe('pi1');
    // No ts and no broker stamp (RabbitMQ 3.10 here): stored with the time the processor received it.
    expect(row.ts).toBeGreaterThanOrEqual(before - 1000);
    expect(row.ts).toBeLessThanOrEqual(Date.now() + 1000);
    // No id either: the message is named by its place in the stream, which a re-read repeats.
    expect(row.msgId).toMatch(new RegExp(`^@${names.stream.replace(/\./g, '\\.')}:0:\\d+$`));
    // The older system's users queried its table as SensorData, unquoted: that still finds it.
    if (adapter.olderQuery) {
      expect(await adapter.olderQuery(names.db, "SELECT temp, pressure, device FROM SensorData WHERE sensor = 'pi1'")).toEqual([{ temp: 22, pressure: 15, device: 'pi1' }]);
    }
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', broker: true, database: true });
    expect(typeof health.lastWriteAt).toBe('string');
    const metrics = await metricsOf(port);
    expect(metrics.get('myt_processor_rows_stored_total')).toBeGreaterThanOrEqual(2);
    expect(metrics.get('myt_processor_received_total')).toBeGreaterThanOrEqual(2);
  });

  it('a device script in the older style (pika, json.dumps, no ts, no id), run twice unchanged, gives two rows', async () => {
    for (let i = 0; i < 2; i++) await runFile('/usr/bin/python3', [OLD_DEVICE, AMQP_URL, names.exchange, 'sensorData', 'pi-twice'], { timeout: 30_000 });
    await waitStored('sensorData', 'pi-twice', 2);
    await caughtUp();
    const rows = await adapter.rows(names.db, 'sensorData', 'pi-twice');
    expect(rows.map((r) => r.fields)).toEqual([
      { temp: 22, pressure: 15, device: 'pi-twice' },
      { temp: 22, pressure: 15, device: 'pi-twice' },
    ]);
    expect(new Set(rows.map((r) => r.msgId)).size).toBe(2);
  });

  it('stores the message ts by one rule (ISO 8601 in UTC unless zoned, epoch seconds or ms) and what the script returns', async () => {
    await publisher.publish([
      { measurement: 'room_climate', sensor: 'ts-iso', ts: '2024-05-01T12:00:00.123Z', data: { temperature: 1 } },
      { measurement: 'room_climate', sensor: 'ts-ms', ts: 1714564800456, data: { temperature: 2 } },
      { measurement: 'room_climate', sensor: 'ts-s', ts: 1700000000, data: { temperature: 2 } },
      { measurement: 'room_climate', sensor: 'ts-nozone', ts: '2024-05-01T12:00:00', data: { temperature: 2 } },
      { measurement: 'room_climate', sensor: 'ts-zoned', ts: '2024-05-01T12:00:00+02:00', data: { temperature: 2 } },
      { measurement: 'room_climate', sensor: 'script-f', action: 'fahrenheit', data: { temperature: 100 } },
      { measurement: 'room_climate', sensor: 'script-split', id: 'split-1', action: 'split', data: { temperature: 3, humidity: 4 } },
      { measurement: 'room_climate', sensor: 'script-drop', action: 'drop', data: { temperature: 5 } },
    ]);
    await waitStored('room_climate', 'script-split', 2);
    await waitStored('room_climate', 'script-f', 1);
    const tsOf = async (sensor: string) => (await adapter.rows(names.db, 'room_climate', sensor))[0]?.ts;
    expect(await tsOf('ts-iso')).toBe(Date.parse('2024-05-01T12:00:00.123Z'));
    expect(await tsOf('ts-ms')).toBe(1714564800456);
    expect(await tsOf('ts-s')).toBe(1700000000000);
    expect(await tsOf('ts-nozone')).toBe(Date.parse('2024-05-01T12:00:00Z'));
    expect(await tsOf('ts-zoned')).toBe(Date.parse('2024-05-01T10:00:00Z'));
    expect((await adapter.rows(names.db, 'room_climate', 'script-f'))[0]?.fields.temperature).toBe(212);
    const split = await adapter.rows(names.db, 'room_climate', 'script-split');
    expect(split.map((r) => r.msgId).sort()).toEqual(['["script-split","split-1"]#0', '["script-split","split-1"]#1']);
    // Dropping on purpose (null) is not an error: done, not stored, not dead-lettered.
    await waitFor('the dropped message to be counted', async () => (await metricsOf(port)).get('myt_processor_dropped_total') === 1);
    expect((await count('room_climate', 'script-drop')).rows).toBe(0);
  });

  it('dead-letters poison messages with the reason in x-myt-reason and keeps storing the rest', async () => {
    const good = (n: number) => ({ measurement: 'room_climate', sensor: 'poison-good', data: { temperature: n } });
    const poison: [string | object, RegExp][] = [
      ['this is not json', /not JSON/],
      [{ sensor: 'x', data: { temperature: 1 } }, /no 'measurement'/],
      [{ measurement: 'room_climate', sensor: 'x' }, /no 'data'/],
      [{ measurement: 'room_climate', sensor: 'x', ts: 'yesterday', data: { temperature: 1 } }, /'ts'/],
      [{ measurement: 'room_climate', sensor: 'x', ts: '2024-02-30T10:00:00Z', data: { temperature: 1 } }, /'ts' that breaks the rule/],
      [{ measurement: 'room_climate', sensor: 'x\ny', data: { temperature: 1 } }, /'sensor' with a control character/],
      [{ measurement: 'room_climate', sensor: 'x\\', data: { temperature: 1 } }, /or a backslash/],
      // The line-protocol injection a backslash allowed: the sensor puts the parser out of step and
      // the note's newline would start a point of the processor's own checkpoint measurement.
      [{ measurement: 'room_climate', sensor: 's\\ \\,', data: { note: 'x\nmyt_checkpoints,stream=myt.readings epoch=7i,next=0i,high=0i 0\n' } }, /or a backslash/],
      [{ measurement: 'room_climate', sensor: '', data: { temperature: 1 } }, /'sensor' of 0 characters/],
      [{ measurement: 'room_climate', sensor: 'x', action: 'throw', data: { temperature: 1 } }, /script threw Error: script says no/],
      [{ measurement: 'room_climate', sensor: 'x', action: 'reject', data: { temperature: 1 } }, /script threw Error: script rejected/],
      [{ measurement: 'room_climate', sensor: 'x', action: 'hang', data: { temperature: 1 } }, /longer than 300 ms/],
      [{ measurement: 'room_climate', sensor: 'x', action: 'spin', data: { temperature: 1 } }, /longer than 300 ms \(it blocked its thread/],
      [{ measurement: 'room_climate', sensor: 'x', action: 'function', data: { temperature: 1 } }, /cannot be passed on/],
      [{ measurement: 'room_climate', sensor: 'x', action: 'shape', data: { temperature: 1 } }, /script result has no 'data'/],
    ];
    if (schema) {
      poison.push(
        [{ measurement: 'not_declared', sensor: 'x', data: { temperature: 1 } }, /measurement 'not_declared' is not declared/],
        [{ measurement: 'room_climate', sensor: 'x', data: { temperature: 'warm' } }, /'room_climate.temperature' must be double/],
        [{ measurement: 'room_climate', sensor: 'x', data: { pressure: 1013 } }, /field 'pressure' is not declared/],
      );
    } else {
      poison.push(
        [{ measurement: 'room_climate', sensor: 'x', data: { nested: { a: 1 } } }, /InfluxDB fields are numbers, strings or booleans/],
        [{ measurement: 'room_climate', sensor: 'x', data: { time: 1, temperature: 1 } }, /field 'time' is a reserved name/],
        [{ measurement: 'room_climate', sensor: 'x', data: { msg_id: 'mine', temperature: 1 } }, /field 'msg_id' is a reserved name/],
        [{ measurement: 'room_climate', sensor: 'x', data: { sensor: 'other', temperature: 1 } }, /field 'sensor' is a reserved name/],
      );
    }
    await publisher.publish([good(1), ...poison.map(([body]) => body), good(2)]);
    await waitStored('room_climate', 'poison-good', 2);
    const letters = await waitFor(
      `${poison.length} dead letters`,
      async () => {
        const depth = await queueDepth(names.deadQueue);
        return depth >= poison.length ? drainDeadLetters(names.deadQueue) : undefined;
      },
      20_000,
    );
    expect(letters).toHaveLength(poison.length);
    for (const [body, reason] of poison) {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const letter = letters.find((l) => l.body === text);
      expect(letter, `dead letter for ${text}`).toBeDefined();
      expect(letter!.reason).toMatch(reason);
    }
    expect((await count('room_climate', 'x')).rows).toBe(0);
  });

  it('dead letters keep every AMQP property of the message (a compressed body stays readable)', async () => {
    const properties = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      correlationId: 'corr-1',
      replyTo: 'replies',
      type: 'reading',
      appId: 'device-firmware-2',
      messageId: 'props-1',
      priority: 3,
      timestamp: 1714564800,
      userId: 'guest',
      expiration: '600000',
      headers: { 'x-device-model': 'pi-zero' },
    };
    await publisher.publish(['\x1f\x8b not json'], properties);
    const [letter] = await waitFor('the dead letter', async () => ((await queueDepth(names.deadQueue)) >= 1 ? drainDeadLetters(names.deadQueue) : undefined), 20_000);
    const got: Record<string, unknown> = { ...letter!.properties };
    const { headers, expiration, userId, ...rest } = got;
    // Every property as published, but for the two below.
    const { headers: _headers, expiration: _expiration, userId: _userId, ...kept } = properties;
    expect(rest).toMatchObject(kept);
    // userId and expiration cannot be published again as they were (the broker checks the user; the
    // dead letter must not expire): they are kept in headers.
    expect(expiration).toBeUndefined();
    expect(userId).toBeUndefined();
    expect(headers).toMatchObject({ 'x-device-model': 'pi-zero', 'x-myt-original-user-id': 'guest', 'x-myt-original-expiration': '600000' });
    expect((headers as Record<string, unknown>)['x-myt-from']).toMatch(/^@.+:\d+:\d+$/);
  });

  it('stores each reading once: ids per sensor, compared exactly; repeats without an id are each stored; copies of an id are not', async () => {
    const before = await metricsOf(port);
    const withId = { measurement: 'room_climate', sensor: 'dup', id: 'device-42-0001', data: { temperature: 10 } };
    const sameIdOtherSensor = { ...withId, sensor: 'dup-2' };
    const noId = { measurement: 'room_climate', sensor: 'dup', data: { temperature: 11 } };
    const split = { measurement: 'room_climate', sensor: 'dup', id: 'dup-split', action: 'split', data: { temperature: 12, humidity: 13 } };
    // Ids that a case-, pad- or accent-insensitive comparison would take for one.
    const lookalikes = ['Abc1', 'abc1', 'pad', 'pad ', 'e1', 'é1'].map((id) => ({ measurement: 'room_climate', sensor: 'dup-ids', id, data: { temperature: 1 } }));
    // Two readings of one sensor at one time, told apart by their ids (InfluxDB keys points by time).
    const sameTs = ['a', 'b'].map((id) => ({ measurement: 'room_climate', sensor: 'dup-ts', ts: '2024-05-01T12:00:00Z', id, data: { temperature: 1 } }));
    const splitOneTs = { measurement: 'room_climate', sensor: 'dup-ts-split', ts: '2024-05-01T12:00:00Z', action: 'split', data: { temperature: 1, humidity: 2 } };
    // One device id for readings of two measurements, in one batch: two readings.
    const otherMeasurement = { measurement: 'stream', sensor: 'dup', id: 'device-42-0001', data: { seq: 1 } };
    await publisher.publish([withId, withId, sameIdOtherSensor, noId, noId, noId, split, split, ...lookalikes, ...sameTs, splitOneTs, otherMeasurement]);
    await publisher.publish([{ measurement: 'room_climate', sensor: 'dup', data: { temperature: 14 } }], { messageId: 'amqp-id-7' });
    await publisher.publish([{ measurement: 'room_climate', sensor: 'dup', data: { temperature: 14 } }], { messageId: 'amqp-id-7' });
    // And the same again in a later batch, after the first copies were committed.
    await waitStored('room_climate', 'dup', 7);
    await publisher.publish([withId, split]);
    await caughtUp();
    const ids = (await adapter.rows(names.db, 'room_climate', 'dup')).map((r) => r.msgId);
    expect(ids.filter((id) => !id.startsWith('@')).sort()).toEqual(['["dup","amqp-id-7"]', '["dup","device-42-0001"]', '["dup","dup-split"]#0', '["dup","dup-split"]#1']);
    expect(ids.filter((id) => id.startsWith('@')), 'three identical readings without an id: three rows').toHaveLength(3);
    expect((await count('room_climate', 'dup-2')).rows).toBe(1);
    expect((await adapter.rows(names.db, 'room_climate', 'dup-ids')).map((r) => r.msgId).sort()).toEqual(
      ['Abc1', 'abc1', 'e1', 'pad', 'pad ', 'é1'].map((id) => JSON.stringify(['dup-ids', id])).sort(),
    );
    expect((await count('room_climate', 'dup-ts')).rows).toBe(2);
    expect((await count('room_climate', 'dup-ts-split')).rows).toBe(2);
    expect((await count('stream', 'dup')).rows, 'the same id in another measurement is another reading').toBe(1);
    // The metrics count rows stored and duplicates skipped, each reading once.
    const after = await metricsOf(port);
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(delta('myt_processor_rows_stored_total')).toBe(7 + 1 + 6 + 2 + 2 + 1);
    expect(delta('myt_processor_duplicates_total')).toBe(1 + 2 + 1 + 1 + 2);
    expect(delta('myt_processor_received_total')).toBe(22);
  });

  it('readings published while the processor is stopped keep the time the broker received them (stand-in stamps)', async () => {
    const stopped = child!;
    expect(await stopped.stop('SIGTERM')).toBe(0);
    child = undefined;
    const published: number[] = [];
    for (let i = 0; i < 3; i++) {
      published.push(Date.now());
      // The stand-in for RabbitMQ >= 3.12's timestamp interceptor stamps each message as it is published.
      await publisher.publish([{ measurement: 'room_climate', sensor: 'backlog', data: { temperature: i } }], {}, true);
      await new Promise((done) => setTimeout(done, 700));
    }
    child = await startProcessor();
    await waitStored('room_climate', 'backlog', 3);
    const rows = (await adapter.rows(names.db, 'room_climate', 'backlog')).sort((a, b) => a.ts - b.ts);
    rows.forEach((row, i) => expect(Math.abs(row.ts - published[i]!), `reading ${i} keeps its publish time`).toBeLessThan(50));
    expect(rows[2]!.ts - rows[0]!.ts).toBeGreaterThanOrEqual(1300);
  });

  it('SIGTERM drains: finishes the batches in flight, saves the position past them and exits 0', async () => {
    // Enough slow messages (30 ms each, a batch's at once) that the stop lands mid-stream.
    const n = 3000;
    child ??= await startProcessor();
    await publisher.publish(Array.from({ length: n }, (_, i) => ({ measurement: 'stream', sensor: 'drain', action: 'slow', data: { seq: i } })));
    await waitStored('stream', 'drain', 1, 20_000);
    const stopped = child;
    const code = await stopped.stop('SIGTERM');
    child = undefined;
    expect(code).toBe(0);
    const rows = await adapter.rows(names.db, 'stream', 'drain');
    expect(rows.length, 'the stop lands mid-stream').toBeLessThan(n);
    // Whatever was stored is exactly the stretch of the stream the saved position says is done:
    // the batches in flight were finished, not abandoned, and the position was saved on the way out.
    const offsets = rows.map((r) => offsetOfId(r.msgId)).sort((a, b) => a - b);
    const saved = await checkpoint();
    expect(saved?.next).toBe(offsets[offsets.length - 1]! + 1);
    expect(offsets[offsets.length - 1]! - offsets[0]! + 1).toBe(rows.length);
    child = await startProcessor();
    await waitStored('stream', 'drain', n);
    expect(await count('stream', 'drain')).toEqual({ rows: n, distinct: n });
  }, 120_000);

  it('a dead letter the broker has not confirmed is not done: the message is read again and dead-lettered', async () => {
    child ??= await startProcessor();
    // Without its exchange the dead letter cannot be confirmed: the broker closes the channel instead.
    const c = await amqp.connect(AMQP_URL);
    await (await c.createChannel()).deleteExchange(names.deadExchange);
    await c.close();
    await publisher.publish(['not json: poison while the dead-letter exchange is gone', { measurement: 'room_climate', sensor: 'after-poison', data: { temperature: 1 } }]);
    // The session ends; the next one declares the exchange again and reads the poison again.
    const letters = await waitFor('the poison in the dead-letter queue', async () => ((await queueDepth(names.deadQueue)) >= 1 ? drainDeadLetters(names.deadQueue) : undefined), 30_000);
    expect(letters.map((l) => l.body)).toContain('not json: poison while the dead-letter exchange is gone');
    await waitStored('room_climate', 'after-poison', 1);
  }, 60_000);

  it('a dead letter the broker refuses on an open session (nack) is not done: the batch is read again once it is taken', async () => {
    child ??= await startProcessor();
    // A policy making the dead-letter queue refuse publishes: the broker nacks the dead letter. A quorum
    // queue refuses only once it is over its limit, so a filler is sent until one is refused.
    const policy = `${names.deadQueue}.refuse`;
    await runFile('rabbitmqctl', ['-q', 'set_policy', policy, `^${names.deadQueue.replace(/\./g, '\\.')}$`, '{"max-length":0,"overflow":"reject-publish"}', '--apply-to', 'queues'], { timeout: 60_000 });
    try {
      const c = await amqp.connect(AMQP_URL);
      const ch = await c.createConfirmChannel();
      const refused = await waitFor('the policy to refuse a publish', async () => ((await new Promise<boolean>((done) => ch.sendToQueue(names.deadQueue, Buffer.from('filler'), {}, (err) => done(Boolean(err))))) ? true : undefined), 10_000);
      await c.close();
      expect(refused).toBe(true);
      const depth = await queueDepth(names.deadQueue);
      await publisher.publish(['not json: refused by the dead-letter queue at first']);
      await new Promise((done) => setTimeout(done, 2000));
      expect(await queueDepth(names.deadQueue), 'nothing got through while the queue refused it').toBe(depth);
    } finally {
      await runFile('rabbitmqctl', ['-q', 'clear_policy', policy], { timeout: 60_000 });
    }
    const letters = await waitFor('the dead letter once the queue takes it', async () => {
      const taken = (await queueDepth(names.deadQueue)) >= 1 ? (await drainDeadLetters(names.deadQueue)).filter((l) => l.body !== 'filler') : [];
      return taken.length > 0 ? taken : undefined;
    }, 30_000);
    expect(letters.map((l) => l.body)).toContain('not json: refused by the dead-letter queue at first');
  }, 90_000);

  it('a dead letter that reaches no queue (its binding gone) comes back instead of being dropped, and is sent again', async () => {
    child ??= await startProcessor();
    const c = await amqp.connect(AMQP_URL);
    await (await c.createChannel()).unbindQueue(names.deadQueue, names.deadExchange, '');
    await c.close();
    await publisher.publish(['not json: while the dead-letter queue is unbound']);
    // The next session binds the queue again (declareTopology) and reads the poison again.
    const letters = await waitFor('the dead letter', async () => ((await queueDepth(names.deadQueue)) >= 1 ? drainDeadLetters(names.deadQueue) : undefined), 30_000);
    expect(letters.map((l) => l.body)).toContain('not json: while the dead-letter queue is unbound');
  }, 60_000);

  /**
   * Publishes `n` slow messages (confirmed), half of them repeats of a few bodies without an id, runs
   * `disrupt` once a tenth is stored, and checks that every message ends up stored exactly once.
   */
  async function streamScenario(sensor: string, n: number, disrupt: () => Promise<void>, after?: () => Promise<number>): Promise<void> {
    child ??= await startProcessor();
    const body = (i: number) => ({ measurement: 'stream', sensor, action: 'slow', data: { seq: i % 2 === 0 ? i : -(i % 5) } });
    await publisher.publish(Array.from({ length: n }, (_, i) => body(i)));
    await waitStored('stream', sensor, Math.floor(n / 10), 30_000);
    const before = (await count('stream', sensor)).rows;
    expect(before, 'the disruption happens mid-stream').toBeLessThan(n);
    await disrupt();
    const extra = after ? await after() : 0;
    await waitStored('stream', sensor, n + extra, 90_000).catch((err: unknown) => {
      // The processor's own account of what went wrong, in the failure.
      throw new Error(`${(err as Error).message}\nprocessor log (last lines):\n${child?.logs.join('').split('\n').slice(-15).join('\n')}`);
    });
    await caughtUp(30_000);
    // A message read again is never stored twice, even when its first reading was committed.
    expect(await count('stream', sensor)).toEqual({ rows: n + extra, distinct: n + extra });
    // None of this scenario's messages is dead-lettered. (An earlier test's poison may be: a restart
    // resumes at the last checkpoint, saved once a second, and dead letters are at least once.)
    const letters = await drainDeadLetters(names.deadQueue);
    expect(letters.filter((l) => l.body.includes(`"sensor":"${sensor}"`))).toEqual([]);
  }

  it('kill -9 of the processor mid-stream, then a restart: every published message stored exactly once', async () => {
    await streamScenario('kill9', 3000, async () => {
      const code = await child!.stop('SIGKILL');
      expect(code).toBeNull();
      child = await startProcessor();
    });
  }, 120_000);

  it('database restart mid-stream: stops, retries, catches up, every message stored exactly once', async () => {
    await streamScenario('dbrestart', 3000, async () => {
      await adapter.restart(1500);
      await child!.healthy(60_000);
    });
    const metrics = await metricsOf(port);
    expect(metrics.get('myt_processor_write_errors_total') ?? 0, 'the outage was noticed').toBeGreaterThan(0);
  }, 120_000);

  it('broker restart mid-stream: reconnects, declares the exchange and binding again, every message stored exactly once', async () => {
    let late: Publisher | undefined;
    try {
      await streamScenario(
        'brokerrestart',
        3000,
        async () => {
          try {
            await stopRabbit();
          } finally {
            await ensureRabbit();
          }
          await child!.healthy(60_000);
        },
        async () => {
          // The non-durable exchange vanished with the broker; devices publish again once it is back.
          late = await Publisher.open(names.exchange);
          await late.publish(Array.from({ length: 200 }, (_, i) => ({ measurement: 'stream', sensor: 'brokerrestart', data: { seq: 100_000 + i } })));
          return 200;
        },
      );
    } finally {
      await late?.close();
      // The suite's publisher lost its connection with the broker: open it again for what follows.
      await publisher.close();
      publisher = await Publisher.open(names.exchange);
    }
  }, 120_000);

  it('a stream deleted and made again is read under a new epoch: its offsets do not collide with stored rows', async () => {
    child ??= await startProcessor();
    await publisher.publish([{ measurement: 'room_climate', sensor: 'epoch', data: { temperature: 1 } }]);
    await waitStored('room_climate', 'epoch', 1);
    await child.stop('SIGTERM');
    child = undefined;
    const c = await amqp.connect(AMQP_URL);
    await (await c.createChannel()).deleteQueue(names.stream);
    await c.close();
    child = await startProcessor();
    await publisher.publish([{ measurement: 'room_climate', sensor: 'epoch', data: { temperature: 2 } }]);
    await waitStored('room_climate', 'epoch', 2);
    const ids = (await adapter.rows(names.db, 'room_climate', 'epoch')).map((r) => r.msgId).sort();
    expect(ids[0]).toMatch(/:0:\d+$/);
    expect(ids[1]).toMatch(/:1:\d+$/);
  }, 60_000);
}
