// The behaviour every engine must show, run against the real servers: each engine's test file calls
// engineSuite() with how to read its database and how to restart it.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
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
  uniqueNames,
  waitFor,
  type Child,
  type Names,
} from './support.js';

export const SCHEMA = {
  room_climate: { temperature: 'double', humidity: 'double' },
  stream: { seq: 'int' },
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
}

const SCRIPT = fileURLToPath(new URL('./fixtures/script.ts', import.meta.url));

/** The older system's device message, byte for byte as pika's json.dumps sent it. */
export const OLD_DEVICE_BODY = '{"measurement": "room_climate", "sensor": "sensor-01", "data": {"temperature": 21.5, "humidity": 40.2}}';

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

  it("stores the older system's exact device message (pika defaults: no properties, not persistent)", async () => {
    const before = Date.now();
    await publisher.publish([OLD_DEVICE_BODY]);
    await waitStored('room_climate', 'sensor-01', 1);
    const rows = await adapter.rows(names.db, 'room_climate', 'sensor-01');
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.fields).toEqual({ temperature: 21.5, humidity: 40.2 });
    expect(row.sensor).toBe('sensor-01');
    // No ts in the message: stored with the time it was received.
    expect(row.ts).toBeGreaterThanOrEqual(before - 1000);
    expect(row.ts).toBeLessThanOrEqual(Date.now() + 1000);
    // No id either: the key is a hash of the body, so a redelivery maps to the same row.
    expect(row.msgId).toMatch(/^sha256:[0-9a-f]{40}$/);
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', broker: true, database: true });
    expect(typeof health.lastWriteAt).toBe('string');
    const metrics = await metricsOf(port);
    expect(metrics.get('myt_processor_stored_total')).toBeGreaterThanOrEqual(1);
    expect(metrics.get('myt_processor_consumed_total')).toBeGreaterThanOrEqual(1);
  });

  it('stores the message ts when given (ISO 8601 and epoch ms) and what the script returns', async () => {
    await publisher.publish([
      { measurement: 'room_climate', sensor: 'ts-iso', ts: '2024-05-01T12:00:00.123Z', data: { temperature: 1 } },
      { measurement: 'room_climate', sensor: 'ts-ms', ts: 1714564800456, data: { temperature: 2 } },
      { measurement: 'room_climate', sensor: 'script-f', action: 'fahrenheit', data: { temperature: 100 } },
      { measurement: 'room_climate', sensor: 'script-split', id: 'split-1', action: 'split', data: { temperature: 3, humidity: 4 } },
      { measurement: 'room_climate', sensor: 'script-drop', action: 'drop', data: { temperature: 5 } },
    ]);
    await waitStored('room_climate', 'script-split', 2);
    await waitStored('room_climate', 'script-f', 1);
    expect((await adapter.rows(names.db, 'room_climate', 'ts-iso'))[0]?.ts).toBe(Date.parse('2024-05-01T12:00:00.123Z'));
    expect((await adapter.rows(names.db, 'room_climate', 'ts-ms'))[0]?.ts).toBe(1714564800456);
    expect((await adapter.rows(names.db, 'room_climate', 'script-f'))[0]?.fields.temperature).toBe(212);
    const split = await adapter.rows(names.db, 'room_climate', 'script-split');
    expect(split.map((r) => r.msgId).sort()).toEqual(['split-1#0', 'split-1#1']);
    // Dropping on purpose (null) is not an error: acknowledged, not stored, not dead-lettered.
    await waitFor('the dropped message to be acknowledged', async () => (await queueDepth(names.queue)) === 0 && (await metricsOf(port)).get('myt_processor_dropped_total') === 1);
    expect((await count('room_climate', 'script-drop')).rows).toBe(0);
  });

  it('dead-letters poison messages with the reason in x-myt-reason and keeps storing the rest', async () => {
    const good = (n: number) => ({ measurement: 'room_climate', sensor: 'poison-good', data: { temperature: n } });
    const poison: [string | object, RegExp][] = [
      ['this is not json', /not JSON/],
      [{ sensor: 'x', data: { temperature: 1 } }, /no 'measurement'/],
      [{ measurement: 'room_climate', sensor: 'x' }, /no 'data'/],
      [{ measurement: 'room_climate', sensor: 'x', ts: 'yesterday', data: { temperature: 1 } }, /'ts'/],
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
      poison.push([{ measurement: 'room_climate', sensor: 'x', data: { nested: { a: 1 } } }, /InfluxDB fields are numbers, strings or booleans/]);
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

  it('stores duplicates once: same id, same AMQP message-id, byte-identical body, repeated split', async () => {
    const withId = { measurement: 'room_climate', sensor: 'dup', id: 'device-42-0001', data: { temperature: 10 } };
    const noId = { measurement: 'room_climate', sensor: 'dup', data: { temperature: 11 } };
    const split = { measurement: 'room_climate', sensor: 'dup', id: 'dup-split', action: 'split', data: { temperature: 12, humidity: 13 } };
    await publisher.publish([withId, withId, noId, noId, split, split]);
    await publisher.publish([{ measurement: 'room_climate', sensor: 'dup', data: { temperature: 14 } }], { messageId: 'amqp-id-7' });
    await publisher.publish([{ measurement: 'room_climate', sensor: 'dup', data: { temperature: 14 } }], { messageId: 'amqp-id-7' });
    // And the same again in a later batch, after the first copies were committed.
    await waitStored('room_climate', 'dup', 5);
    await publisher.publish([withId, noId, split]);
    await waitFor('the queue to drain', async () => (await queueDepth(names.queue)) === 0);
    await new Promise((done) => setTimeout(done, 500));
    const ids = (await adapter.rows(names.db, 'room_climate', 'dup')).map((r) => r.msgId);
    expect(ids.filter((id) => !id.startsWith('sha256:')).sort()).toEqual(['amqp-id-7', 'device-42-0001', 'dup-split#0', 'dup-split#1']);
    expect(ids.filter((id) => id.startsWith('sha256:'))).toHaveLength(1);
  });

  it('SIGTERM drains: finishes the batch in flight, acknowledges it and exits 0', async () => {
    const n = 600;
    await publisher.publish(Array.from({ length: n }, (_, i) => ({ measurement: 'stream', sensor: 'drain', action: 'slow', data: { seq: i } })));
    await waitStored('stream', 'drain', 1, 20_000);
    const stopped = child!;
    const code = await stopped.stop('SIGTERM');
    child = undefined;
    expect(code).toBe(0);
    const stored = (await count('stream', 'drain')).rows;
    // Whatever was stored was acknowledged, and whatever was not is still in the queue: nothing in between.
    // (The quorum queue's count settles a moment after the last acknowledgement.)
    await waitFor(`stored + queued = ${n}`, async () => stored + (await queueDepth(names.queue)) === n, 5000);
    child = await startProcessor();
    await waitStored('stream', 'drain', n);
    expect(await count('stream', 'drain')).toEqual({ rows: n, distinct: n });
  }, 120_000);

  /**
   * Publishes `n` slow messages (confirmed), runs `disrupt` once a tenth is stored, and checks that
   * every message ends up stored exactly once with nothing left in either queue.
   */
  async function streamScenario(sensor: string, n: number, disrupt: () => Promise<void>, after?: () => Promise<number>): Promise<void> {
    child ??= await startProcessor();
    await publisher.publish(Array.from({ length: n }, (_, i) => ({ measurement: 'stream', sensor, action: 'slow', data: { seq: i } })));
    await waitStored('stream', sensor, Math.floor(n / 10), 30_000);
    const before = (await count('stream', sensor)).rows;
    expect(before, 'the disruption happens mid-stream').toBeLessThan(n);
    await disrupt();
    const extra = after ? await after() : 0;
    await waitStored('stream', sensor, n + extra, 90_000);
    await waitFor('both queues to be empty', async () => (await queueDepth(names.queue)) === 0, 20_000);
    // A redelivered message is never stored twice, even when its first delivery was committed.
    await new Promise((done) => setTimeout(done, 500));
    expect(await count('stream', sensor)).toEqual({ rows: n + extra, distinct: n + extra });
    expect(await drainDeadLetters(names.deadQueue)).toEqual([]);
  }

  it('kill -9 of the processor mid-stream, then a restart: every published message stored exactly once', async () => {
    await streamScenario('kill9', 3000, async () => {
      const code = await child!.stop('SIGKILL');
      expect(code).toBeNull();
      child = await startProcessor();
    });
  }, 120_000);

  it('database restart mid-stream: stops acknowledging, retries, catches up, every message stored exactly once', async () => {
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
    }
  }, 120_000);
}
