// `myt dev <platform>`: the platform's processor, with its script, against the local services.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDevCommand } from '../../src/cli/commands/dev.js';
import type { CliContext } from '../../src/cli/context.js';
import { processorNodeFlags } from '../../src/processor/node-flags.js';
import { SSH_PLATFORM, tempRepo } from '../helpers/temp-repo.js';
import { Publisher, deleteBrokerObjects, freePort, uniqueNames, waitFor } from './support.js';

const names = uniqueNames('t_dev');
const DB_URL = `postgres://postgres@127.0.0.1:5432/${names.db}`;

// The shared ssh platform, renamed and given a TimescaleDB table and a script.
const PLATFORM = `${SSH_PLATFORM.replace('name: solo', 'name: lab').replace('engine: influxdb', 'engine: timescaledb')}    tables:
      room_climate:
        temperature: double
        humidity: double
  processor:
    script: processors/lab.ts
    timeoutMs: 1000
`;

const SCRIPT = `interface M { measurement: string; sensor: string; data: { temperature: number; humidity: number } }
export default (m: M) => ({ ...m, data: { ...m.data, temperature: m.data.temperature * 10 } });
`;

function context(cwd: string, env: NodeJS.ProcessEnv): CliContext & { out: string[] } {
  const out: string[] = [];
  return { cwd, env, stdout: (t) => void out.push(t), stderr: (t) => void out.push(t), interactive: false, out };
}

afterAll(async () => {
  await deleteBrokerObjects(names);
  const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(names.db)} WITH (FORCE)`);
  await c.end();
});

describe('myt dev', () => {
  it("runs the platform's processor with its script bundled, storing what devices publish, until stopped", async () => {
    const root = tempRepo({ 'platforms/lab.yaml': PLATFORM, 'processors/lab.ts': SCRIPT, 'secrets/ssh.enc.yaml': 'sops: {}\n' });
    const port = await freePort();
    let stop: (() => void) | undefined;
    let started: string[] = [];
    const command = makeDevCommand({
      onStop: (s) => ((stop = s), () => (stop = undefined)),
      // The real spawn, recording what it was asked to run.
      spawn: (file, args, env) => ((started = args), spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })),
    });
    const ctx = context(root, {
      PATH: process.env.PATH,
      MYT_EXCHANGE: names.exchange,
      MYT_STREAM: names.stream,
      MYT_DEAD_EXCHANGE: names.deadExchange,
      MYT_DEAD_QUEUE: names.deadQueue,
    });
    const running = command.run(['lab', '--db-url', DB_URL, '--metrics-port', String(port)], ctx);
    let publisher: Publisher | undefined;
    try {
      await waitFor('the dev processor to be healthy', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, 30_000, 200);
      publisher = await Publisher.open(names.exchange);
      await publisher.publish(['{"measurement": "room_climate", "sensor": "desk", "data": {"temperature": 2.5, "humidity": 40}}']);
      const rows = await waitFor('the row', async () => {
        const c = new pg.Client({ connectionString: DB_URL });
        await c.connect();
        try {
          const r = await c.query<{ temperature: number; humidity: number }>("SELECT temperature, humidity FROM room_climate WHERE sensor = 'desk'");
          return r.rows.length ? r.rows : undefined;
        } finally {
          await c.end();
        }
      });
      expect(rows).toEqual([{ temperature: 25, humidity: 40 }]);
    } finally {
      await publisher?.close();
      stop?.();
    }
    expect(await running).toBe(0);
    expect(stop).toBeUndefined();
    expect(ctx.out.join('')).toMatch(/running the lab processor \(timescaledb, script processors\/lab\.ts\)/);
    // The same memory caps as on the VM with a script, ahead of the bundle.
    expect(started.slice(0, -1)).toEqual(processorNodeFlags(true));
    expect(started).toContain('--max-semi-space-size=8');
    expect(started.at(-1)).toMatch(/processor\.mjs$/);
  }, 60_000);

  it('names the platforms there are when asked for one that does not exist', async () => {
    const root = tempRepo({ 'platforms/lab.yaml': PLATFORM, 'processors/lab.ts': SCRIPT, 'secrets/ssh.enc.yaml': 'sops: {}\n' });
    await expect(makeDevCommand().run(['nope'], context(root, {}))).rejects.toThrow("no platform named 'nope' (platforms: lab)");
  });

  it('refuses to run when the repository has problems, and lists them', async () => {
    const root = tempRepo({ 'platforms/lab.yaml': PLATFORM.replace('temperature: double', 'temperature: float'), 'processors/lab.ts': SCRIPT, 'secrets/ssh.enc.yaml': 'sops: {}\n' });
    const ctx = context(root, {});
    await expect(makeDevCommand().run(['lab'], ctx)).rejects.toThrow(/the repository has \d+ problem/);
    expect(ctx.out.join('')).toMatch(/platforms\/lab\.yaml:\d+:\d+: error: /);
  });

  it('wants exactly one platform name', async () => {
    await expect(makeDevCommand().run([], context('/', {}))).rejects.toThrow(/name exactly one platform/);
  });
});
