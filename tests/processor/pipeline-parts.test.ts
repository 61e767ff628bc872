// Pure parts of the processor: message checks, idempotency keys, schema checks, the script runner.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkMessage, messageKey, parseBody, type Delivery, type DeviceMessage } from '../../processor/src/message.js';
import { RESERVATION, StreamPosition } from '../../processor/src/position.js';
import { checkFields, checkFreeFields, type Schema } from '../../processor/src/schema.js';
import { parseTimestamp } from '../../processor/src/time.js';
import { identityNanos, lineValue } from '../../processor/src/writers/influx.js';
import { pointLine } from '../../processor/src/writers/line-protocol.js';
import { InlineScriptRunner, runScript, type ScriptFunction } from '../../processor/src/script.js';
import { bundleProcessor } from '../../src/processor/bundle.js';
import template from '../../templates/processor/script.js';
import { formatQuery, sqlLiteral, sqlTime, valuesList } from '../../processor/src/writers/mysql.js';
import { arrayLiteral } from '../../processor/src/writers/timescale.js';
import { DuplicateGuard, type StoredRecord } from '../../processor/src/writers/writer.js';

let offset = 0;
const delivery = (body: string, messageId?: string): Delivery => ({
  body: Buffer.from(body),
  messageId,
  source: '@s:0',
  offset: offset++,
  brokerTime: undefined,
  redelivered: false,
  receivedAt: 0,
  skip: false,
});

describe('device messages', () => {
  it('accepts the older system message and refuses what lacks measurement or data', () => {
    expect(parseBody(Buffer.from('{"measurement": "m", "sensor": "s", "data": {"t": 1}}')).ok).toBe(true);
    expect(parseBody(Buffer.from('nope'))).toMatchObject({ ok: false, reason: expect.stringMatching(/not JSON/) as unknown });
    expect(checkMessage({ data: {} }, 'message')).toMatchObject({ ok: false, reason: "message has no 'measurement' string" });
    expect(checkMessage({ measurement: 'm', data: [] }, 'message')).toMatchObject({ ok: false, reason: "message has no 'data' object" });
    expect(checkMessage({ measurement: 'm', data: {}, ts: 'noon' }, 'message').ok).toBe(false);
  });

  it("keys a message by its sensor and id, else its sensor and the AMQP message-id, else its place in the stream", () => {
    const parsed = (b: string): DeviceMessage => {
      const p = parseBody(Buffer.from(b));
      if (!p.ok) throw new Error(p.reason);
      return p.value;
    };
    const body = '{"measurement": "m", "sensor": "s1", "data": {"t": 1}}';
    expect(messageKey(parsed('{"measurement":"m","sensor":"s1","data":{},"id":42}'), delivery('x', 'amqp-1'))).toBe('["s1","42"]');
    // Devices that each count from 1 do not collide.
    expect(messageKey(parsed('{"measurement":"m","sensor":"s2","data":{},"id":42}'), delivery('x'))).toBe('["s2","42"]');
    expect(messageKey(parsed('{"measurement":"m","data":{},"id":"a\\"b"}'), delivery('x'))).toBe('[null,"a\\"b"]');
    expect(messageKey(parsed(body), delivery(body, 'amqp-1'))).toBe('["s1","amqp-1"]');
    // Without an id, the same bytes twice are two readings: each is named by its own offset.
    const first = { ...delivery(body), offset: 7 };
    const again = { ...delivery(body), offset: 8 };
    expect(messageKey(parsed(body), first)).toBe('@s:0:7');
    expect(messageKey(parsed(body), again)).toBe('@s:0:8');
    expect(messageKey(parsed(body), { ...first, redelivered: true })).toBe('@s:0:7');
  });

  it('takes a sensor of 1-200 characters without control characters or backslashes, on every engine', () => {
    const m = (sensor: unknown) => checkMessage({ measurement: 'm', sensor, data: {} }, 'message');
    expect(m('pi1').ok).toBe(true);
    expect(m(7).ok).toBe(true);
    // A backslash would put InfluxDB's line parser out of step (and a text field's newline then
    // starts a point of its own): refused anywhere, on every engine.
    expect(m('s\\ \\,')).toMatchObject({ ok: false, reason: expect.stringContaining('backslash') as unknown });
    expect(m('back\\slash inside').ok).toBe(false);
    expect(m('line\nbreak')).toMatchObject({ ok: false, reason: expect.stringContaining('control character') as unknown });
    expect(m('tab\t').ok).toBe(false);
    expect(m('ends\\')).toMatchObject({ ok: false, reason: expect.stringContaining('backslash') as unknown });
    expect(m('')).toMatchObject({ ok: false, reason: expect.stringContaining('0 characters') as unknown });
    expect(m('x'.repeat(201)).ok).toBe(false);
    expect(m({ name: 'x' }).ok).toBe(false);
  });
});

describe('the time of a reading (one rule: ISO 8601 in UTC unless zoned, epoch seconds or milliseconds)', () => {
  it.each([
    ['2024-05-01T12:00:00.123Z', '2024-05-01T12:00:00.123Z'],
    ['2024-05-01T12:00:00', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01 12:00', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01T12:00:00.123456+02:00', '2024-05-01T10:00:00.123Z'],
    ['2024-05-01T12:00:00-0530', '2024-05-01T17:30:00.000Z'],
    ['2024-02-29T10:00:00Z', '2024-02-29T10:00:00.000Z'],
    [1714564800456, '2024-05-01T12:00:00.456Z'],
    [1700000000, '2023-11-14T22:13:20.000Z'],
    [1700000000.25, '2023-11-14T22:13:20.250Z'],
  ])('reads %j as %s', (value, iso) => {
    expect(parseTimestamp(value)?.toISOString()).toBe(iso);
  });

  it.each([['2024-02-30T10:00:00Z'], ['2023-02-29'], ['2024-13-01'], ['2024-05-01T24:00:00Z'], ['2024-05-01T12:60'], ['1714564800456'], ['yesterday'], [-5], [true], ['0050-01-01'], [Number.NaN]])(
    'refuses %j',
    (value) => {
      expect(parseTimestamp(value)).toBeUndefined();
    },
  );

  it('reads a time without a zone as UTC whatever the host time zone is', async () => {
    const { execFileSync } = await import('node:child_process');
    const module = fileURLToPath(new URL('../../processor/src/time.ts', import.meta.url));
    const script = `import { parseTimestamp } from ${JSON.stringify(module)}; console.log(parseTimestamp('2024-05-01T12:00:00')?.toISOString());`;
    for (const tz of ['America/New_York', 'Asia/Kolkata']) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, TZ: tz } }).toString().trim();
      expect(out, tz).toBe('2024-05-01T12:00:00.000Z');
    }
  });
});

describe('schema checks', () => {
  const schema: Schema = { t: { i: 'int', b: 'bigint', d: 'double', s: 'text', ok: 'bool', at: 'timestamp', j: 'json' } };

  it('accepts values of the declared types and stores absent fields as NULL', () => {
    const r = checkFields(schema, 't', { i: 5, b: '9007199254740993', d: 1.5, s: 'x', ok: true, at: 1714564800456, j: { a: [1] } });
    expect(r).toEqual({ ok: true, fields: { i: 5, b: '9007199254740993', d: 1.5, s: 'x', ok: true, at: new Date(1714564800456), j: { json: '{"a":[1]}' } } });
  });

  it.each([
    [{ i: 1.5 }, "field 't.i' must be int"],
    [{ i: 2 ** 31 }, "field 't.i' must be int"],
    [{ d: 'warm' }, "field 't.d' must be double"],
    [{ ok: 1 }, "field 't.ok' must be bool"],
    [{ b: '12ab' }, "field 't.b' must be bigint"],
    [{ nope: 1 }, "field 'nope' is not declared for measurement 't'"],
  ])('refuses %o', (data, reason) => {
    expect(checkFields(schema, 't', data)).toEqual({ ok: false, reason: expect.stringContaining(reason) as unknown });
  });

  it('refuses an undeclared measurement, including names inherited from Object', () => {
    expect(checkFields(schema, 'other', {})).toMatchObject({ ok: false, reason: "measurement 'other' is not declared in spec.database.tables" });
    expect(checkFields(schema, 'constructor', {}).ok).toBe(false);
  });

  it('without a schema keeps scalars, and refuses nested values for InfluxDB only', () => {
    expect(checkFreeFields({ a: 1, b: 'x', c: { d: 1 } }, false)).toEqual({ ok: true, fields: { a: 1, b: 'x', c: { json: '{"d":1}' } } });
    expect(checkFreeFields({ a: 1, c: { d: 1 } }, true).ok).toBe(false);
    expect(checkFreeFields({ 'bad name': 1 }, false).ok).toBe(false);
  });

  it.each(['time', 'ts', 'sensor', 'msg_id'])('refuses the reserved field name %s on every engine', (name) => {
    for (const influx of [true, false]) expect(checkFreeFields({ [name]: 1, a: 1 }, influx)).toMatchObject({ ok: false, reason: expect.stringContaining('reserved') as unknown });
  });
});

describe('script runner', () => {
  const msg = { measurement: 'm', data: { t: 1 } };

  it('passes through a message, an array, or null (dropped on purpose)', async () => {
    expect(await runScript((m) => m, msg, 100)).toEqual({ ok: true, messages: [msg] });
    expect(await runScript((m) => Promise.resolve([m, m]), msg, 100)).toEqual({ ok: true, messages: [msg, msg] });
    expect(await runScript(() => null, msg, 100)).toEqual({ ok: true, messages: [] });
  });

  it('turns a throw, a rejection, a time-out and a wrong shape into reasons', async () => {
    expect(await runScript(() => { throw new TypeError('bad'); }, msg, 100)).toEqual({ ok: false, reason: 'script threw TypeError: bad' });
    expect(await runScript(() => Promise.reject(new Error('no')), msg, 100)).toEqual({ ok: false, reason: 'script threw Error: no' });
    expect(await runScript(() => new Promise(() => {}), msg, 50)).toEqual({ ok: false, reason: 'script took longer than 50 ms' });
    expect((await runScript(() => undefined, msg, 100)).ok).toBe(false);
    expect(await runScript(() => [msg, { data: {} }], msg, 100)).toMatchObject({ ok: false, reason: expect.stringMatching(/^script result \[1\] has no 'measurement'/) as unknown });
  });
});

describe('PostgreSQL array literals (values travel as one parameter per column)', () => {
  it('quotes and escapes text, and writes numbers, booleans, NULL and times plainly', () => {
    expect(arrayLiteral([1, 2.5, null, undefined])).toBe('{1,2.5,NULL,NULL}');
    expect(arrayLiteral([true, false])).toBe('{t,f}');
    expect(arrayLiteral(['a', 'b,c', 'q"uote', 'back\\slash', '{x}'])).toBe('{"a","b,c","q\\"uote","back\\\\slash","{x}"}');
    expect(arrayLiteral([new Date(0), { json: '{"k":"v"}' }])).toBe('{"1970-01-01T00:00:00.000Z","{\\"k\\":\\"v\\"}"}');
  });
});

describe('MySQL value literals (the VALUES list is built with mysql2 escaping)', () => {
  it('escapes text and writes numbers, booleans, NULL and times plainly', () => {
    expect([1.5, -2, null, undefined, true, false].map(sqlLiteral)).toEqual(['1.5', '-2', 'NULL', 'NULL', 'TRUE', 'FALSE']);
    expect(sqlLiteral("it's a \\ test\u0000")).toBe("'it\\'s a \\\\ test\\0'");
    expect(sqlLiteral("x'); DROP TABLE m; --")).toBe("'x\\'); DROP TABLE m; --'");
    expect(sqlLiteral(new Date(Date.UTC(2024, 4, 1, 12, 0, 0, 123)))).toBe("'2024-05-01 12:00:00.123'");
    // sqlTime formats only the seconds per call: the same as toISOString at every edge of a minute.
    for (const ms of [0, 7, 59_999, 60_000, 1_714_564_800_123, 1_714_564_859_999, 253_402_300_799_999]) {
      expect(sqlTime(new Date(ms))).toBe(`'${new Date(ms).toISOString().slice(0, 23).replace('T', ' ')}'`);
    }
    expect(sqlLiteral({ json: '{"a":"b"}' })).toBe('\'{\\"a\\":\\"b\\"}\'');
    // Statements without values go out untouched; others are formatted in the connection's time zone.
    expect(formatQuery('SELECT ? -- kept', [])).toBe('SELECT ? -- kept');
    expect(formatQuery('SELECT ?, ?', ["it's", new Date(0)], '+02:00')).toBe("SELECT 'it\\'s', '1970-01-01 02:00:00.000'");
    const row = (id: string, fields: StoredRecord['fields']): StoredRecord => ({ id, measurement: 'm', sensor: "o'k", ts: new Date(Date.UTC(2024, 4, 1)), repeatable: true, redelivered: false, fields });
    expect(valuesList([row('a', { t: 1.5 }), row('b', { u: 'x' })], ['t', 'u'])).toBe(
      "('2024-05-01 00:00:00.000','o\\'k','a',1.5,NULL),('2024-05-01 00:00:00.000','o\\'k','b',NULL,'x')",
    );
  });
});

describe('templates/processor/script.ts (the starter script users copy)', () => {
  it('behaves as its comments say and bundles with the processor', async () => {
    expect(template({ measurement: 'm', sensor: 'legacy-1', data: { temperature: 215 } })).toEqual({ measurement: 'm', sensor: 'legacy-1', data: { temperature: 21.5 } });
    expect(template({ measurement: 'm', sensor: 's', data: {} })).toBeNull();
    const msg = { measurement: 'm', sensor: 's', data: { temperature: 20 } };
    expect(await runScript(template as ScriptFunction, msg, 100)).toEqual({ ok: true, messages: [msg] });
    const out = join(mkdtempSync(join(tmpdir(), 'myt-template-')), 'p.mjs');
    const script = fileURLToPath(new URL('../../templates/processor/script.ts', import.meta.url));
    await expect(bundleProcessor({ outfile: out, script })).resolves.toMatchObject({ outfile: out });
  });
});

describe('a script output the checks cannot inspect', () => {
  it('is dead-lettered alone; the rest of its batch is stored (writer: a FAKE that records batches)', async () => {
    const { Pipeline } = await import('../../processor/src/pipeline.js');
    const { createMetrics } = await import('../../processor/src/metrics.js');
    const { silentLogger } = await import('../../processor/src/log.js');
    // The fake stands in for the Writer interface (processor/src/writers/writer.ts): write() stores
    // a batch or throws; nothing here needs a database.
    const written: string[] = [];
    const writer = {
      start: () => Promise.resolve(),
      write: (records: readonly { id: string }[]) => (written.push(...records.map((r) => r.id)), Promise.resolve({ stored: records.length, duplicates: 0 })),
      isPermanent: () => false,
      loadCheckpoint: () => Promise.resolve(undefined),
      saveCheckpoint: () => Promise.resolve(),
      ping: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    // BigInt cannot go through JSON: the schema checks throw on it.
    const script: ScriptFunction = (m) => (m.id === 'b' ? { ...m, data: { v: 2n } } : m);
    const pipeline = new Pipeline({ engine: 'timescaledb', schema: { m: { v: 'bigint' } }, writer, script: new InlineScriptRunner(script, 100), retryMaxMs: 10, log: silentLogger, metrics: createMetrics() });
    const body = (id: string) => delivery(JSON.stringify({ measurement: 'm', sensor: 's', id, data: { v: 1 } }));
    const result = await pipeline.process([body('a'), body('b'), body('c')], () => false);
    expect(result?.outcomes.map((o) => o.kind)).toEqual(['stored', 'dead', 'stored']);
    expect(result?.outcomes[1]).toMatchObject({ stage: 'script', reason: expect.stringContaining('cannot be stored') as string });
    expect(written).toEqual(['["s","a"]', '["s","c"]']);
  });
});

describe('DuplicateGuard (when a SQL batch may skip the duplicate check)', () => {
  const rec = (redelivered: boolean): StoredRecord => ({ id: 'x', measurement: 'm', sensor: null, ts: new Date(0), repeatable: false, redelivered, fields: {} });
  const duplicate = Object.assign(new Error('duplicate key'), { code: 'dup' });
  const isDuplicate = (err: unknown) => (err as { code?: string }).code === 'dup';

  it('tries plainly, repeats with the check on a duplicate, keeps checking for the hold time, then tries plainly again', async () => {
    let clock = 0;
    const guard = new DuplicateGuard(1000, () => clock);
    const calls: boolean[] = [];
    const failPlain = (checked: boolean) => (calls.push(checked), checked ? Promise.resolve() : Promise.reject(duplicate));
    await guard.write([rec(false)], isDuplicate, failPlain);
    expect(calls).toEqual([false, true]);
    clock = 999;
    await guard.write([rec(false)], isDuplicate, failPlain);
    expect(calls).toEqual([false, true, true]);
    clock = 1000;
    await guard.write([rec(false)], isDuplicate, (checked) => (calls.push(checked), Promise.resolve()));
    expect(calls).toEqual([false, true, true, false]);
  });

  it('checks redelivered batches straight away and passes other errors on without a second try', async () => {
    const guard = new DuplicateGuard(1000, () => 0);
    const calls: boolean[] = [];
    await guard.write([rec(false), rec(true)], isDuplicate, (checked) => (calls.push(checked), Promise.resolve()));
    expect(calls).toEqual([true]);
    await expect(guard.write([rec(false)], isDuplicate, (checked) => (calls.push(checked), Promise.reject(new Error('down'))))).rejects.toThrow('down');
    expect(calls).toEqual([true, false]);
  });
});

describe('InfluxDB line protocol (written by MyT: exact integers, escaped tags)', () => {
  it('escapes measurement, tag and field keys, quotes strings, and keeps integers exact', () => {
    expect(pointLine('m', { sensor: 'a b,c=d' }, { msg_id: lineValue('["a b","1"]', undefined), v: lineValue('12345678901234567', 'bigint') }, '1000123456')).toBe(
      'm,sensor=a\\ b\\,c\\=d msg_id="[\\"a b\\",\\"1\\"]",v=12345678901234567i 1000123456',
    );
    expect(lineValue('9223372036854775807', 'bigint')).toBe('9223372036854775807i');
    expect(lineValue(3, 'int')).toBe('3i');
    expect(lineValue(3, undefined)).toBe('3');
    expect(lineValue(true, undefined)).toBe('T');
    expect(lineValue('back\\slash "q"', 'text')).toBe('"back\\\\slash \\"q\\""');
    expect(lineValue(new Date(5), 'timestamp')).toBe('5i');
    expect(lineValue({ json: '{"a":1}' }, 'json')).toBe('"{\\"a\\":1}"');
  });

  it('spreads the nanoseconds below a millisecond by identity: six digits, the same for the same id', () => {
    const a = identityNanos('@s:0:1');
    expect(a).toMatch(/^\d{6}$/);
    expect(identityNanos('@s:0:1')).toBe(a);
    const many = new Set(Array.from({ length: 1000 }, (_, i) => identityNanos(`@s:0:${i}`)));
    expect(many.size).toBeGreaterThan(995);
  });
});

describe('StreamPosition (what a restart resumes from)', () => {
  it('moves only over a run of finished batches, however they finish', () => {
    const p = new StreamPosition('s', undefined);
    const a = p.begin(0, 9, 'fa');
    const b = p.begin(10, 19, 'fb');
    const c = p.begin(20, 29, 'fc');
    expect(p.finish(b)).toBe(false);
    expect(p.next).toBe(0);
    expect(p.finish(a)).toBe(true);
    expect(p.checkpoint()).toMatchObject({ next: 20, fingerprint: 'fb' });
    p.reset();
    expect(p.finish(c), 'a batch of a session that ended moves nothing').toBe(false);
    expect(p.next).toBe(20);
  });

  it('knows what may have been stored before: offsets up to the saved reservation, then what it has seen', () => {
    const p = new StreamPosition('s', { stream: 's', epoch: 2, next: 100, high: 150, fingerprint: 'f' });
    expect(p.source).toBe('@s:2');
    expect(p.seen(120)).toBe(true);
    expect(p.seen(151)).toBe(false);
    expect(p.seen(151)).toBe(true);
    expect(p.needsReservation(150)).toBe(false);
    expect(p.needsReservation(151)).toBe(true);
    const high = p.reserve(151);
    expect(p.checkpoint().high).toBe(151 + RESERVATION);
    // Raised in memory only: records above the saved reservation still wait for its save.
    expect(p.needsReservation(151)).toBe(true);
    p.confirmHigh(high);
    expect(p.needsReservation(151)).toBe(false);
    p.newEpoch();
    expect(p.checkpoint()).toEqual({ stream: 's', epoch: 3, next: 0, high: -1, fingerprint: '' });
    expect(p.seen(0)).toBe(false);
  });
});
