// TimescaleDB / PostgreSQL writer (pg). One table per declared measurement; a hypertable when the
// timescaledb extension is available, a plain table otherwise. Rows go in with one parameterised
// INSERT … SELECT FROM unnest(arrays) per table per batch, inside one transaction.
import { hash } from 'node:crypto';
import pg from 'pg';
import { databaseName } from '../config.js';
import type { Logger } from '../log.js';
import { isIdentifier, sqlName, type FieldType, type FieldValue, type Schema } from '../schema.js';
import { CHECKPOINTS, DuplicateGuard, groupByTable, type Checkpoint, type StoredRecord, type WriteResult, type Writer } from './writer.js';

const PG_TYPES: Record<FieldType, string> = {
  int: 'integer',
  bigint: 'bigint',
  double: 'double precision',
  text: 'text',
  bool: 'boolean',
  timestamp: 'timestamptz',
  json: 'jsonb',
};

/** Side table that makes hypertables idempotent (their unique indexes must include `ts`). */
const LEDGER = 'myt_msg_ids';

/**
 * How a redelivered message is recognised: `unique` = a UNIQUE (msg_id) constraint on the table
 * (plain PostgreSQL); `ledger` = msg_id is first inserted into myt_msg_ids and only new ids reach
 * the table, needed for hypertables, where a unique index must contain the time column and a message
 * without `ts` gets a different time on redelivery.
 */
export type DedupeMode = 'unique' | 'ledger';

export interface TimescaleWriterOptions {
  readonly url: string;
  readonly schema: Schema;
  readonly log: Logger;
  /** Pool size: one connection per batch in flight. Default 2. */
  readonly connections?: number;
  /** Default: 'ledger' when the timescaledb extension is available, else 'unique'. Tests force it. */
  readonly dedupe?: DedupeMode;
  /** Default: create hypertables when the extension is available. */
  readonly hypertables?: boolean;
}

export function quoteIdent(name: string): string {
  if (!isIdentifier(name)) throw new Error(`refusing SQL identifier '${name.slice(0, 80)}'`);
  return pg.escapeIdentifier(name);
}

/**
 * An index's name, `<table>_<column>`, within PostgreSQL's 63 characters. Cutting a longer one short
 * could give two long table names the same index name, or the table's own name (the CREATE INDEX IF
 * NOT EXISTS would then quietly do nothing), so the table part is shortened and told apart by a hash.
 */
export function indexName(table: string, column: string): string {
  const name = `${table}_${column}`;
  if (name.length <= 63) return name;
  const tag = hash('sha256', table, 'hex').slice(0, 8);
  return `${table.slice(0, 63 - column.length - tag.length - 2)}_${tag}_${column}`;
}

/** One element of a PostgreSQL array literal; text is always double-quoted (escaping \\ and "). */
function arrayElement(value: FieldValue | undefined): string {
  if (value === undefined || value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  const text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? value.json : value;
  return /["\\]/.test(text) ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}

/**
 * A column's values as one array literal, sent as a single text parameter ($n::type[]): the same
 * escaping node-postgres applies to JS arrays, without its per-element overhead (hot path).
 */
export function arrayLiteral(values: readonly (FieldValue | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) out += (i > 0 ? ',' : '') + arrayElement(values[i]);
  return `${out}}`;
}

export class TimescaleWriter implements Writer {
  private pool: pg.Pool | undefined;
  private dedupe: DedupeMode = 'unique';
  private readonly statements = new Map<string, string>();
  private readonly guard = new DuplicateGuard();

  constructor(private readonly options: TimescaleWriterOptions) {}

  async start(): Promise<void> {
    await this.createDatabase();
    const pool = new pg.Pool({ connectionString: this.options.url, max: this.options.connections ?? 2, connectionTimeoutMillis: 5000, query_timeout: 60_000 });
    // A dropped idle connection is an outage to retry, never a crash.
    pool.on('error', (err) => this.options.log.warn('postgres connection lost', { error: err.message }));
    this.pool = pool;
    const timescale = await this.timescaleAvailable(pool);
    this.dedupe = this.options.dedupe ?? (timescale ? 'ledger' : 'unique');
    const hypertables = this.options.hypertables ?? timescale;
    // A device's id names one reading of one measurement: the ledger keys ids by their table.
    if (this.dedupe === 'ledger') await pool.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(LEDGER)} (tbl text NOT NULL, msg_id text NOT NULL, PRIMARY KEY (tbl, msg_id))`);
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(CHECKPOINTS)} (stream text PRIMARY KEY, epoch integer NOT NULL, next bigint NOT NULL, ` +
        'high bigint NOT NULL, fingerprint text NOT NULL, saved_at timestamptz NOT NULL DEFAULT now())',
    );
    for (const [declared, fields] of Object.entries(this.options.schema)) {
      const table = sqlName(declared);
      const t = quoteIdent(table);
      const unique = this.dedupe === 'unique' ? `, UNIQUE (msg_id)` : '';
      await pool.query(`CREATE TABLE IF NOT EXISTS ${t} (ts timestamptz NOT NULL, sensor text, msg_id text NOT NULL${unique})`);
      for (const [field, type] of Object.entries(fields)) {
        await pool.query(`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${quoteIdent(sqlName(field))} ${PG_TYPES[type]}`);
      }
      if (!hypertables) await pool.query(`CREATE INDEX IF NOT EXISTS ${quoteIdent(indexName(table, 'ts'))} ON ${t} (ts)`);
      else {
        await pool.query(`SELECT create_hypertable($1::regclass, 'ts', if_not_exists => TRUE, migrate_data => TRUE)`, [t]);
        await pool.query(`CREATE INDEX IF NOT EXISTS ${quoteIdent(indexName(table, 'msg_id'))} ON ${t} (msg_id)`);
      }
    }
    this.options.log.info('postgres ready', { timescaledb: timescale, hypertables, dedupe: this.dedupe, tables: Object.keys(this.options.schema) });
  }

  private async createDatabase(): Promise<void> {
    const name = databaseName(this.options.url);
    const admin = new URL(this.options.url);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.href, connectionTimeoutMillis: 5000 });
    client.on('error', () => {});
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } catch (err) {
      // Two starts racing to create it: the loser sees 42P04 (duplicate database), which is fine.
      if ((err as { code?: string }).code !== '42P04') throw err;
    } finally {
      await client.end();
    }
  }

  async loadCheckpoint(stream: string): Promise<Checkpoint | undefined> {
    if (!this.pool) throw new Error('writer not started');
    const { rows } = await this.pool.query<{ epoch: number; next: string; high: string; fingerprint: string }>(
      `SELECT epoch, next, high, fingerprint FROM ${quoteIdent(CHECKPOINTS)} WHERE stream = $1`,
      [stream],
    );
    const row = rows[0];
    return row && { stream, epoch: row.epoch, next: Number(row.next), high: Number(row.high), fingerprint: row.fingerprint };
  }

  async saveCheckpoint(c: Checkpoint): Promise<void> {
    if (!this.pool) throw new Error('writer not started');
    await this.pool.query(
      `INSERT INTO ${quoteIdent(CHECKPOINTS)} (stream, epoch, next, high, fingerprint, saved_at) VALUES ($1, $2, $3, $4, $5, now()) ` +
        'ON CONFLICT (stream) DO UPDATE SET epoch = EXCLUDED.epoch, next = EXCLUDED.next, high = EXCLUDED.high, fingerprint = EXCLUDED.fingerprint, saved_at = EXCLUDED.saved_at',
      [c.stream, c.epoch, c.next, c.high, c.fingerprint],
    );
  }

  private async timescaleAvailable(pool: pg.Pool): Promise<boolean> {
    const found = await pool.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'");
    if (found.rowCount === 0) return false;
    await pool.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    return true;
  }

  /**
   * The INSERT for one table: parameters are one array per column, so its text never varies with
   * data. `checked` adds the duplicate check (see DuplicateGuard); the ledger path always has it.
   */
  private statement(table: string, checked: boolean): { name: string; text: string } {
    // PostgreSQL cuts a prepared statement's name at 63 characters, so two long table names sharing
    // their start would share a statement (42P05, taken for an outage): named by a hash instead.
    const name = `myt_insert_${checked || this.dedupe === 'ledger' ? 'checked' : 'plain'}_${hash('sha256', table, 'hex').slice(0, 24)}`;
    let text = this.statements.get(name);
    if (text) return { name, text };
    const fields = Object.entries(this.options.schema[table] ?? {});
    const columns = ['ts', 'sensor', 'msg_id', ...fields.map(([f]) => sqlName(f))].map(quoteIdent);
    // ts travels as epoch milliseconds (float8): cheaper to send than ISO text, exact to the ms.
    const types = ['float8', 'text', 'text', ...fields.map(([, type]) => PG_TYPES[type])];
    const arrays = types.map((type, i) => `$${i + 1}::${type}[]`).join(', ');
    const list = columns.join(', ');
    const values = ['to_timestamp(v.ts / 1000.0)', ...columns.slice(1).map((c) => `v.${c}`)].join(', ');
    const t = quoteIdent(sqlName(table));
    const insert = `INSERT INTO ${t} (${list}) SELECT ${values} FROM unnest(${arrays}) AS v(${list})`;
    text =
      this.dedupe === 'ledger'
        ? `WITH fresh AS (INSERT INTO ${quoteIdent(LEDGER)} (tbl, msg_id) SELECT DISTINCT ${pg.escapeLiteral(sqlName(table))}, unnest($3::text[]) ON CONFLICT DO NOTHING RETURNING msg_id) ` +
          `${insert} WHERE v.msg_id IN (SELECT msg_id FROM fresh)`
        : checked
          ? `${insert} ON CONFLICT (msg_id) DO NOTHING`
          : insert;
    this.statements.set(name, text);
    return { name, text };
  }

  private parameters(table: string, records: readonly StoredRecord[]): string[] {
    const fields = Object.keys(this.options.schema[table] ?? {});
    // One pass over the records, appending to each column's literal (no per-column arrays).
    const columns = Array.from({ length: 3 + fields.length }, () => '');
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const sep = i === 0 ? '' : ',';
      columns[0] += sep + String(r.ts.getTime());
      columns[1] += sep + arrayElement(r.sensor);
      columns[2] += sep + arrayElement(r.id);
      for (let f = 0; f < fields.length; f++) columns[f + 3] += sep + arrayElement(r.fields[fields[f]!]);
    }
    return columns.map((c) => `{${c}}`);
  }

  async write(records: readonly StoredRecord[]): Promise<WriteResult> {
    const pool = this.pool;
    if (!pool) throw new Error('writer not started');
    const byTable = groupByTable(records, this.options.schema);
    if (byTable.size === 0) return { stored: 0, duplicates: records.length };
    const stored = await this.guard.write(records, (err) => (err as { code?: unknown }).code === '23505', (checked) => this.insert(pool, byTable, checked));
    return { stored, duplicates: records.length - stored };
  }

  /** Inserts the rows; returns how many were new. */
  private async insert(pool: pg.Pool, byTable: Map<string, StoredRecord[]>, checked: boolean): Promise<number> {
    const client = await pool.connect();
    let broken: Error | undefined;
    // A checked-out client has no listener of the pool's: a connection reset arriving between its
    // queries (a database restart) would be an unhandled 'error' event and crash the process.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    // One INSERT is atomic by itself; a transaction is needed only when the batch spans tables.
    const several = byTable.size > 1;
    try {
      if (several) await client.query('BEGIN');
      let stored = 0;
      // Named: PostgreSQL parses and plans each statement once per connection.
      for (const [table, rows] of byTable) stored += (await client.query({ ...this.statement(table, checked), values: this.parameters(table, rows) })).rowCount ?? 0;
      if (several) await client.query('COMMIT');
      return stored;
    } catch (err) {
      if (several) await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  isPermanent(err: unknown): boolean {
    const code = (err as { code?: unknown }).code;
    // Class 22 = data exception (out of range, bad JSON…), 23 = integrity constraint, 54 = too big.
    return typeof code === 'string' && /^(22|23|54)/.test(code);
  }

  async ping(): Promise<void> {
    if (!this.pool) throw new Error('writer not started');
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool?.end();
    this.pool = undefined;
  }
}
