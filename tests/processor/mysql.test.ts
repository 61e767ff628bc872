// The processor against the real MariaDB here (the mysql engine; MariaDB speaks the same protocol).
import mysql from 'mysql2/promise';
import { engineSuite, sqlRow } from './engine-suite.js';
import { ensureMariadb, sleep, stopMariadb } from './support.js';

const url = (db: string) => `mysql://root@127.0.0.1:3306/${db}`;

async function query<R>(db: string | undefined, sql: string, params: unknown[] = []): Promise<R[]> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: db, timezone: 'Z' });
  try {
    const [rows] = await conn.query(sql, params);
    return rows as R[];
  } finally {
    await conn.end();
  }
}

engineSuite({
  engine: 'mysql',
  dbUrl: url,
  rows: async (db, measurement, sensor) => {
    const rows = await query<Record<string, unknown>>(db, `SELECT * FROM ${mysql.escapeId(measurement)} WHERE sensor = ?`, [sensor]);
    return rows.map(sqlRow);
  },
  count: async (db, measurement, sensor) => {
    const [row] = await query<{ rows: number; distinct: number }>(
      db,
      `SELECT count(*) AS \`rows\`, count(DISTINCT msg_id) AS \`distinct\` FROM ${mysql.escapeId(measurement)} WHERE sensor = ?`,
      [sensor],
    );
    return { rows: Number(row?.rows ?? 0), distinct: Number(row?.distinct ?? 0) };
  },
  restart: async (downMs) => {
    try {
      await stopMariadb();
      await sleep(downMs);
    } finally {
      await ensureMariadb();
    }
  },
  dropDatabase: async (db) => {
    await query(undefined, `DROP DATABASE IF EXISTS ${mysql.escapeId(db)}`);
  },
});
