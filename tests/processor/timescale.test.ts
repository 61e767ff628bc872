// The processor against the real PostgreSQL here. It has no timescaledb extension, so this covers the
// plain-PostgreSQL path (tables with UNIQUE (msg_id)); the hypertable path's dedupe SQL (the msg_id
// ledger) is exercised on plain PostgreSQL in timescale-writer.test.ts, create_hypertable is not.
import pg from 'pg';
import { sqlName } from '../../processor/src/schema.js';
import { engineSuite, sqlRow } from './engine-suite.js';
import { ensurePostgres, restartPostgres } from './support.js';

const url = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;

async function query<R extends pg.QueryResultRow>(db: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url(db) });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

engineSuite({
  engine: 'timescaledb',
  dbUrl: url,
  rows: async (db, measurement, sensor) => {
    const rows = await query<Record<string, unknown>>(db, `SELECT * FROM ${pg.escapeIdentifier(sqlName(measurement))} WHERE sensor = $1`, [sensor]);
    return rows.map(sqlRow);
  },
  count: async (db, measurement, sensor) => {
    const [row] = await query<{ rows: number; distinct: number }>(
      db,
      `SELECT count(*)::int AS rows, count(DISTINCT msg_id)::int AS distinct FROM ${pg.escapeIdentifier(sqlName(measurement))} WHERE sensor = $1`,
      [sensor],
    );
    return row ?? { rows: 0, distinct: 0 };
  },
  restart: async (downMs) => {
    try {
      await restartPostgres(downMs);
    } finally {
      await ensurePostgres();
    }
  },
  dropDatabase: async (db) => {
    await query('postgres', `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db)} WITH (FORCE)`);
  },
  olderQuery: (db, sql) => query(db, sql),
});
