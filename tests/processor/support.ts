// Shared by the processor's integration tests and its benchmark: isolated broker names, a confirming
// publisher, the bundled processor as a child process, server restarts, bounded waits.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import amqp from 'amqplib';
import { bundleProcessor } from '../../src/processor/bundle.js';
import { PROCESSOR_NODE_FLAGS } from '../../src/processor/node-flags.js';

const run = promisify(execFile);

export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export interface Names {
  readonly exchange: string;
  readonly stream: string;
  readonly deadExchange: string;
  readonly deadQueue: string;
  /** A database name, unique to the test file (and run). */
  readonly db: string;
}

export function uniqueNames(prefix: string): Names {
  const tag = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  return { exchange: `${tag}.data`, stream: `${tag}.stream`, deadExchange: `${tag}.dead`, deadQueue: `${tag}.deadq`, db: tag.replace(/\W/g, '_') };
}

/** The processor's stream arguments by default (MYT_STREAM_MAX_AGE, MYT_STREAM_MAX_BYTES). */
export const STREAM_ARGUMENTS = { 'x-queue-type': 'stream', 'x-max-age': '7D', 'x-max-length-bytes': 10_000_000_000 };

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * Publishes like a device running the older code (pika): declares the exchange as pika's defaults
 * do (fanout, not durable), publishes with no properties unless given, and, unlike pika, waits for
 * publisher confirms so the test knows exactly what the broker accepted.
 */
export class Publisher {
  private constructor(
    private readonly connection: amqp.ChannelModel,
    readonly channel: amqp.ConfirmChannel,
    private readonly exchange: string,
  ) {}

  static async open(exchange: string, url = AMQP_URL): Promise<Publisher> {
    const connection = await amqp.connect(url);
    // A broker restart (some tests cause one) must fail the awaiting call, not crash the runner.
    connection.on('error', () => {});
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => {});
    await channel.assertExchange(exchange, 'fanout', { durable: false, autoDelete: false });
    return new Publisher(connection, channel, exchange);
  }

  /**
   * Publishes bodies and waits until the broker confirmed every one. `stampLikeBroker` stands in for
   * RabbitMQ >= 3.12's set_header_timestamp interceptor, which the VM's broker runs and this machine's
   * RabbitMQ 3.10 lacks: it sets the `timestamp_in_ms` header to the time of publishing, as the broker
   * would on receipt.
   */
  async publish(bodies: readonly (string | object)[], options: amqp.Options.Publish = {}, stampLikeBroker = false): Promise<void> {
    for (let i = 0; i < bodies.length; i += 500) {
      for (const body of bodies.slice(i, i + 500)) {
        const content = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
        const headers = options.headers as Record<string, unknown> | undefined;
        const stamped = stampLikeBroker ? { ...options, headers: { ...headers, timestamp_in_ms: Date.now() } } : options;
        this.channel.publish(this.exchange, '', content, stamped);
      }
      await this.channel.waitForConfirms();
    }
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }
}

/** Declares the stream and the dead-letter queue the way the processor does, so nothing published before it starts is lost. */
export async function declareLikeProcessor(names: Names): Promise<void> {
  const c = await amqp.connect(AMQP_URL);
  try {
    const ch = await c.createChannel();
    await ch.assertExchange(names.exchange, 'fanout', { durable: false, autoDelete: false });
    await ch.assertExchange(names.deadExchange, 'fanout', { durable: true });
    await ch.assertQueue(names.deadQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.bindQueue(names.deadQueue, names.deadExchange, '');
    await ch.assertQueue(names.stream, { durable: true, arguments: STREAM_ARGUMENTS });
    await ch.bindQueue(names.stream, names.exchange, '');
  } finally {
    await c.close();
  }
}

export interface DeadLetter {
  readonly body: string;
  readonly reason: string;
  readonly properties: amqp.MessageProperties;
}

/** Takes every message from the dead-letter queue (acknowledging them). */
export async function drainDeadLetters(queue: string): Promise<DeadLetter[]> {
  const c = await amqp.connect(AMQP_URL);
  try {
    const ch = await c.createChannel();
    const letters: DeadLetter[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) return letters;
      letters.push({ body: m.content.toString(), reason: String((m.properties.headers ?? {})['x-myt-reason'] ?? ''), properties: m.properties });
    }
  } finally {
    await c.close();
  }
}

/**
 * The offset of the last message in a stream now (-1 when empty): a consumer from 'last' gets the
 * stream's last chunk at once, and the highest offset in it is the end.
 */
export async function streamEnd(stream: string, url = AMQP_URL): Promise<number> {
  const c = await amqp.connect(url);
  try {
    const ch = await c.createChannel();
    await ch.prefetch(1000);
    let end = -1;
    const { consumerTag } = await ch.consume(
      stream,
      (m) => {
        if (!m) return;
        end = Math.max(end, Number(m.properties.headers?.['x-stream-offset']));
        ch.ack(m);
      },
      { arguments: { 'x-stream-offset': 'last' } },
    );
    await sleep(300);
    await ch.cancel(consumerTag);
    return end;
  } finally {
    await c.close();
  }
}

export async function queueDepth(queue: string): Promise<number> {
  const c = await amqp.connect(AMQP_URL);
  try {
    return (await (await c.createChannel()).checkQueue(queue)).messageCount;
  } finally {
    await c.close();
  }
}

export async function deleteBrokerObjects(names: Names): Promise<void> {
  const c = await amqp.connect(AMQP_URL).catch(() => undefined);
  if (!c) return;
  try {
    const ch = await c.createChannel();
    await ch.deleteQueue(names.stream);
    await ch.deleteQueue(names.deadQueue);
    await ch.deleteExchange(names.exchange);
    await ch.deleteExchange(names.deadExchange);
  } catch {
    // already gone
  } finally {
    await c.close().catch(() => {});
  }
}

/** Environment for a processor under test. */
export function processorEnv(names: Names, settings: { engine: string; dbUrl: string; schema?: object; port: number; extra?: Record<string, string> }): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    MYT_AMQP_URL: AMQP_URL,
    MYT_DB_ENGINE: settings.engine,
    MYT_DB_URL: settings.dbUrl,
    ...(settings.schema ? { MYT_SCHEMA: JSON.stringify(settings.schema) } : {}),
    MYT_METRICS_PORT: String(settings.port),
    MYT_METRICS_HOST: '127.0.0.1',
    MYT_EXCHANGE: names.exchange,
    MYT_STREAM: names.stream,
    MYT_DEAD_EXCHANGE: names.deadExchange,
    MYT_DEAD_QUEUE: names.deadQueue,
    MYT_RETRY_MAX_MS: '1000',
    ...settings.extra,
  };
}

/** Bundles the processor (with a script, if given) into a temporary file, as the VM gets it. */
export async function bundleForTest(script?: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'myt-processor-'));
  const outfile = join(dir, 'processor.mjs');
  await bundleProcessor({ outfile, script });
  return outfile;
}

export interface Child {
  readonly process: ChildProcess;
  readonly logs: string[];
  readonly exited: Promise<number | null>;
  /** Resolves once /healthz answers 200. */
  healthy(timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs a bundled processor as a child process (so a test can kill -9 it), with the flags it has on the VM. */
export function startChild(bundle: string, env: NodeJS.ProcessEnv, nodeArgs: readonly string[] = []): Child {
  const child = spawn(process.execPath, [...PROCESSOR_NODE_FLAGS, ...nodeArgs, bundle], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  child.stdout.on('data', (d: Buffer) => logs.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = Number(env.MYT_METRICS_PORT);
  return {
    process: child,
    logs,
    exited,
    healthy: async (timeoutMs = 30_000) => {
      await waitFor(
        `processor /healthz on port ${port}`,
        async () => {
          if (child.exitCode !== null) throw new Error(`processor exited ${child.exitCode}: ${logs.join('')}`);
          return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
        },
        timeoutMs,
      );
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Metrics of a running processor, by name (first sample of each). */
export async function metricsOf(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) values.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return values;
}

// --- Restarting the real servers (always restored by the caller's finally). -----------------------

async function sh(file: string, args: string[]): Promise<void> {
  await run(file, args, { timeout: 120_000 });
}

export async function postgresUp(): Promise<boolean> {
  return run('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']).then(() => true, () => false);
}

export async function restartPostgres(downMs = 0): Promise<void> {
  const version = readdirSync('/etc/postgresql')[0] ?? '15';
  if (downMs === 0) await sh('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart']);
  else {
    await sh('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'stop', '-m', 'fast']);
    await sleep(downMs);
  }
  await ensurePostgres();
}

export async function ensurePostgres(): Promise<void> {
  if (!(await postgresUp())) {
    const version = readdirSync('/etc/postgresql')[0] ?? '15';
    await sh('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']).catch(() => {});
  }
  await waitFor('postgresql', async () => postgresUp(), 60_000, 200);
}

export async function mariadbUp(): Promise<boolean> {
  return run('mariadb-admin', ['-h', '127.0.0.1', '-u', 'root', 'ping']).then(() => true, () => false);
}

export async function stopMariadb(): Promise<void> {
  await sh('mariadb-admin', ['-h', '127.0.0.1', '-u', 'root', 'shutdown']);
  await waitFor('mariadb to stop', async () => !(await mariadbUp()), 60_000, 200);
}

export async function ensureMariadb(): Promise<void> {
  if (!(await mariadbUp())) await sh('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd']).catch(() => {});
  await waitFor('mariadb', async () => mariadbUp(), 60_000, 200);
}

async function rabbitUp(): Promise<boolean> {
  return amqp.connect(AMQP_URL).then(
    async (c) => (await c.close(), true),
    () => false,
  );
}

/** stop_app/start_app: the broker restarts its application (queues recover, non-durable exchanges vanish). */
export async function stopRabbit(): Promise<void> {
  await sh('rabbitmqctl', ['-q', 'stop_app']);
}

export async function ensureRabbit(): Promise<void> {
  if (!(await rabbitUp())) await sh('rabbitmqctl', ['-q', 'start_app']).catch(() => {});
  await waitFor('rabbitmq', async () => rabbitUp(), 60_000, 200);
}

/**
 * A throwaway MariaDB server configured as the VM's MySQL is (lower_case_table_names=1), in a
 * temporary data directory on a free loopback port: the shared server here keeps its own settings.
 */
export async function startMariadbLikeVm(): Promise<{ url: (db: string) => string; port: number; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'myt-mariadb-'));
  await run('chown', ['mysql:mysql', dir]);
  const settings = ['--no-defaults', `--datadir=${dir}/data`, '--user=mysql', '--lower-case-table-names=1'];
  await run('mariadb-install-db', [...settings, '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 120_000 });
  const port = await freePort();
  const server = spawn('/usr/sbin/mariadbd', [...settings, '--bind-address=127.0.0.1', `--port=${port}`, `--socket=${dir}/sock`, `--pid-file=${dir}/pid`, '--skip-log-bin'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  await waitFor('the throwaway MariaDB', async () => run('mariadb-admin', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', 'ping']).then(() => true), 60_000, 200);
  return {
    port,
    url: (db) => `mysql://root@127.0.0.1:${port}/${db}`,
    stop: async () => {
      server.kill('SIGTERM');
      await exited;
    },
  };
}

export async function influxUp(): Promise<boolean> {
  return fetch('http://127.0.0.1:8086/ping').then((r) => r.status === 204, () => false);
}

export async function stopInflux(): Promise<void> {
  // By its pid file (written by .ci/services.sh), never by process name.
  await sh('start-stop-daemon', ['--stop', '--oknodo', '--retry', '10', '--pidfile', '/run/influxd.pid']);
  await waitFor('influxdb to stop', async () => !(await influxUp()), 30_000, 200);
}

export async function ensureInflux(): Promise<void> {
  if (!(await influxUp())) {
    await sh('start-stop-daemon', ['--start', '--oknodo', '--background', '--make-pidfile', '--pidfile', '/run/influxd.pid', '--exec', '/usr/bin/influxd', '--', '-config', '/etc/influxdb/influxdb.conf']);
  }
  await waitFor('influxdb', async () => influxUp(), 60_000, 200);
}
