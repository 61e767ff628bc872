// InfluxDB 1.x writer (influx): measurement = message measurement, tag `sensor`, fields = data, plus
// a `msg_id` string field. A point is identified by measurement, tags and time, so rewriting a point
// with the same time is a no-op: that is the idempotency for messages with a `ts`. A message without
// `ts` gets its receive time, which differs when it comes again. For those, the writer remembers the
// time it gave each recent msg_id (so a copy published again reuses it and overwrites the same point),
// and for redeliveries after a restart (memory lost) it looks for a point with that msg_id in the
// last N hours before writing.
import { FieldType as InfluxFieldType, InfluxDB, escape, type IPoint, type ISchemaOptions } from 'influx';
import { databaseName } from '../config.js';
import type { Logger } from '../log.js';
import type { FieldType, FieldValue, Schema } from '../schema.js';
import type { StoredRecord, Writer } from './writer.js';

const INFLUX_TYPES: Record<FieldType, InfluxFieldType> = {
  int: InfluxFieldType.INTEGER,
  bigint: InfluxFieldType.INTEGER,
  double: InfluxFieldType.FLOAT,
  text: InfluxFieldType.STRING,
  bool: InfluxFieldType.BOOLEAN,
  timestamp: InfluxFieldType.INTEGER,
  json: InfluxFieldType.STRING,
};

// A measurement name is written into line protocol unescaped by the library: allow only names
// that need no escaping.
const MEASUREMENT = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export interface InfluxWriterOptions {
  readonly url: string;
  /** Declared tables, if any: then integer fields are written as integers (`i` suffix). */
  readonly schema: Schema | undefined;
  readonly log: Logger;
  readonly dedupeHours: number;
}

function influxValue(value: FieldValue): number | string | boolean | null {
  if (value instanceof Date) return value.getTime();
  if (value !== null && typeof value === 'object') return value.json;
  return value;
}

/** How many msg_id → time pairs the writer remembers for messages without `ts`. */
const REMEMBERED = 100_000;

export class InfluxWriter implements Writer {
  private readonly db: InfluxDB;
  private readonly database: string;
  private readonly recent = new Map<string, string>();

  constructor(private readonly options: InfluxWriterOptions) {
    this.database = databaseName(options.url);
    const u = new URL(options.url);
    const schema: ISchemaOptions[] = Object.entries(options.schema ?? {}).map(([measurement, fields]) => ({
      measurement,
      tags: ['sensor'],
      fields: {
        msg_id: InfluxFieldType.STRING,
        ...Object.fromEntries(Object.entries(fields).map(([f, type]) => [f, INFLUX_TYPES[type]])),
      },
    }));
    this.db = new InfluxDB({
      host: u.hostname,
      port: u.port ? Number(u.port) : 8086,
      protocol: u.protocol === 'https:' ? 'https' : 'http',
      username: decodeURIComponent(u.username) || undefined,
      password: decodeURIComponent(u.password) || undefined,
      database: this.database,
      schema,
      pool: { requestTimeout: 30_000, maxRetries: 0 },
    });
  }

  async start(): Promise<void> {
    // CREATE DATABASE is idempotent in InfluxDB 1.x.
    await this.db.createDatabase(this.database);
    this.options.log.info('influxdb ready', { schema: this.options.schema ? Object.keys(this.options.schema) : 'none' });
  }

  /** The msg_ids among `ids` that already have a point in `measurement` within the look-back. */
  private async existing(measurement: string, ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 200) {
      const where = ids.slice(i, i + 200).map((id) => `"msg_id" = ${escape.stringLit(id)}`).join(' OR ');
      const rows = await this.db.query<{ msg_id: string }>(
        `SELECT "msg_id" FROM ${escape.measurement(measurement)} WHERE time > now() - ${this.options.dedupeHours}h AND (${where})`,
      );
      for (const row of rows) found.add(row.msg_id);
    }
    return found;
  }

  async write(records: readonly StoredRecord[]): Promise<void> {
    const uncertain = new Map<string, string[]>();
    for (const r of records) {
      if (!MEASUREMENT.test(r.measurement)) throw new InfluxRecordError(`measurement '${r.measurement.slice(0, 80)}' is not a valid name`);
      const remembered = !r.tsFromMessage && this.recent.has(`${r.measurement}\n${r.id}`);
      if (r.redelivered && !r.tsFromMessage && !remembered) uncertain.set(r.measurement, [...(uncertain.get(r.measurement) ?? []), r.id]);
    }
    const skip = new Set<string>();
    for (const [measurement, ids] of uncertain) for (const id of await this.existing(measurement, ids)) skip.add(`${measurement}\n${id}`);
    const points: IPoint[] = [];
    const seen = new Set<string>();
    const times: [string, string][] = [];
    for (const r of records) {
      const key = `${r.measurement}\n${r.id}`;
      if (skip.has(key) || seen.has(key)) continue;
      seen.add(key);
      const nanos = `${r.ts.getTime()}${String(r.seq).padStart(6, '0')}`;
      const time = r.tsFromMessage ? nanos : (this.recent.get(key) ?? nanos);
      if (!r.tsFromMessage) times.push([key, time]);
      const fields: Record<string, unknown> = { msg_id: r.id };
      for (const [name, value] of Object.entries(r.fields)) if (value !== null) fields[name] = influxValue(value);
      points.push({ measurement: r.measurement, tags: r.sensor === null ? {} : { sensor: r.sensor }, fields, timestamp: time });
    }
    if (points.length === 0) return;
    this.remember(times);
    try {
      await this.db.writePoints(points, { precision: 'n' });
    } catch (err) {
      // The library's own schema check throws plain Errors before sending: those are the data's fault.
      if (!(err as { res?: unknown }).res && /^Expected /.test((err as Error).message)) throw new InfluxRecordError((err as Error).message);
      throw err;
    }
  }

  /** Remembers the times given (before the write: a failed write is retried with the same times). */
  private remember(times: readonly [string, string][]): void {
    for (const [key, time] of times) {
      this.recent.delete(key);
      this.recent.set(key, time);
    }
    // A Map iterates in insertion order: the first keys are the oldest.
    for (const key of this.recent.keys()) {
      if (this.recent.size <= REMEMBERED) break;
      this.recent.delete(key);
    }
  }

  isPermanent(err: unknown): boolean {
    if (err instanceof InfluxRecordError) return true;
    // 400 = the server refused the points themselves (field type conflict, bad value); a partial
    // write also answers 400, and re-writing the accepted points is harmless. 413 = the body is
    // too large: a smaller batch is the cure, and retrying the same one never is.
    const status = (err as { res?: { statusCode?: number } }).res?.statusCode;
    return status === 400 || status === 413;
  }

  async ping(): Promise<void> {
    const hosts = await this.db.ping(5000);
    if (!hosts.some((h) => h.online)) throw new Error('InfluxDB does not answer');
  }

  async close(): Promise<void> {
    // The influx client keeps no open connections between requests.
  }
}

class InfluxRecordError extends Error {
  override readonly name = 'InfluxRecordError';
}
