// No MongoDB server runs on this machine, so the MongoDB writer is tested against a FAKE of the two
// driver calls it makes. The contract the fake stands in for (MongoDB's documented behaviour):
//   collection.insertMany(docs, { ordered: false }) inserts every document whose _id is new and
//   resolves to { insertedCount }; each document that fails is reported in `writeErrors` as
//   { index, code } (11000 = duplicate key) and, if any failed, ONE MongoBulkWriteError is thrown
//   after all the others were inserted, its `insertedCount` saying how many were.
//   collection.findOne({ _id }) resolves to the document or null; replaceOne({ _id }, doc,
//   { upsert: true }) replaces it or inserts it.
//   db.command({ ping: 1 }) resolves while the server answers.
// Not exercised here: the real driver, connection loss and recovery, and a real server's limits.
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../processor/src/log.js';
import type { Delivery } from '../../processor/src/message.js';
import { createMetrics } from '../../processor/src/metrics.js';
import { Pipeline } from '../../processor/src/pipeline.js';
import { MongoWriter, onlyDuplicates, toDocument, type MongoCollectionLike, type MongoDbLike } from '../../processor/src/writers/mongo.js';
import type { StoredRecord } from '../../processor/src/writers/writer.js';

/** FAKE MongoDB collection: unique _id, unordered bulk insert semantics, a size limit per document. */
class FakeMongoCollection implements MongoCollectionLike {
  readonly docs = new Map<unknown, Document>();
  constructor(private readonly maxBytes: number) {}

  insertMany(docs: Document[], options: { ordered: false }): Promise<{ insertedCount: number }> {
    expect(options.ordered).toBe(false);
    const writeErrors: { index: number; code: number; errmsg: string }[] = [];
    docs.forEach((doc, index) => {
      if (JSON.stringify(doc).length > this.maxBytes) writeErrors.push({ index, code: 10334, errmsg: 'BSONObjectTooLarge' });
      else if (this.docs.has(doc._id)) writeErrors.push({ index, code: 11000, errmsg: 'E11000 duplicate key error' });
      else this.docs.set(doc._id, structuredClone(doc));
    });
    if (writeErrors.length === 0) return Promise.resolve({ insertedCount: docs.length });
    const insertedCount = docs.length - writeErrors.length;
    return Promise.reject(Object.assign(new Error(writeErrors[0]!.errmsg), { name: 'MongoBulkWriteError', code: writeErrors[0]!.code, writeErrors, insertedCount }));
  }

  findOne(filter: Document): Promise<Document | null> {
    const id: unknown = filter._id;
    const doc = this.docs.get(id);
    return Promise.resolve(doc ? structuredClone(doc) : null);
  }

  replaceOne(filter: Document, replacement: Document, options: { upsert: true }): Promise<unknown> {
    expect(options.upsert).toBe(true);
    const id: unknown = filter._id;
    this.docs.set(id, { _id: id, ...structuredClone(replacement) });
    return Promise.resolve({ acknowledged: true });
  }
}

/** FAKE MongoDB database: named collections and ping. */
class FakeMongoDb implements MongoDbLike {
  readonly collections = new Map<string, FakeMongoCollection>();
  up = true;
  collection(name: string): FakeMongoCollection {
    const c = this.collections.get(name) ?? new FakeMongoCollection(2000);
    this.collections.set(name, c);
    return c;
  }
  command(command: Document): Promise<Document> {
    expect(command).toEqual({ ping: 1 });
    return this.up ? Promise.resolve({ ok: 1 }) : Promise.reject(new Error('connection refused'));
  }
}

const record = (id: string, fields: StoredRecord['fields'], measurement = 'room_climate'): StoredRecord => ({
  id,
  measurement,
  sensor: 'sensor-01',
  ts: new Date(1714564800000),
  repeatable: true,
  redelivered: false,
  fields,
});

async function started(db = new FakeMongoDb()) {
  const writer = new MongoWriter({ url: 'mongodb://unused/MyTData', log: silentLogger, connect: () => Promise.resolve({ db, close: () => Promise.resolve() }) });
  await writer.start();
  return { writer, db };
}

describe('MongoDB writer (against a FAKE collection: no MongoDB server here)', () => {
  it('maps a record to { _id: msg_id, ts, sensor, data } in the collection named after the measurement', () => {
    expect(toDocument(record('id-1', { temperature: 21.5, extra: { json: '{"a":[1]}' }, at: new Date(5) }))).toEqual({
      _id: 'id-1',
      ts: new Date(1714564800000),
      sensor: 'sensor-01',
      data: { temperature: 21.5, extra: { a: [1] }, at: new Date(5) },
    });
  });

  it('stores a redelivered batch once: duplicate-key errors of an unordered insert are ignored', async () => {
    const { writer, db } = await started();
    expect(await writer.write([record('a', { t: 1 }), record('b', { t: 2 })])).toEqual({ stored: 2, duplicates: 0 });
    expect(await writer.write([record('a', { t: 1 }), record('b', { t: 2 }), record('c', { t: 3 })])).toEqual({ stored: 1, duplicates: 2 });
    expect([...db.collection('room_climate').docs.keys()]).toEqual(['a', 'b', 'c']);
  });

  it('keeps the stream checkpoint as one document per stream in myt_checkpoints', async () => {
    const { writer, db } = await started();
    expect(await writer.loadCheckpoint('s')).toBeUndefined();
    await writer.saveCheckpoint({ stream: 's', epoch: 0, next: 5, high: 50_005, fingerprint: 'a' });
    await writer.saveCheckpoint({ stream: 's', epoch: 1, next: 7, high: 50_007, fingerprint: 'b' });
    expect(await writer.loadCheckpoint('s')).toEqual({ stream: 's', epoch: 1, next: 7, high: 50_007, fingerprint: 'b' });
    expect(db.collection('myt_checkpoints').docs.size).toBe(1);
  });

  it('fails the batch on any other write error, which counts as the data’s fault (isolated and dead-lettered)', async () => {
    const { writer, db } = await started();
    const delivery = (id: string, note: string): Delivery => ({
      body: Buffer.from(JSON.stringify({ measurement: 'notes', sensor: 's', id, data: { note } })),
      messageId: undefined,
      source: '@s:0',
      offset: 0,
      brokerTime: undefined,
      redelivered: false,
      receivedAt: 0,
      skip: false,
    });
    const pipeline = new Pipeline({ engine: 'mongodb', schema: undefined, writer, script: undefined, retryMaxMs: 10, log: silentLogger, metrics: createMetrics() });
    const result = await pipeline.process([delivery('n1', 'short'), delivery('n2', 'x'.repeat(5000)), delivery('n3', 'short too')], () => false);
    expect(result?.outcomes.map((o) => o.kind)).toEqual(['stored', 'dead', 'stored']);
    expect([...db.collection('notes').docs.keys()]).toEqual(['["s","n1"]', '["s","n3"]']);
  });

  it('treats a network failure as an outage to retry, not as bad data', async () => {
    const { writer } = await started();
    expect(writer.isPermanent(new Error('connection reset'))).toBe(false);
    expect(onlyDuplicates(Object.assign(new Error('x'), { writeErrors: [{ code: 11000 }], writeConcernError: { code: 64 } }))).toBe(false);
  });

  it('reports the database down through ping', async () => {
    const { writer, db } = await started();
    db.up = false;
    await expect(writer.ping()).rejects.toThrow(/connection refused/);
  });
});
