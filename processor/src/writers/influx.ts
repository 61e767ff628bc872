// InfluxDB 1.x writer: measurement = message measurement, tag `sensor`, fields = data, plus a
// `msg_id` string field. A point is keyed by measurement, tags and time, so two readings with the
// same time and sensor would be one point: the nanoseconds below a reading's millisecond carry a
// hash of its identity instead, and writing a record again at the same time lands on the same point.
// That is the idempotency of every record whose time is repeatable (see StoredRecord.repeatable).
// A device's re-send of an id it sent before comes with a new time: the writer remembers the recent
// device ids it stored and skips them, and for records read again after a restart it looks for a
// point with that msg_id before writing.
import { databaseName } from '../config.js';
import type { Logger } from '../log.js';
import { isStreamKey } from '../message.js';
import type { FieldType, FieldValue, Schema } from '../schema.js';
import { identifier, InfluxHttp, InfluxHttpError, stringLiteral } from './influx-http.js';
import { booleanValue, floatValue, integerValue, pointLine, quoteString, type LineValue } from './line-protocol.js';
import { CHECKPOINTS, type Checkpoint, type StoredRecord, type WriteResult, type Writer } from './writer.js';

// Only names that need no escaping anywhere (line protocol, InfluxQL identifiers).
const MEASUREMENT = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export interface InfluxWriterOptions {
  readonly url: string;
  /** Declared tables, if any: then int/bigint fields are written as integers, exactly. */
  readonly schema: Schema | undefined;
  readonly log: Logger;
  readonly dedupeHours: number;
}

/** A value as the line protocol writes it, by its declared type (or by its JavaScript type without one). */
export function lineValue(value: Exclude<FieldValue, null>, type: FieldType | undefined): LineValue {
  if (value instanceof Date) return integerValue(value.getTime());
  if (typeof value === 'object') return quoteString(value.json);
  if (type === 'int' || type === 'bigint') return integerValue(value as number | string);
  if (typeof value === 'boolean') return booleanValue(value);
  if (typeof value === 'number') return floatValue(value);
  return quoteString(value);
}

/**
 * Six digits of nanoseconds from a record's identity (FNV-1a): distinct records in one millisecond
 * of one sensor stay distinct points (a clash takes two ids with equal digits: about one in a million).
 */
export function identityNanos(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return String((h >>> 0) % 1_000_000).padStart(6, '0');
}

/** How many device ids (per measurement) the writer remembers having stored. */
const REMEMBERED = 100_000;

export class InfluxWriter implements Writer {
  private readonly http: InfluxHttp;
  private readonly database: string;
  /** Recently stored device ids, oldest first (a Set iterates in insertion order). */
  private readonly recent = new Set<string>();

  constructor(private readonly options: InfluxWriterOptions) {
    this.database = databaseName(options.url);
    this.http = new InfluxHttp(options.url);
  }

  async start(): Promise<void> {
    // On the VM the database exists already and the processor's user is no admin, which CREATE
    // DATABASE needs (even when the database exists): create it only where it is missing (myt dev).
    const databases = await this.http.query(undefined, 'SHOW DATABASES');
    if (!databases.some((row) => row.name === this.database)) await this.http.query(undefined, `CREATE DATABASE ${identifier(this.database)}`);
    this.options.log.info('influxdb ready', { schema: this.options.schema ? Object.keys(this.options.schema) : 'none' });
  }

  /** The msg_ids among `ids` that already have a point in `measurement` between the two times (ns). */
  private async existing(measurement: string, ids: readonly string[], fromNs: string, toNs: string): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 200) {
      const where = ids.slice(i, i + 200).map((id) => `"msg_id" = ${stringLiteral(id)}`).join(' OR ');
      const rows = await this.http.query(this.database, `SELECT "msg_id" FROM ${identifier(measurement)} WHERE time >= ${fromNs} AND time <= ${toNs} AND (${where})`);
      for (const row of rows) found.add(String(row.msg_id));
    }
    return found;
  }

  /** Records read again after a restart that already have a point: skipped, and counted as duplicates. */
  private async alreadyStored(records: readonly StoredRecord[]): Promise<Set<string>> {
    const uncertain = new Map<string, { ids: string[]; from: number; to: number }>();
    const lookBack = Date.now() - this.options.dedupeHours * 3_600_000;
    for (const r of records) {
      if (!r.redelivered) continue;
      const ms = r.repeatable ? r.ts.getTime() : Math.min(r.ts.getTime(), lookBack);
      const entry = uncertain.get(r.measurement) ?? { ids: [], from: ms, to: ms };
      entry.ids.push(r.id);
      entry.from = Math.min(entry.from, ms);
      entry.to = Math.max(entry.to, r.ts.getTime(), r.repeatable ? 0 : Date.now());
      uncertain.set(r.measurement, entry);
    }
    const skip = new Set<string>();
    for (const [measurement, { ids, from, to }] of uncertain) {
      for (const id of await this.existing(measurement, ids, `${from}000000`, `${to}999999`)) skip.add(`${measurement}\n${id}`);
    }
    return skip;
  }

  async write(records: readonly StoredRecord[]): Promise<WriteResult> {
    for (const r of records) {
      if (!MEASUREMENT.test(r.measurement)) throw new InfluxRecordError(`measurement '${r.measurement.slice(0, 80)}' is not a valid name`);
    }
    const skip = await this.alreadyStored(records);
    const lines: string[] = [];
    const seen = new Set<string>();
    const devices: string[] = [];
    for (const r of records) {
      const key = `${r.measurement}\n${r.id}`;
      if (skip.has(key) || seen.has(key) || this.recent.has(key)) continue;
      seen.add(key);
      if (!isStreamKey(r.id)) devices.push(key);
      const declared = this.options.schema?.[r.measurement];
      const fields: Record<string, LineValue> = { msg_id: quoteString(r.id) };
      for (const name in r.fields) {
        const value = r.fields[name];
        if (value !== null && value !== undefined) fields[name] = lineValue(value, declared?.[name]);
      }
      lines.push(pointLine(r.measurement, r.sensor === null ? {} : { sensor: r.sensor }, fields, `${r.ts.getTime()}${identityNanos(r.id)}`));
    }
    if (lines.length > 0) {
      await this.post(lines.join('\n'));
      this.remember(devices);
    }
    return { stored: lines.length, duplicates: records.length - lines.length };
  }

  private async post(lines: string): Promise<void> {
    await this.http.write(this.database, lines);
  }

  /** Remembers device ids once they are stored (never before: a failed write is tried again). */
  private remember(keys: readonly string[]): void {
    for (const key of keys) this.recent.add(key);
    for (const key of this.recent) {
      if (this.recent.size <= REMEMBERED) break;
      this.recent.delete(key);
    }
  }

  async loadCheckpoint(stream: string): Promise<Checkpoint | undefined> {
    const rows = await this.http.query(this.database, `SELECT "epoch", "next", "high", "fingerprint" FROM ${CHECKPOINTS} WHERE "stream" = ${stringLiteral(stream)}`);
    const row = rows[0];
    return row && { stream, epoch: Number(row.epoch), next: Number(row.next), high: Number(row.high), fingerprint: String(row.fingerprint) };
  }

  async saveCheckpoint(c: Checkpoint): Promise<void> {
    // Always at time 0: each save overwrites the one point of its stream.
    const fields = { epoch: integerValue(c.epoch), next: integerValue(c.next), high: integerValue(c.high), fingerprint: quoteString(c.fingerprint) };
    await this.post(pointLine(CHECKPOINTS, { stream: c.stream }, fields, '0'));
  }

  isPermanent(err: unknown): boolean {
    if (err instanceof InfluxRecordError) return true;
    // 400 = the server refused the points themselves (field type conflict, bad value); a partial
    // write also answers 400, and re-writing the accepted points is harmless. 413 = the body is
    // too large: a smaller batch is the cure, and retrying the same one never is.
    return err instanceof InfluxHttpError && (err.status === 400 || err.status === 413);
  }

  async ping(): Promise<void> {
    await this.http.ping(5000);
  }

  async close(): Promise<void> {
    // Nothing held open: fetch keeps its sockets in Node's shared pool.
  }
}

class InfluxRecordError extends Error {
  override readonly name = 'InfluxRecordError';
}
