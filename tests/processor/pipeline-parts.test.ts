// Pure parts of the processor: message checks, idempotency keys, schema checks, the script runner.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkMessage, messageKey, parseBody, type Delivery, type DeviceMessage } from '../../processor/src/message.js';
import { checkFields, checkFreeFields, parseTimestamp, type Schema } from '../../processor/src/schema.js';
import { InlineScriptRunner, runScript, type ScriptFunction } from '../../processor/src/script.js';
import { bundleProcessor } from '../../src/processor/bundle.js';
import template from '../../templates/processor/script.js';
import { formatQuery, sqlLiteral, sqlTime, valuesList } from '../../processor/src/writers/mysql.js';
import { arrayLiteral } from '../../processor/src/writers/timescale.js';
import { DuplicateGuard, type StoredRecord } from '../../processor/src/writers/writer.js';

const delivery = (body: string, messageId?: string): Delivery => ({ body: Buffer.from(body), messageId, redelivered: false, receivedAt: 0 });

describe('device messages', () => {
  it('accepts the older system message and refuses what lacks measurement or data', () => {
    expect(parseBody(Buffer.from('{"measurement": "m", "sensor": "s", "data": {"t": 1}}')).ok).toBe(true);
    expect(parseBody(Buffer.from('nope'))).toMatchObject({ ok: false, reason: expect.stringMatching(/not JSON/) as unknown });
    expect(checkMessage({ data: {} }, 'message')).toMatchObject({ ok: false, reason: "message has no 'measurement' string" });
    expect(checkMessage({ measurement: 'm', data: [] }, 'message')).toMatchObject({ ok: false, reason: "message has no 'data' object" });
    expect(checkMessage({ measurement: 'm', data: {}, ts: 'noon' }, 'message').ok).toBe(false);
  });

  it('keys a message by its id, else the AMQP message-id, else a hash that a redelivery repeats', () => {
    const body = '{"measurement": "m", "data": {"t": 1}}';
    const parsed = (b: string): DeviceMessage => {
      const p = parseBody(Buffer.from(b));
      if (!p.ok) throw new Error(p.reason);
      return p.value;
    };
    expect(messageKey(parsed('{"measurement":"m","data":{},"id":42}'), delivery('x', 'amqp-1'))).toBe('42');
    expect(messageKey(parsed(body), delivery(body, 'amqp-1'))).toBe('amqp-1');
    const a = messageKey(parsed(body), delivery(body));
    expect(a).toMatch(/^sha256:[0-9a-f]{40}$/);
    expect(messageKey(parsed(body), delivery(body))).toBe(a);
    expect(messageKey(parsed(body), delivery(body.replace('1', '2')))).not.toBe(a);
  });

  it('reads ts as ISO 8601 or epoch milliseconds, and nothing else', () => {
    expect(parseTimestamp('2024-05-01T12:00:00.123Z')?.getTime()).toBe(Date.parse('2024-05-01T12:00:00.123Z'));
    expect(parseTimestamp(1714564800456)?.getTime()).toBe(1714564800456);
    expect(parseTimestamp('1714564800456')).toBeUndefined();
    expect(parseTimestamp(-5)).toBeUndefined();
    expect(parseTimestamp(true)).toBeUndefined();
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
    const row = (id: string, fields: StoredRecord['fields']): StoredRecord => ({ id, measurement: 'm', sensor: "o'k", ts: new Date(Date.UTC(2024, 4, 1)), seq: 0, tsFromMessage: true, redelivered: false, fields });
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
      write: (records: readonly { id: string }[]) => (written.push(...records.map((r) => r.id)), Promise.resolve()),
      isPermanent: () => false,
      ping: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    // BigInt cannot go through JSON: the schema checks throw on it.
    const script: ScriptFunction = (m) => (m.id === 'b' ? { ...m, data: { v: 2n } } : m);
    const pipeline = new Pipeline({ engine: 'timescaledb', schema: { m: { v: 'bigint' } }, writer, script: new InlineScriptRunner(script, 100), retryMaxMs: 10, log: silentLogger, metrics: createMetrics(() => Promise.resolve(null)) });
    const body = (id: string) => delivery(JSON.stringify({ measurement: 'm', sensor: 's', id, data: { v: 1 } }));
    const outcomes = await pipeline.process([body('a'), body('b'), body('c')], () => false);
    expect(outcomes?.map((o) => o.kind)).toEqual(['stored', 'dead', 'stored']);
    expect(outcomes?.[1]).toMatchObject({ stage: 'script', reason: expect.stringContaining('cannot be stored') as string });
    expect(written).toEqual(['a', 'c']);
  });
});

describe('DuplicateGuard (when a SQL batch may skip the duplicate check)', () => {
  const rec = (redelivered: boolean): StoredRecord => ({ id: 'x', measurement: 'm', sensor: null, ts: new Date(0), seq: 0, tsFromMessage: false, redelivered, fields: {} });
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
