// The processor against the real InfluxDB 1.x here, schemaless (InfluxDB platforms declare no tables).
import { InfluxDB, escape } from 'influx';
import { engineSuite } from './engine-suite.js';
import { ensureInflux, sleep, stopInflux } from './support.js';

const influx = new InfluxDB({ host: '127.0.0.1', port: 8086 });

engineSuite({
  engine: 'influxdb',
  dbUrl: (db) => `http://127.0.0.1:8086/${db}`,
  schema: null,
  rows: async (db, measurement, sensor) => {
    const rows = await influx.query<Record<string, unknown>>(
      `SELECT * FROM ${escape.measurement(measurement)} WHERE "sensor" = ${escape.stringLit(sensor)}`,
      { database: db, precision: 'ms' },
    );
    return rows.map(({ time, sensor: s, msg_id, ...fields }) => ({
      ts: (time as Date).getTime(),
      sensor: s as string | null,
      msgId: msg_id as string,
      fields: Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)),
    }));
  },
  count: async (db, measurement, sensor) => {
    const where = `WHERE "sensor" = ${escape.stringLit(sensor)}`;
    const m = escape.measurement(measurement);
    const [all] = await influx.query<{ count: number }>(`SELECT count("msg_id") FROM ${m} ${where}`, { database: db });
    const [distinct] = await influx.query<{ count: number }>(`SELECT count(distinct("msg_id")) FROM ${m} ${where}`, { database: db });
    return { rows: Number(all?.count ?? 0), distinct: Number(distinct?.count ?? 0) };
  },
  restart: async (downMs) => {
    try {
      await stopInflux();
      await sleep(downMs);
    } finally {
      await ensureInflux();
    }
  },
  dropDatabase: async (db) => {
    await influx.dropDatabase(db);
  },
});
