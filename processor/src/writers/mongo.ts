// MongoDB writer (mongodb). Collection = measurement; one document per record:
//   { _id: msg_id, ts: Date, sensor: string | null, data: { ...fields } }
// Using the message id as _id makes a redelivery a duplicate-key error (code 11000), which an
// unordered insertMany reports per document after inserting all the others: those are ignored,
// any other write error fails the batch.
import { MongoClient, MongoBulkWriteError, type Document } from 'mongodb';
import { databaseName } from '../config.js';
import type { Logger } from '../log.js';
import type { FieldValue } from '../schema.js';
import { CHECKPOINTS, type Checkpoint, type StoredRecord, type WriteResult, type Writer } from './writer.js';

/**
 * The part of the driver's Collection the writer uses: what the fake in the tests stands in for.
 * insertMany resolves to `{ insertedCount }`; a failed unordered insert rejects with an error whose
 * `writeErrors` list each refused document (code 11000 = duplicate _id) and whose `insertedCount`
 * says how many of the others went in.
 */
export interface MongoCollectionLike {
  insertMany(docs: Document[], options: { ordered: false }): Promise<{ insertedCount: number }>;
  findOne(filter: Document): Promise<Document | null>;
  replaceOne(filter: Document, replacement: Document, options: { upsert: true }): Promise<unknown>;
}

/** The part of the driver's Db the writer uses. */
export interface MongoDbLike {
  collection(name: string): MongoCollectionLike;
  command(command: Document): Promise<Document>;
}

export interface MongoWriterOptions {
  readonly url: string;
  readonly log: Logger;
  /** Injected in tests (a fake); by default a MongoClient for `url`. */
  readonly connect?: () => Promise<{ db: MongoDbLike; close: () => Promise<void> }>;
}

const DUPLICATE_KEY = 11000;
const COLLECTION = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function mongoValue(value: FieldValue): unknown {
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) return JSON.parse(value.json) as unknown;
  return value;
}

/** The document stored for a record. */
export function toDocument(r: StoredRecord): Document {
  const data: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(r.fields)) data[name] = mongoValue(value);
  return { _id: r.id, ts: r.ts, sensor: r.sensor, data };
}

/** True when every error in a bulk write failure is a duplicate key (the document was stored before). */
export function onlyDuplicates(err: unknown): boolean {
  const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
  const list = Array.isArray(writeErrors) ? (writeErrors as { code?: unknown }[]) : writeErrors ? [writeErrors as { code?: unknown }] : [];
  const hasConcern = Boolean((err as { writeConcernError?: unknown }).writeConcernError);
  return list.length > 0 && !hasConcern && list.every((e) => e.code === DUPLICATE_KEY);
}

export class MongoWriter implements Writer {
  private db: MongoDbLike | undefined;
  private closeClient: (() => Promise<void>) | undefined;

  constructor(private readonly options: MongoWriterOptions) {}

  async start(): Promise<void> {
    const connect =
      this.options.connect ??
      (async () => {
        const client = new MongoClient(this.options.url, { serverSelectionTimeoutMS: 5000 });
        await client.connect();
        return { db: client.db(databaseName(this.options.url)), close: () => client.close() };
      });
    const { db, close } = await connect();
    this.db = db;
    this.closeClient = close;
    await this.ping();
    this.options.log.info('mongodb ready');
  }

  async write(records: readonly StoredRecord[]): Promise<WriteResult> {
    if (!this.db) throw new Error('writer not started');
    const byCollection = new Map<string, Document[]>();
    for (const r of records) {
      if (!COLLECTION.test(r.measurement)) throw new MongoRecordError(`measurement '${r.measurement.slice(0, 80)}' is not a valid collection name`);
      const docs = byCollection.get(r.measurement) ?? [];
      docs.push(toDocument(r));
      byCollection.set(r.measurement, docs);
    }
    let stored = 0;
    for (const [name, docs] of byCollection) {
      try {
        stored += (await this.db.collection(name).insertMany(docs, { ordered: false })).insertedCount;
      } catch (err) {
        if (!onlyDuplicates(err)) throw err;
        stored += Number((err as { insertedCount?: unknown }).insertedCount ?? 0);
      }
    }
    return { stored, duplicates: records.length - stored };
  }

  async loadCheckpoint(stream: string): Promise<Checkpoint | undefined> {
    if (!this.db) throw new Error('writer not started');
    const doc = await this.db.collection(CHECKPOINTS).findOne({ _id: stream });
    return doc ? { stream, epoch: Number(doc.epoch), next: Number(doc.next), high: Number(doc.high), fingerprint: String(doc.fingerprint) } : undefined;
  }

  async saveCheckpoint(c: Checkpoint): Promise<void> {
    if (!this.db) throw new Error('writer not started');
    const { stream, ...position } = c;
    await this.db.collection(CHECKPOINTS).replaceOne({ _id: stream }, { ...position, savedAt: new Date() }, { upsert: true });
  }

  isPermanent(err: unknown): boolean {
    if (err instanceof MongoRecordError) return true;
    // A document the server refuses (too large, invalid field name…) fails validation codes; a
    // bulk error that is not a connection problem is about the data.
    // (Checked by name as well as class: the contract, not the driver's class identity, is what counts.)
    const bulk = err instanceof MongoBulkWriteError || (err as { name?: unknown }).name === 'MongoBulkWriteError';
    return bulk && !(err as { writeConcernError?: unknown }).writeConcernError;
  }

  async ping(): Promise<void> {
    if (!this.db) throw new Error('writer not started');
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.closeClient?.();
    this.db = undefined;
  }
}

class MongoRecordError extends Error {
  override readonly name = 'MongoRecordError';
}
