// The one interface every database writer implements, and the record shape they all receive.
import type { FieldValue } from '../schema.js';

/** One row / point / document to store, already checked against the schema. */
export interface StoredRecord {
  /** Idempotency key: a second write with the same id never makes a second row. */
  readonly id: string;
  readonly measurement: string;
  readonly sensor: string | null;
  readonly ts: Date;
  /**
   * Sub-millisecond sequence (0-999999) for records without a `ts` of their own, so messages received
   * in the same millisecond stay distinct InfluxDB points; 0 when `ts` came from the message.
   */
  readonly seq: number;
  /** True when `ts` came from the message (or its AMQP timestamp), so a redelivery repeats it. */
  readonly tsFromMessage: boolean;
  readonly redelivered: boolean;
  readonly fields: Readonly<Record<string, FieldValue>>;
}

export interface Writer {
  /** Connects, creates the database objects from the schema (adding new columns) and checks access. */
  start(): Promise<void>;
  /**
   * Stores a batch atomically where the engine allows, idempotently everywhere: records whose id is
   * already stored are skipped. Throws on failure; `isPermanent` tells a bad record from an outage.
   */
  write(records: readonly StoredRecord[]): Promise<void>;
  /** True when the error is caused by the data (retrying cannot help), false for outages. */
  isPermanent(err: unknown): boolean;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Drops records whose id appears earlier in the batch (a message published twice in one batch). */
export function uniqueById(records: readonly StoredRecord[]): StoredRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
}

/**
 * The batch's records by table (SQL engines: one table per declared measurement), duplicates
 * dropped. A record for an undeclared measurement is a programming error here: the pipeline
 * dead-letters those before a batch reaches a writer.
 */
export function groupByTable(records: readonly StoredRecord[], schema: object): Map<string, StoredRecord[]> {
  const byTable = new Map<string, StoredRecord[]>();
  for (const r of uniqueById(records)) {
    if (!Object.hasOwn(schema, r.measurement)) throw new Error(`measurement '${r.measurement}' is not declared`);
    const list = byTable.get(r.measurement);
    if (list) list.push(r);
    else byTable.set(r.measurement, [r]);
  }
  return byTable;
}

/**
 * When a SQL batch may go in as a plain INSERT, without the per-row duplicate check (ON CONFLICT /
 * ON DUPLICATE KEY), which costs PostgreSQL about a fifth of its time per row. A plain INSERT that
 * meets a stored id fails as a whole, so nothing is stored twice: the writer then repeats the batch
 * with the check. Redelivered batches, and every batch for a while after a duplicate was met
 * (a device resending the same id), take the checked path straight away.
 */
export class DuplicateGuard {
  private checkUntil = 0;

  constructor(
    private readonly holdMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the batch may skip the duplicate check. */
  private plain(records: readonly StoredRecord[]): boolean {
    return this.now() >= this.checkUntil && !records.some((r) => r.redelivered);
  }

  /** Inserts plainly when allowed; on a duplicate-key error, again with the check. */
  async write(records: readonly StoredRecord[], isDuplicate: (err: unknown) => boolean, insert: (checked: boolean) => Promise<void>): Promise<void> {
    if (!this.plain(records)) return insert(true);
    try {
      await insert(false);
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      this.checkUntil = this.now() + this.holdMs;
      await insert(true);
    }
  }
}
