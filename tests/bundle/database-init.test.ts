// The init scripts of the bundle that the images run on their first start, run here by sh against
// the real servers: the TimescaleDB one with psql against PostgreSQL on 127.0.0.1, the MySQL one
// with the mysql client against MariaDB over its socket (as the image's entrypoint does), each in a
// database of its own. Users are global to a server, so the test gives them names of its own;
// nothing else in the scripts changes.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseInitFile } from '../../src/bundle/database.js';

const run = promisify(execFile);
const tag = `${process.pid}_${Date.now().toString(36)}`;
const db = `myt_init_${tag}`;
const roles = { processor: `myt_processor_${tag}`, grafana: `myt_grafana_${tag}` };
const admin = { host: '127.0.0.1', port: 5432, user: 'postgres' };

async function asAdmin(sql: string): Promise<void> {
  const c = new pg.Client({ ...admin, database: 'postgres' });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const mysqlAdmin = { host: '127.0.0.1', port: 3306, user: 'root' };
const mysqlGrafana = `myt_grafana_${tag}`;

afterAll(async () => {
  await asAdmin(`DROP DATABASE IF EXISTS ${db}`);
  for (const r of Object.values(roles)) await asAdmin(`DROP ROLE IF EXISTS ${r}`);
  const c = await mysql.createConnection(mysqlAdmin);
  await c.query(`DROP DATABASE IF EXISTS ${db}`);
  await c.query(`DROP USER IF EXISTS '${mysqlGrafana}'@'%'`);
  await c.end();
});

describe('the TimescaleDB init script, on PostgreSQL', () => {
  it('makes the processor the owner that creates tables, and Grafana a user that can only read them', async () => {
    const init = databaseInitFile('timescaledb')!;
    const script = init.text.replace('processor="myt_processor"', `processor="${roles.processor}"`).replace('grafana="myt_grafana"', `grafana="${roles.grafana}"`);
    expect(script).not.toBe(init.text);
    await asAdmin(`CREATE DATABASE ${db}`);
    await run('sh', ['-c', script], {
      env: { PATH: process.env.PATH, PGHOST: '127.0.0.1', POSTGRES_USER: 'postgres', POSTGRES_DB: db, MYT_PROCESSOR_DB_PASSWORD: 'processor-pw-1', MYT_GRAFANA_DB_PASSWORD: "grafana-pw-'quoted'" },
    });

    const processor = new pg.Client({ ...admin, user: roles.processor, database: db });
    await processor.connect();
    try {
      await processor.query('CREATE TABLE room_climate (ts timestamptz NOT NULL, sensor text, temperature double precision)');
      await processor.query("INSERT INTO room_climate VALUES (now(), 's1', 21.5)");
    } finally {
      await processor.end();
    }

    const grafana = new pg.Client({ ...admin, user: roles.grafana, database: db });
    await grafana.connect();
    try {
      const rows = await grafana.query<{ temperature: number }>('SELECT temperature FROM room_climate');
      expect(rows.rows).toEqual([{ temperature: 21.5 }]);
      await expect(grafana.query("INSERT INTO room_climate VALUES (now(), 's2', 1)")).rejects.toThrow(/read-only transaction|permission denied/);
      await expect(grafana.query('CREATE TABLE grafana_was_here (x int)')).rejects.toThrow(/read-only transaction|permission denied/);
    } finally {
      await grafana.end();
    }

    // The passwords reached the roles as given, quotes and all (psql's :'var' quoting).
    const c = new pg.Client({ ...admin, database: 'postgres' });
    await c.connect();
    try {
      const r = await c.query<{ rolname: string; has: boolean }>('SELECT rolname, rolpassword IS NOT NULL AS has FROM pg_authid WHERE rolname = ANY($1) ORDER BY rolname', [Object.values(roles)]);
      expect(r.rows.map((x) => x.has)).toEqual([true, true]);
    } finally {
      await c.end();
    }
  }, 60_000);
});

describe('the MySQL init script, on MariaDB', () => {
  it("adds Grafana's user, which can read MyTData and not write it", async () => {
    const init = databaseInitFile('mysql')!;
    const script = init.text.replaceAll("'myt_grafana'", `'${mysqlGrafana}'`);
    expect(script).not.toBe(init.text);
    const root = await mysql.createConnection(mysqlAdmin);
    try {
      await root.query(`CREATE DATABASE ${db}`);
      await root.query(`CREATE TABLE ${db}.spindle (ts DATETIME(3), sensor VARCHAR(255), rpm INT)`);
      await root.query(`INSERT INTO ${db}.spindle VALUES (NOW(3), 's1', 1200)`);
    } finally {
      await root.end();
    }
    // The image runs it with MYSQL_ROOT_PASSWORD set; root logs in over the socket here without one.
    await run('sh', ['-c', script], { env: { PATH: process.env.PATH, MYSQL_ROOT_PASSWORD: '', MYSQL_DATABASE: db, MYT_GRAFANA_DB_PASSWORD: 'grafana-pw_1-x' } });

    const grafana = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: mysqlGrafana, password: 'grafana-pw_1-x', database: db });
    try {
      const [rows] = await grafana.query('SELECT rpm FROM spindle');
      expect(rows).toEqual([{ rpm: 1200 }]);
      await expect(grafana.query("INSERT INTO spindle VALUES (NOW(3), 's2', 1)")).rejects.toThrow(/INSERT command denied/);
    } finally {
      await grafana.end();
    }
    await expect(mysql.createConnection({ host: '127.0.0.1', port: 3306, user: mysqlGrafana, password: 'wrong', database: db })).rejects.toThrow(/Access denied/);
  }, 60_000);
});
