// Two processor replicas as the bundle runs them, against the real RabbitMQ and PostgreSQL here:
// the bundle's topology imported into a virtual host of its own, each replica the built processor
// (the bundle's processor/main.mjs) with the node flags and the environment compose.yaml gives it
// (only the URLs and the metrics port are this machine's). Every confirmed message is stored exactly
// once, while one replica is killed with SIGKILL halfway and started again, as Docker's restart
// policy would: its stream keeps what arrived meanwhile.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePlatform, type ResolvedPlatform } from '../../src/config/defaults.js';
import { PROCESSOR_MAIN } from '../../src/processor/bundle.js';
import { freePort, Publisher, startChild, streamEnd, waitFor, type Child } from '../processor/support.js';
import { composeOf, examplePlatforms, importTopology, type ImportedTopology } from './helpers.js';

const db = `myt_replicas_${process.pid}_${Date.now().toString(36)}`;
const N = 3000;
let platform: ResolvedPlatform;
let topology: ImportedTopology;
const children: Child[] = [];

beforeAll(async () => {
  const greenhouse = (await examplePlatforms()).find((p) => p.metadata.name === 'greenhouse')!;
  // Its table, no script (the script is the user's; what is tested here is the replicas).
  platform = resolvePlatform({ ...greenhouse, spec: { ...greenhouse.spec, processor: { replicas: 2 } } });
  topology = await importTopology(platform, 'myt-replicas');
}, 180_000);

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
  await topology?.remove();
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await c.end();
});

async function replica(i: number): Promise<Child> {
  const bundleEnv = composeOf(platform).services[`processor-${i}`]!.environment!;
  const env = {
    PATH: process.env.PATH,
    ...bundleEnv,
    MYT_AMQP_URL: topology.url,
    MYT_DB_URL: `postgres://postgres@127.0.0.1:5432/${db}`,
    MYT_METRICS_HOST: '127.0.0.1',
    MYT_METRICS_PORT: String(await freePort()),
  };
  const child = startChild(PROCESSOR_MAIN, env);
  children.push(child);
  await child.healthy(60_000);
  return child;
}

async function stored(): Promise<{ rows: number; distinct: number }> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: db });
  await c.connect();
  try {
    const r = await c.query<{ rows: string; distinct: string }>('SELECT count(*) AS rows, count(DISTINCT temperature) AS distinct FROM room_climate');
    return { rows: Number(r.rows[0]!.rows), distinct: Number(r.rows[0]!.distinct) };
  } finally {
    await c.end();
  }
}

const reading = (i: number) => ({ measurement: 'room_climate', sensor: `s${i % 7}`, id: `m${i}`, data: { temperature: i, humidity: 50, label: 'replicas' } });

describe('two processor replicas of the bundle', () => {
  it('store every message exactly once, including when one is killed', async () => {
    expect(composeOf(platform).services['processor-1']!.environment!.MYT_STREAM).toBe('myt.readings.1');
    await replica(0);
    const second = await replica(1);
    const publisher = await Publisher.open('data', topology.url);
    try {
      await publisher.publish(Array.from({ length: N / 2 }, (_, i) => reading(i)));
      await waitFor('some rows stored', async () => (await stored()).rows > N / 4, 60_000, 200);
      // Both streams received a share (the spread exchange picks one at random per message): each
      // has a last offset. (list_queues' message counts of streams lag, so they are not asked.)
      for (const stream of ['myt.readings.0', 'myt.readings.1']) expect(await streamEnd(stream, topology.url), stream).toBeGreaterThan(0);

      expect(await second.stop('SIGKILL')).toBeNull();
      await publisher.publish(Array.from({ length: N / 2 }, (_, i) => reading(N / 2 + i)));
      await replica(1); // restarted, as restart: unless-stopped does
      await waitFor(`${N} rows`, async () => (await stored()).rows >= N, 120_000, 250);
    } finally {
      await publisher.close();
    }
    // A moment more for anything read twice to show up as a second row; then exactly N, all different.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await stored()).toEqual({ rows: N, distinct: N });
  }, 300_000);
});
