// Turns a batch of deliveries into outcomes: parse, run the script, check against the schema, write
// (retrying outages, isolating bad records), and say per delivery whether it was stored, dropped on
// purpose by the script, or must be dead-lettered (with the reason).
import type { Engine } from './config.js';
import { backoffDelay, sleepUnless } from './backoff.js';
import type { Logger } from './log.js';
import { messageKey, parseBody, type Delivery, type DeviceMessage } from './message.js';
import type { Metrics } from './metrics.js';
import { checkFields, checkFreeFields, parseTimestamp, type Schema } from './schema.js';
import type { ScriptRunner } from './script.js';
import type { StoredRecord, Writer } from './writers/writer.js';

export type DeadStage = 'parse' | 'script' | 'schema' | 'database';
export type Outcome = { readonly kind: 'stored' } | { readonly kind: 'dropped' } | { readonly kind: 'dead'; readonly reason: string; readonly stage: DeadStage };

// Shared: one object per outcome kind rather than one per message (hot path).
const STORED: Outcome = { kind: 'stored' };
const DROPPED: Outcome = { kind: 'dropped' };

export interface PipelineOptions {
  readonly engine: Engine;
  readonly schema: Schema | undefined;
  readonly writer: Writer;
  /** The user's script; undefined = messages are stored as they come. */
  readonly script: ScriptRunner | undefined;
  readonly retryMaxMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
}

type Prepared = { ok: true; records: StoredRecord[] } | { ok: false; reason: string; stage: DeadStage };

const inputIdOf = (message: DeviceMessage) => (message.id === undefined || message.id === null ? undefined : String(message.id));

export class Pipeline {
  // Sub-millisecond sequence for messages without `ts`: keeps same-millisecond InfluxDB points apart.
  private sequence = 0;
  private lastWriteOk = 0;
  private databaseUp = false;

  constructor(private readonly options: PipelineOptions) {}

  /** When the last batch was committed (ms since the epoch, 0 = never). */
  get lastWriteAt(): number {
    return this.lastWriteOk;
  }

  /** Whether the last write attempt reached the database. */
  get databaseHealthy(): boolean {
    return this.databaseUp;
  }

  private toRecord(item: DeviceMessage, original: DeviceMessage, id: string, delivery: Delivery): Prepared {
    const { schema, engine } = this.options;
    const checked = schema ? checkFields(schema, item.measurement, item.data) : checkFreeFields(item.data, engine === 'influxdb');
    if (!checked.ok) return { ...checked, stage: 'schema' };
    const given = item.ts ?? original.ts;
    const explicit = given === undefined || given === null ? undefined : parseTimestamp(given);
    if (given !== undefined && given !== null && !explicit) return { ok: false, reason: `'ts' is neither ISO 8601 nor epoch milliseconds`, stage: 'schema' };
    if (!explicit) this.sequence = (this.sequence + 1) % 1_000_000;
    const sensor = item.sensor === undefined || item.sensor === null ? null : String(item.sensor);
    return {
      ok: true,
      records: [
        {
          id,
          measurement: item.measurement,
          sensor,
          ts: explicit ?? new Date(delivery.receivedAt),
          seq: explicit ? 0 : this.sequence,
          tsFromMessage: explicit !== undefined,
          redelivered: delivery.redelivered,
          fields: checked.fields,
        },
      ],
    };
  }

  /** Parses one delivery into its records (no script: synchronous, no promise per message). */
  prepare(delivery: Delivery): Prepared {
    const parsed = parseBody(delivery.body);
    if (!parsed.ok) return { ...parsed, stage: 'parse' };
    const message = parsed.value;
    return this.toRecords([message], message, messageKey(message, delivery), inputIdOf(message), delivery);
  }

  /** Parses a batch and runs the script on what parsed, all at once (it runs in another thread). */
  private async prepareScripted(script: ScriptRunner, deliveries: readonly Delivery[]): Promise<Prepared[]> {
    const parsed = deliveries.map((d) => parseBody(d.body));
    // Keys come from the messages as received, before a script (run in-process, in tests) can change them.
    const keys = parsed.map((p, i) => (p.ok ? { key: messageKey(p.value, deliveries[i]!), inputId: inputIdOf(p.value) } : undefined));
    const inputs: DeviceMessage[] = [];
    for (const p of parsed) if (p.ok) inputs.push(p.value);
    const results = await script.run(inputs);
    let next = 0;
    return deliveries.map((delivery, i): Prepared => {
      const p = parsed[i]!;
      if (!p.ok) return { ...p, stage: 'parse' };
      const result = results[next++]!;
      if (!result.ok) return { ...result, stage: 'script' };
      const { key, inputId } = keys[i]!;
      return this.toRecords(result.messages, p.value, key, inputId, delivery);
    });
  }

  private toRecords(outputs: readonly DeviceMessage[], message: DeviceMessage, key: string, inputId: string | undefined, delivery: Delivery): Prepared {
    const records: StoredRecord[] = [];
    const many = outputs.length > 1;
    for (let i = 0; i < outputs.length; i++) {
      const item = outputs[i]!;
      const own = item.id === undefined || item.id === null ? undefined : String(item.id);
      // One output keeps the message's key; several get `${key}#${index}` unless the script gave an
      // item an id of its own (one that is not just the input's id copied along).
      const id = !many ? (own ?? key) : own !== undefined && own !== inputId ? own : `${key}#${i}`;
      const prepared = this.checkedRecord(item, message, id, delivery);
      if (!prepared.ok) return { ...prepared, reason: many ? `item ${i}: ${prepared.reason}` : prepared.reason };
      records.push(...prepared.records);
    }
    return { ok: true, records };
  }

  /**
   * toRecord, with anything it throws turned into a dead letter: a script can return values the
   * checks cannot even inspect (a BigInt, a circular object), and one such message must not stall
   * its whole batch.
   */
  private checkedRecord(item: DeviceMessage, original: DeviceMessage, id: string, delivery: Delivery): Prepared {
    try {
      return this.toRecord(item, original, id, delivery);
    } catch (err) {
      return { ok: false, reason: `the script returned a value that cannot be stored: ${(err as Error).message}`.slice(0, 500), stage: 'script' };
    }
  }

  /** Writes records; a record the database refuses is isolated by halving and reported by index. */
  private async writeIsolating(records: readonly StoredRecord[], offset: number, rejected: Map<number, string>): Promise<void> {
    try {
      await this.options.writer.write(records);
    } catch (err) {
      if (!this.options.writer.isPermanent(err)) throw err;
      if (records.length === 1) {
        rejected.set(offset, `database refused the record: ${(err as Error).message}`.slice(0, 500));
        return;
      }
      const half = Math.ceil(records.length / 2);
      await this.writeIsolating(records.slice(0, half), offset, rejected);
      await this.writeIsolating(records.slice(half), offset + half, rejected);
    }
  }

  /**
   * Writes until it succeeds, backing off while the database is down. Returns the rejected records
   * by index, or undefined when `giveUp()` became true first (the batch stays unacknowledged).
   */
  async store(records: readonly StoredRecord[], giveUp: () => boolean): Promise<Map<number, string> | undefined> {
    for (let attempt = 0; ; attempt++) {
      const rejected = new Map<number, string>();
      try {
        if (records.length > 0) await this.writeIsolating(records, 0, rejected);
        this.databaseUp = true;
        this.lastWriteOk = Date.now();
        return rejected;
      } catch (err) {
        this.databaseUp = false;
        this.options.metrics.writeErrors.inc();
        const delay = backoffDelay(attempt, this.options.retryMaxMs);
        this.options.log.warn('database write failed; retrying', { error: (err as Error).message, attempt: attempt + 1, retryInMs: delay });
        if (giveUp()) return undefined;
        await sleepUnless(delay, giveUp);
        if (giveUp()) return undefined;
      }
    }
  }

  /** Processes a batch; undefined when abandoned (nothing to acknowledge). */
  async process(deliveries: readonly Delivery[], giveUp: () => boolean): Promise<Outcome[] | undefined> {
    const { script } = this.options;
    const prepared = script ? await this.prepareScripted(script, deliveries) : deliveries.map((d) => this.prepare(d));
    const records: StoredRecord[] = [];
    const owner: number[] = [];
    prepared.forEach((p, i) => {
      if (!p.ok) return;
      for (const r of p.records) {
        records.push(r);
        owner.push(i);
      }
    });
    const rejected = await this.store(records, giveUp);
    if (!rejected) return undefined;
    const refused = new Map<number, string>();
    for (const [index, reason] of rejected) if (!refused.has(owner[index]!)) refused.set(owner[index]!, reason);
    return prepared.map((p, i): Outcome => {
      if (!p.ok) return { kind: 'dead', reason: p.reason, stage: p.stage };
      const reason = refused.get(i);
      if (reason !== undefined) return { kind: 'dead', reason, stage: 'database' };
      return p.records.length === 0 ? DROPPED : STORED;
    });
  }
}
