// MySQL / MariaDB writer (mysql2). One table per declared measurement; rows go in with one
// multi-row INSERT per table per batch (values escaped by mysql2, identifiers by escapeId after our
// own name check), inside one transaction. The UNIQUE msg_id makes redeliveries no-ops; it compares
// bytes (a binary NO PAD collation), since the server's default would take `Abc1` and `abc1`,
// `pad` and `pad `, `e1` and `é1` for one id each.
import { format } from 'mysql2';
import mysql from 'mysql2/promise';
import type { Logger } from '../log.js';
import { isIdentifier, sqlName, type FieldType, type FieldValue, type Schema } from '../schema.js';
import { CHECKPOINTS, DuplicateGuard, groupByTable, type Checkpoint, type StoredRecord, type WriteResult, type Writer } from './writer.js';

const MYSQL_TYPES: Record<FieldType, string> = {
  int: 'INT',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  text: 'TEXT',
  bool: 'BOOLEAN',
  timestamp: 'DATETIME(3)',
  json: 'JSON',
};

// Errors caused by a value (retrying cannot help): out of range, truncated, bad date, bad integer,
// too long, NULL in NOT NULL, invalid JSON (MySQL), CHECK failed (MariaDB's JSON_VALID).
// 1153 (packet larger than max_allowed_packet) is the batch's size, not an outage: halving it is
// the cure, and a single record that is still too large is dead-lettered.
const DATA_ERRNOS = new Set([1048, 1153, 1264, 1265, 1292, 1366, 1406, 3140, 4025]);

/** Room left in a packet for the protocol's own header around a statement. */
const PACKET_HEADROOM = 1024;

/**
 * A statement larger than the server's max_allowed_packet. It is never sent: MariaDB answers one by
 * dropping the connection rather than with error 1153, which looks like an outage and would be
 * retried forever. Halving the batch is the cure; a single row that is still too large is refused.
 */
class PacketTooLargeError extends Error {
  override readonly name = 'PacketTooLargeError';
}

export interface MysqlWriterOptions {
  readonly url: string;
  readonly schema: Schema;
  readonly log: Logger;
  /** Pool size: one connection per batch in flight. Default 2. */
  readonly connections?: number;
}

export function quoteIdent(name: string): string {
  if (!isIdentifier(name)) throw new Error(`refusing SQL identifier '${name.slice(0, 80)}'`);
  return mysql.escapeId(name);
}

function connectionOptions(url: string): mysql.PoolOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password) || undefined,
    database: u.pathname.slice(1),
    timezone: 'Z',
    connectTimeout: 5000,
    // affectedRows then counts only rows inserted: a duplicate left unchanged by ON DUPLICATE KEY
    // UPDATE counts 0, not 1 (the rows-stored metric must not count duplicates).
    flags: ['-FOUND_ROWS'],
    supportBigNumbers: true,
    bigNumberStrings: true,
    queryFormat: formatQuery,
    // mysql2 otherwise captures a stack trace per query to decorate errors; ours are logged by
    // message only, and the capture was ~1% of the processor's CPU at full rate.
    trace: false,
  };
}

/**
 * mysql2 scans every statement for `?` placeholders, even one sent without values; the batch INSERT
 * is tens of kB whose values are already escaped, so statements without values skip that scan.
 * Others are formatted as mysql2 would, in the connection's time zone.
 */
export function formatQuery(sql: string, values: Parameters<typeof format>[1], timezone?: Parameters<typeof format>[3]): string {
  return values === undefined || (Array.isArray(values) && values.length === 0) ? sql : format(sql, values, false, timezone);
}

// The text of the minute last formatted: a batch's times mostly share it (see sqlTime).
let minute = { number: Number.NaN, text: '' };

/**
 * A time as a DATETIME(3) literal, 'YYYY-MM-DD HH:MM:SS.mmm' in UTC. Only the seconds are formatted
 * per row; toISOString per row was a twentieth of the processor's time on MariaDB (hot path).
 */
export function sqlTime(value: Date): string {
  const ms = value.getTime();
  const number = Math.floor(ms / 60_000);
  if (number !== minute.number) minute = { number, text: `'${new Date(number * 60_000).toISOString().slice(0, 17).replace('T', ' ')}` };
  const within = ms - number * 60_000;
  const seconds = Math.floor(within / 1000);
  const millis = within % 1000;
  return `${minute.text}${seconds < 10 ? '0' : ''}${seconds}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}'`;
}

/**
 * One value as SQL text. Text goes through mysql2's escape (quotes and backslashes); numbers,
 * booleans, NULL and times are written plainly. Building the VALUES list here instead of with
 * mysql2's placeholder formatting halves the processor's CPU per row (hot path).
 */
export function sqlLiteral(value: FieldValue | undefined): string {
  if (value === undefined || value === null) return 'NULL';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return sqlTime(value);
  return mysql.escape(typeof value === 'object' ? value.json : value);
}

/**
 * The rows as a VALUES list, `(ts,sensor,msg_id,fields…),(…)`. One loop appending to one string:
 * per-row arrays and joins made MariaDB runs spend a quarter of the processor's time collecting
 * garbage (hot path).
 */
export function valuesList(rows: readonly StoredRecord[], fields: readonly string[]): string {
  let out = '';
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out += `${i === 0 ? '(' : ',('}${sqlLiteral(r.ts)},${sqlLiteral(r.sensor)},${sqlLiteral(r.id)}`;
    for (let f = 0; f < fields.length; f++) out += `,${sqlLiteral(r.fields[fields[f]!])}`;
    out += ')';
  }
  return out;
}

export class MysqlWriter implements Writer {
  private pool: mysql.Pool | undefined;
  private readonly prepared = new WeakSet<object>();
  private readonly guard = new DuplicateGuard();
  private maxPacket = 4 * 1024 * 1024;

  constructor(private readonly options: MysqlWriterOptions) {}

  async start(): Promise<void> {
    const settings = connectionOptions(this.options.url);
    const admin = await mysql.createConnection({ ...settings, database: undefined });
    try {
      await admin.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(settings.database ?? '')} CHARACTER SET utf8mb4`);
    } finally {
      await admin.end();
    }
    const pool = (this.pool = mysql.createPool({ ...settings, connectionLimit: this.options.connections ?? 2 }));
    const [[server]] = await pool.query<mysql.RowDataPacket[]>('SELECT @@max_allowed_packet AS packet, @@version AS version');
    this.maxPacket = Number(server?.packet ?? this.maxPacket);
    // Byte-wise, trailing spaces significant: MariaDB's utf8mb4_bin pads, its nopad_bin does not;
    // MySQL 8's utf8mb4_0900_bin is NO PAD.
    const binary = /mariadb/i.test(String(server?.version)) ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
    const msgId = `VARCHAR(512) CHARACTER SET utf8mb4 COLLATE ${binary} NOT NULL`;
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${CHECKPOINTS} (stream VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${binary} PRIMARY KEY, ` +
        '`epoch` INT NOT NULL, `next` BIGINT NOT NULL, `high` BIGINT NOT NULL, fingerprint VARCHAR(100) NOT NULL, saved_at DATETIME(3) NOT NULL) ENGINE=InnoDB',
    );
    for (const [declared, fields] of Object.entries(this.options.schema)) {
      const table = sqlName(declared);
      const t = quoteIdent(table);
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${t} (ts DATETIME(3) NOT NULL, sensor VARCHAR(255), msg_id ${msgId}, ` +
          `UNIQUE KEY msg_id (msg_id), KEY ts (ts)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      );
      const [rows] = await pool.query<mysql.RowDataPacket[]>(
        'SELECT COLUMN_NAME AS name, COLLATION_NAME AS collation FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [table],
      );
      const existing = new Map(rows.map((r) => [String(r.name).toLowerCase(), String(r.collation)]));
      // A table made by an earlier version compared ids without case: make it compare bytes.
      if (existing.get('msg_id') !== binary) await pool.query(`ALTER TABLE ${t} MODIFY msg_id ${msgId}`);
      // MySQL has no ADD COLUMN IF NOT EXISTS (MariaDB does): compare with the catalogue instead.
      for (const [field, type] of Object.entries(fields)) {
        if (!existing.has(sqlName(field))) await pool.query(`ALTER TABLE ${t} ADD COLUMN ${quoteIdent(sqlName(field))} ${MYSQL_TYPES[type]}`);
      }
    }
    this.options.log.info('mysql ready', { tables: Object.keys(this.options.schema), maxAllowedPacket: this.maxPacket });
  }

  async loadCheckpoint(stream: string): Promise<Checkpoint | undefined> {
    if (!this.pool) throw new Error('writer not started');
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(`SELECT \`epoch\`, \`next\`, \`high\`, fingerprint FROM ${CHECKPOINTS} WHERE stream = ?`, [stream]);
    const row = rows[0];
    return row && { stream, epoch: Number(row.epoch), next: Number(row.next), high: Number(row.high), fingerprint: String(row.fingerprint) };
  }

  async saveCheckpoint(c: Checkpoint): Promise<void> {
    if (!this.pool) throw new Error('writer not started');
    await this.pool.query(
      `INSERT INTO ${CHECKPOINTS} (stream, \`epoch\`, \`next\`, \`high\`, fingerprint, saved_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3)) ` +
        'ON DUPLICATE KEY UPDATE `epoch` = VALUES(`epoch`), `next` = VALUES(`next`), `high` = VALUES(`high`), fingerprint = VALUES(fingerprint), saved_at = VALUES(saved_at)',
      [c.stream, c.epoch, c.next, c.high, c.fingerprint],
    );
  }

  async write(records: readonly StoredRecord[]): Promise<WriteResult> {
    const pool = this.pool;
    if (!pool) throw new Error('writer not started');
    const byTable = groupByTable(records, this.options.schema);
    if (byTable.size === 0) return { stored: 0, duplicates: records.length };
    // 1062 = duplicate entry: InnoDB rolls the whole statement back.
    const stored = await this.guard.write(records, (err) => (err as { errno?: unknown }).errno === 1062, (checked) => this.insert(pool, byTable, checked));
    return { stored, duplicates: records.length - stored };
  }

  /** Inserts the rows; returns how many were new. */
  private async insert(pool: mysql.Pool, byTable: Map<string, StoredRecord[]>, checked: boolean): Promise<number> {
    // Built before taking a connection: a statement over the packet limit is never sent.
    const statements: string[] = [];
    for (const [table, rows] of byTable) {
      const fields = Object.keys(this.options.schema[table] ?? {});
      const columns = ['ts', 'sensor', 'msg_id', ...fields.map(sqlName)].map(quoteIdent).join(', ');
      const sql = `INSERT INTO ${quoteIdent(sqlName(table))} (${columns}) VALUES ${valuesList(rows, fields)}${checked ? ' ON DUPLICATE KEY UPDATE msg_id = msg_id' : ''}`;
      const bytes = Buffer.byteLength(sql);
      if (bytes > this.maxPacket - PACKET_HEADROOM) {
        const what = rows.length === 1 ? 'the row' : `${rows.length} rows`;
        throw new PacketTooLargeError(`${what} make a statement of ${bytes} bytes, more than the server's max_allowed_packet (${this.maxPacket} bytes)`);
      }
      statements.push(sql);
    }
    const conn = await pool.getConnection();
    let broken = false;
    try {
      if (!this.prepared.has(conn.connection)) {
        // Strict mode: a bad value is an error (dead-lettered), never silently truncated. The mode is
        // set whole, so NO_BACKSLASH_ESCAPES (which would change how escaped text reads) is off.
        await conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'");
        this.prepared.add(conn.connection);
      }
      // One INSERT is atomic by itself; a transaction is needed only when the batch spans tables.
      const several = statements.length > 1;
      if (several) await conn.beginTransaction();
      let stored = 0;
      // Bounded: a server that stopped answering mid-statement is an outage to retry, not a hang.
      for (const sql of statements) stored += (await conn.query<mysql.ResultSetHeader>({ sql, timeout: 60_000 }))[0].affectedRows;
      if (several) await conn.commit();
      return stored;
    } catch (err) {
      await conn.rollback().catch(() => (broken = true));
      throw err;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  isPermanent(err: unknown): boolean {
    if (err instanceof PacketTooLargeError) return true;
    const errno = (err as { errno?: unknown }).errno;
    return typeof errno === 'number' && DATA_ERRNOS.has(errno);
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
