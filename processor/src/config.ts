// The only reader of the processor's environment. Everything is parsed and checked here, once, into
// one typed object; a bad value stops the processor with a message naming the variable (exit code 2).
import { schemaProblems, type Schema } from './schema.js';

export const ENGINES = ['influxdb', 'mongodb', 'timescaledb', 'mysql'] as const;
export type Engine = (typeof ENGINES)[number];

export interface ProcessorConfig {
  readonly amqpUrl: string;
  readonly engine: Engine;
  readonly dbUrl: string;
  /** Path of the bundled script; undefined = the built-in script, if any, else store messages as they come. */
  readonly scriptPath: string | undefined;
  /** Declared tables; undefined only for InfluxDB and MongoDB, which then store any measurement. */
  readonly schema: Schema | undefined;
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly batchSize: number;
  readonly batchMs: number;
  readonly prefetch: number;
  /** Batches in flight at once (database connections used). */
  readonly concurrency: number;
  readonly scriptTimeoutMs: number;
  readonly drainMs: number;
  readonly retryMaxMs: number;
  readonly exchange: string;
  /** An x-random exchange between `exchange` and the stream, when several processors share the work. */
  readonly spreadExchange: string | undefined;
  readonly stream: string;
  /** RabbitMQ's x-max-age of the stream, e.g. 7D. */
  readonly streamMaxAge: string;
  readonly streamMaxBytes: number;
  readonly deadExchange: string;
  readonly deadQueue: string;
  /** Larger messages are dead-lettered unread (the database would refuse them, or the heap would not hold them). */
  readonly maxMessageBytes: number;
  /** InfluxDB only: how far back to look for points of records read again whose time is not repeatable. */
  readonly influxDedupeHours: number;
}

/** Every variable the processor reads, with its meaning; printed in errors and documented in README. */
export const ENV_HELP: Readonly<Record<string, string>> = {
  MYT_AMQP_URL: 'broker URL, amqp[s]://user:pass@host:port[/vhost] (required)',
  MYT_DB_ENGINE: `one of ${ENGINES.join(', ')} (required)`,
  MYT_DB_URL: 'database URL; its path names the database, e.g. postgres://u:p@host:5432/MyTData (required)',
  MYT_SCRIPT: 'path of the bundled processing script (default: none, messages are stored as they come)',
  MYT_SCHEMA: 'JSON of spec.database.tables (required for timescaledb and mysql)',
  MYT_METRICS_PORT: 'port of /healthz and /metrics (default 9464; 0 = any free port)',
  MYT_METRICS_HOST: 'address /healthz and /metrics listen on (default 0.0.0.0)',
  MYT_BATCH_SIZE: 'rows per database write (default 500)',
  MYT_BATCH_MS: 'longest wait before a partial batch is written, ms (default 50)',
  MYT_CONCURRENCY: 'batches written at the same time, one database connection each (default 2)',
  MYT_PREFETCH: 'unacknowledged messages the broker may send ahead (default 6 x MYT_BATCH_SIZE, at least (MYT_CONCURRENCY + 4) x)',
  MYT_SCRIPT_TIMEOUT_MS: 'time the script may take per message before it is dead-lettered (default 5000)',
  MYT_DRAIN_MS: 'on SIGTERM, how long to finish, commit and acknowledge the batch in flight (default 8000)',
  MYT_RETRY_MAX_MS: 'longest wait between retries while the database is down, ms (default 10000)',
  MYT_EXCHANGE: "fanout exchange devices publish to (default 'data')",
  MYT_SPREAD_EXCHANGE: 'x-random exchange between MYT_EXCHANGE and the stream, for several processors (default: none, the stream is bound to MYT_EXCHANGE)',
  MYT_STREAM: "RabbitMQ stream the processor reads (default 'myt.readings')",
  MYT_STREAM_MAX_AGE: "how long the stream keeps messages, RabbitMQ's x-max-age (default 7D)",
  MYT_STREAM_MAX_BYTES: "how much the stream keeps, RabbitMQ's x-max-length-bytes (default 10000000000)",
  MYT_DEAD_EXCHANGE: "dead-letter exchange (default 'myt.dead')",
  MYT_DEAD_QUEUE: "dead-letter quorum queue (default 'myt.dead')",
  MYT_MAX_MESSAGE_BYTES: 'larger messages are dead-lettered without being read (default 16777216, RabbitMQ 4\'s own limit)',
  MYT_INFLUX_DEDUPE_HOURS: 'InfluxDB: look-back for records read again whose time the processor made up (default 24)',
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is not set: ${ENV_HELP[name]}`);
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got '${raw}')`);
  }
  return Number(raw);
}

function brokerName(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim() || fallback;
  // AMQP short strings; the broker refuses names starting with 'amq.'.
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(value) || value.startsWith('amq.')) {
    throw new ConfigError(`${name} must be 1-200 letters, digits or _.:- and not start with 'amq.' (got '${value}')`);
  }
  return value;
}

const DB_PROTOCOLS: Record<Engine, readonly string[]> = {
  influxdb: ['http:', 'https:'],
  mongodb: ['mongodb:', 'mongodb+srv:'],
  timescaledb: ['postgres:', 'postgresql:'],
  mysql: ['mysql:'],
};

function dbUrl(env: Env, engine: Engine): string {
  const raw = required(env, 'MYT_DB_URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The URL may hold a password: never echo it.
    throw new ConfigError('MYT_DB_URL is not a valid URL');
  }
  const protocols = DB_PROTOCOLS[engine];
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`MYT_DB_URL must start with ${protocols.join(' or ')}// for engine ${engine} (got ${url.protocol}//)`);
  }
  if (!/^\/[A-Za-z0-9_]{1,63}$/.test(url.pathname)) {
    throw new ConfigError('MYT_DB_URL must name the database as its path, e.g. /MyTData (letters, digits, _)');
  }
  return raw;
}

function amqpUrl(env: Env): string {
  const raw = required(env, 'MYT_AMQP_URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('MYT_AMQP_URL is not a valid URL');
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw new ConfigError(`MYT_AMQP_URL must start with amqp:// or amqps:// (got ${url.protocol}//)`);
  }
  return raw;
}

function schema(env: Env, engine: Engine): Schema | undefined {
  const raw = env.MYT_SCHEMA?.trim();
  if (!raw) {
    if (engine === 'timescaledb' || engine === 'mysql') throw new ConfigError(`MYT_SCHEMA is not set: ${ENV_HELP.MYT_SCHEMA}`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`MYT_SCHEMA is not valid JSON: ${(err as Error).message}`);
  }
  const problems = schemaProblems(parsed);
  if (problems.length > 0) throw new ConfigError(`MYT_SCHEMA: ${problems.join('; ')}`);
  return parsed as Schema;
}

/** Reads the processor's settings from the environment; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env): ProcessorConfig {
  const engineRaw = required(env, 'MYT_DB_ENGINE');
  if (!(ENGINES as readonly string[]).includes(engineRaw)) {
    throw new ConfigError(`MYT_DB_ENGINE must be one of ${ENGINES.join(', ')} (got '${engineRaw}')`);
  }
  const engine = engineRaw as Engine;
  const batchSize = integer(env, 'MYT_BATCH_SIZE', 500, 1, 10_000);
  const concurrency = integer(env, 'MYT_CONCURRENCY', 2, 1, 16);
  const streamMaxAge = env.MYT_STREAM_MAX_AGE?.trim() || '7D';
  // RabbitMQ's own syntax for x-max-age: a number and one unit.
  if (!/^[1-9]\d{0,8}(Y|M|D|h|m|s)$/.test(streamMaxAge)) throw new ConfigError(`MYT_STREAM_MAX_AGE must be a number and a unit, Y M D h m or s, e.g. 7D (got '${streamMaxAge}')`);
  const spread = env.MYT_SPREAD_EXCHANGE?.trim();
  const metricsHost = env.MYT_METRICS_HOST?.trim() || '0.0.0.0';
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(metricsHost)) throw new ConfigError(`MYT_METRICS_HOST is not a host name or address (got '${metricsHost}')`);
  return {
    amqpUrl: amqpUrl(env),
    engine,
    dbUrl: dbUrl(env, engine),
    scriptPath: env.MYT_SCRIPT?.trim() || undefined,
    schema: schema(env, engine),
    metricsPort: integer(env, 'MYT_METRICS_PORT', 9464, 0, 65_535),
    metricsHost,
    batchSize,
    batchMs: integer(env, 'MYT_BATCH_MS', 50, 1, 60_000),
    // Acks come only after commits, so the window must cover the batches being written and the ones
    // filling meanwhile; too small a window starves the pipeline, too large a one keeps deliveries
    // alive long enough to be promoted to V8's old generation. Measured at batch 500, 5 interleaved
    // runs each: PostgreSQL 43-46k msg/s at 2000, 49-54k at 3000, 45-50k at 4000; MariaDB the same
    // within noise at all three (1500 had left the processor idle, 5000 cost ~10% more CPU).
    prefetch: integer(env, 'MYT_PREFETCH', Math.min(Math.max(6, concurrency + 4) * batchSize, 65_535), 1, 65_535),
    concurrency,
    scriptTimeoutMs: integer(env, 'MYT_SCRIPT_TIMEOUT_MS', 5000, 1, 600_000),
    drainMs: integer(env, 'MYT_DRAIN_MS', 8000, 100, 600_000),
    retryMaxMs: integer(env, 'MYT_RETRY_MAX_MS', 10_000, 10, 600_000),
    exchange: brokerName(env, 'MYT_EXCHANGE', 'data'),
    spreadExchange: spread ? brokerName(env, 'MYT_SPREAD_EXCHANGE', spread) : undefined,
    stream: brokerName(env, 'MYT_STREAM', 'myt.readings'),
    streamMaxAge,
    streamMaxBytes: integer(env, 'MYT_STREAM_MAX_BYTES', 10_000_000_000, 1_000_000, 1e15),
    deadExchange: brokerName(env, 'MYT_DEAD_EXCHANGE', 'myt.dead'),
    deadQueue: brokerName(env, 'MYT_DEAD_QUEUE', 'myt.dead'),
    maxMessageBytes: integer(env, 'MYT_MAX_MESSAGE_BYTES', 16 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    influxDedupeHours: integer(env, 'MYT_INFLUX_DEDUPE_HOURS', 24, 1, 24 * 365),
  };
}

/** The database name from MYT_DB_URL's path (checked by loadConfig). */
export function databaseName(dbUrl: string): string {
  return new URL(dbUrl).pathname.slice(1);
}
