// The one interface every database writer implements, and the record shape they all receive.
import type { FieldValue } from '../schema.js';

/** One row / point / document to store, already checked against the schema. */
export interface StoredRecord {
  /** Idempotency key (see messageKey): a second write with the same id never makes a second row. */
  readonly id: string;
  readonly measurement: string;
  readonly sensor: string | null;
  readonly ts: Date;
  /**
   * True when writing this record again gives it the same `ts`: its time came from the message, or
   * from the broker's stamp while its identity is the stream offset. False for a time the processor
   * made up, and for a device's own re-send (a new broker time): InfluxDB, whose points are keyed by
   * time, must then look for the id before writing.
   */
  readonly repeatable: boolean;
  /** True when the record may have been stored before (its message was read again after a restart). */
  readonly redelivered: boolean;
  readonly fields: Readonly<Record<string, FieldValue>>;
}

/** What a write did: rows newly stored, and records skipped because their id was already stored. */
export interface WriteResult {
  readonly stored: number;
  readonly duplicates: number;
}

/**
 * Where a processor is in its stream, kept in the database it writes to (table, measurement or
 * collection `myt_checkpoints`), so the position survives the processor and travels with backups.
 */
export interface Checkpoint {
  readonly stream: string;
  /** Starts at 0; a new epoch begins when the stream was made again (its offsets restarted). */
  readonly epoch: number;
  /** Every offset below this one is done (stored, dropped or dead-lettered). */
  readonly next: number;
  /** No offset above this one was ever handed to the database: re-reads below it may be duplicates. */
  readonly high: number;
  /** Fingerprint of the message at `next - 1`, to tell the same stream from one made again. */
  readonly fingerprint: string;
}

/** The table, measurement or collection the checkpoints live in. */
export const CHECKPOINTS = 'myt_checkpoints';

export interface Writer {
  /** Connects, creates the database objects from the schema (adding new columns) and checks access. */
  start(): Promise<void>;
  /**
   * Stores a batch atomically where the engine allows, idempotently everywhere: records whose id is
   * already stored are skipped. Throws on failure; `isPermanent` tells a bad record from an outage.
   */
  write(records: readonly StoredRecord[]): Promise<WriteResult>;
  /** True when the error is caused by the data (retrying cannot help), false for outages. */
  isPermanent(err: unknown): boolean;
  /** The stream's last saved checkpoint, if any. */
  loadCheckpoint(stream: string): Promise<Checkpoint | undefined>;
  /** Saves a checkpoint (replacing the stream's previous one). */
  saveCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Drops records whose id appears earlier in the batch for the same measurement (a message published
 * twice in one batch). A device may give one id to readings of two measurements: both are kept.
 */
export function uniqueById(records: readonly StoredRecord[]): StoredRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = `${r.measurement}\n${r.id}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
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
  async write<T>(records: readonly StoredRecord[], isDuplicate: (err: unknown) => boolean, insert: (checked: boolean) => Promise<T>): Promise<T> {
    if (!this.plain(records)) return insert(true);
    try {
      return await insert(false);
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      this.checkUntil = this.now() + this.holdMs;
      return await insert(true);
    }
  }
}
