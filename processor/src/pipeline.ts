// Turns a batch of deliveries into outcomes: parse, run the script, check against the schema, write
// (retrying outages, isolating bad records), and say per delivery whether it was stored, dropped on
// purpose by the script, or must be dead-lettered (with the reason).
import type { Engine } from './config.js';
import { backoffDelay, sleepUnless } from './backoff.js';
import type { Logger } from './log.js';
import { deviceKey, isStreamKey, messageKey, parseBody, sensorOf, type Delivery, type DeviceMessage, type MessageHead } from './message.js';
import type { Metrics } from './metrics.js';
import { checkFields, checkFreeFields, type Schema } from './schema.js';
import type { ScriptRunner } from './script.js';
import { parseTimestamp, TIMESTAMP_RULE } from './time.js';
import type { StoredRecord, Writer } from './writers/writer.js';

export type DeadStage = 'parse' | 'script' | 'schema' | 'database';
export type Outcome =
  | { readonly kind: 'stored' }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'skipped' }
  | { readonly kind: 'dead'; readonly reason: string; readonly stage: DeadStage };

// Shared: one object per outcome kind rather than one per message (hot path).
const STORED: Outcome = { kind: 'stored' };
const DROPPED: Outcome = { kind: 'dropped' };
const SKIPPED: Outcome = { kind: 'skipped' };

/** What storing a batch's records did. */
export interface Stored {
  /** Records the database refused, by index, with the reason. */
  readonly rejected: Map<number, string>;
  readonly stored: number;
  readonly duplicates: number;
}

export interface PipelineOptions {
  readonly engine: Engine;
  readonly schema: Schema | undefined;
  readonly writer: Writer;
  /** The user's script; undefined = messages are stored as they come. */
  readonly script: ScriptRunner | undefined;
  readonly retryMaxMs: number;
  /** Larger messages are dead-lettered unread (default: no limit). */
  readonly maxMessageBytes?: number;
  readonly log: Logger;
  readonly metrics: Metrics;
}

type Built = { ok: true; records: StoredRecord[] } | { ok: false; reason: string; stage: DeadStage };
type Prepared = Built | { ok: 'skip' };
const SKIP: Prepared = { ok: 'skip' };

const inputIdOf = (message: MessageHead) => (message.id === undefined || message.id === null ? undefined : String(message.id));

export class Pipeline {
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

  /**
   * A reading's time: its own `ts` (a script's item may give its own), else when the broker received
   * it (RabbitMQ >= 3.12 stamps it), else, as a last resort, when the processor received it.
   */
  private toRecord(item: DeviceMessage, original: MessageHead, id: string, delivery: Delivery): Built {
    const { schema, engine } = this.options;
    const checked = schema ? checkFields(schema, item.measurement, item.data) : checkFreeFields(item.data, engine === 'influxdb');
    if (!checked.ok) return { ...checked, stage: 'schema' };
    const given = item.ts ?? original.ts;
    const explicit = given === undefined || given === null ? undefined : parseTimestamp(given);
    if (given !== undefined && given !== null && !explicit) return { ok: false, reason: `'ts' breaks the rule (${TIMESTAMP_RULE})`, stage: 'schema' };
    const { brokerTime } = delivery;
    return {
      ok: true,
      records: [
        {
          id,
          measurement: item.measurement,
          sensor: sensorOf(item),
          ts: explicit ?? new Date(brokerTime ?? delivery.receivedAt),
          // A device's re-send of an id gets a new broker time; a re-read of the same offset does not.
          repeatable: explicit !== undefined || (brokerTime !== undefined && isStreamKey(id)),
          redelivered: delivery.redelivered,
          fields: checked.fields,
        },
      ],
    };
  }

  /** Why a message is not read at all (too large), if it is not. */
  private refused(delivery: Delivery): string | undefined {
    const limit = this.options.maxMessageBytes ?? Infinity;
    return delivery.body.length > limit ? `message of ${delivery.body.length} bytes is larger than MYT_MAX_MESSAGE_BYTES (${limit})` : undefined;
  }

  /** Parses one delivery into its records (no script: synchronous, no promise per message). */
  prepare(delivery: Delivery): Prepared {
    if (delivery.skip) return SKIP;
    const refused = this.refused(delivery);
    const parsed = refused === undefined ? parseBody(delivery.body) : { ok: false as const, reason: refused };
    if (!parsed.ok) return { ...parsed, stage: 'parse' };
    const message = parsed.value;
    return this.toRecords([message], message, messageKey(message, delivery), inputIdOf(message), delivery);
  }

  /** Hands a batch's bodies to the script's runner (which parses them in its thread), then builds the records. */
  private async prepareScripted(script: ScriptRunner, deliveries: readonly Delivery[]): Promise<Prepared[]> {
    const prepared: (Prepared | undefined)[] = [];
    const texts: string[] = [];
    for (const d of deliveries) {
      const refused = d.skip ? undefined : this.refused(d);
      if (d.skip) prepared.push(SKIP);
      else if (refused !== undefined) prepared.push({ ok: false, reason: refused, stage: 'parse' });
      else {
        prepared.push(undefined);
        texts.push(d.body.toString('utf8'));
      }
    }
    const outputs = texts.length > 0 ? await script.run(texts) : [];
    let next = 0;
    return deliveries.map((delivery, i): Prepared => {
      const early = prepared[i];
      if (early) return early;
      const out = outputs[next++]!;
      if (!out.ok) return { ok: false, reason: out.reason, stage: out.stage };
      return this.toRecords(out.messages, out.head, messageKey(out.head, delivery), inputIdOf(out.head), delivery);
    });
  }

  private toRecords(outputs: readonly DeviceMessage[], message: MessageHead, key: string, inputId: string | undefined, delivery: Delivery): Built {
    const records: StoredRecord[] = [];
    const many = outputs.length > 1;
    for (let i = 0; i < outputs.length; i++) {
      const item = outputs[i]!;
      const own = item.id === undefined || item.id === null ? undefined : String(item.id);
      // An item the script gave an id of its own (not just the input's id copied along) is named by
      // it, scoped to the item's sensor like a device's; otherwise one output keeps the message's
      // key and several get `${key}#${index}`.
      const id = own !== undefined && own !== inputId ? deviceKey(sensorOf(item), own) : many ? `${key}#${i}` : key;
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
  private checkedRecord(item: DeviceMessage, original: MessageHead, id: string, delivery: Delivery): Built {
    try {
      return this.toRecord(item, original, id, delivery);
    } catch (err) {
      return { ok: false, reason: `the script returned a value that cannot be stored: ${(err as Error).message}`.slice(0, 500), stage: 'script' };
    }
  }

  /** Writes records; a record the database refuses is isolated by halving and reported by index. */
  private async writeIsolating(records: readonly StoredRecord[], offset: number, into: { rejected: Map<number, string>; stored: number; duplicates: number }): Promise<void> {
    try {
      const { stored, duplicates } = await this.options.writer.write(records);
      into.stored += stored;
      into.duplicates += duplicates;
    } catch (err) {
      if (!this.options.writer.isPermanent(err)) throw err;
      if (records.length === 1) {
        into.rejected.set(offset, `database refused the record: ${(err as Error).message}`.slice(0, 500));
        return;
      }
      const half = Math.ceil(records.length / 2);
      await this.writeIsolating(records.slice(0, half), offset, into);
      await this.writeIsolating(records.slice(half), offset + half, into);
    }
  }

  /**
   * Writes until it succeeds, backing off while the database is down; `beforeWrite` runs before each
   * attempt (the stream position's reservation). Returns what was stored, or undefined when
   * `giveUp()` became true first (the batch is not done, and is read again).
   */
  async store(records: readonly StoredRecord[], giveUp: () => boolean, beforeWrite?: () => Promise<void>): Promise<Stored | undefined> {
    for (let attempt = 0; ; attempt++) {
      const result = { rejected: new Map<number, string>(), stored: 0, duplicates: 0 };
      try {
        if (records.length > 0) {
          await beforeWrite?.();
          await this.writeIsolating(records, 0, result);
        }
        this.databaseUp = true;
        this.lastWriteOk = Date.now();
        return result;
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

  /** Processes a batch: an outcome per delivery and what was stored; undefined when abandoned. */
  async process(
    deliveries: readonly Delivery[],
    giveUp: () => boolean,
    beforeWrite?: () => Promise<void>,
  ): Promise<{ outcomes: Outcome[]; stored: number; duplicates: number } | undefined> {
    const { script } = this.options;
    const prepared = script ? await this.prepareScripted(script, deliveries) : deliveries.map((d) => this.prepare(d));
    const records: StoredRecord[] = [];
    const owner: number[] = [];
    prepared.forEach((p, i) => {
      if (p.ok !== true) return;
      for (const r of p.records) {
        records.push(r);
        owner.push(i);
      }
    });
    const result = await this.store(records, giveUp, beforeWrite);
    if (!result) return undefined;
    const refused = new Map<number, string>();
    for (const [index, reason] of result.rejected) if (!refused.has(owner[index]!)) refused.set(owner[index]!, reason);
    const outcomes = prepared.map((p, i): Outcome => {
      if (p.ok === 'skip') return SKIPPED;
      if (!p.ok) return { kind: 'dead', reason: p.reason, stage: p.stage };
      const reason = refused.get(i);
      if (reason !== undefined) return { kind: 'dead', reason, stage: 'database' };
      return p.records.length === 0 ? DROPPED : STORED;
    });
    return { outcomes, stored: result.stored, duplicates: result.duplicates };
  }
}
