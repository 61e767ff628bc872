// RabbitMQ's files: rabbitmq.conf, enabled_plugins and the topology loaded at every boot (in the
// release), and the users (at deploy time, from secrets). Both definitions files sit in one folder
// the broker imports at boot, so the `data` exchange, the spread exchange, the streams and their
// bindings exist again before any listener opens, even though `data` is not durable.
import { createHash } from 'node:crypto';
import { BROKER_PLUGINS, DEAD_EXCHANGE, MAX_MESSAGE_BYTES, DEAD_QUEUE, DEVICE_EXCHANGE, PROCESSOR_BROKER_USER, SPREAD_EXCHANGE, streamArguments, streamName } from './broker.js';
import { IMAGES } from './images.js';
import { dataMount, secretsDir } from './layout.js';
import { baseService, healthcheck, type ComposeService } from './service.js';

/** Inside the container. */
export const RABBITMQ_PATHS = {
  conf: '/etc/rabbitmq/rabbitmq.conf',
  plugins: '/etc/rabbitmq/enabled_plugins',
  definitions: '/etc/rabbitmq/definitions',
  tls: '/etc/rabbitmq/tls',
  data: '/var/lib/rabbitmq',
} as const;

/** The uid the official image runs the broker as: files mounted into it must be readable by it. */
export const RABBITMQ_UID = 999;
export const AMQP_PORT = 5672;
export const AMQPS_PORT = 5671;
export const MANAGEMENT_PORT = 15672;

export function rabbitmqConf(platform: string, tls: boolean): string {
  const lines = [
    `# RabbitMQ configuration of platform ${platform}, rendered by myt plan. Do not edit it on the VM:`,
    '# the next deploy replaces it. Secrets are not here: users and TLS keys are mounted from files',
    '# the deploy step writes (mode 0600).',
    '',
    `# AMQP inside the compose network (the processor); ${tls ? 'devices use TLS on 5671, the only port published' : 'published on the VM for devices'}.`,
    `listeners.tcp.default = ${AMQP_PORT}`,
  ];
  if (tls) {
    lines.push(
      `listeners.ssl.default = ${AMQPS_PORT}`,
      `ssl_options.cacertfile = ${RABBITMQ_PATHS.tls}/ca.pem`,
      `ssl_options.certfile = ${RABBITMQ_PATHS.tls}/server.pem`,
      `ssl_options.keyfile = ${RABBITMQ_PATHS.tls}/server.key`,
      '# A device certificate issued by the CA (myt tls client) is verified when one is presented;',
      '# devices without one still log in with their user and password.',
      'ssl_options.verify = verify_peer',
      'ssl_options.fail_if_no_peer_cert = false',
      'ssl_options.versions.1 = tlsv1.3',
      'ssl_options.versions.2 = tlsv1.2',
    );
  }
  lines.push(
    '',
    '# Topology (10-topology.json, in the release) and users (20-users.json, from secrets), imported at every boot.',
    'definitions.import_backend = local_filesystem',
    `definitions.local.path = ${RABBITMQ_PATHS.definitions}`,
    '',
    '# Each incoming message gets the time the broker received it, header timestamp_in_ms (RabbitMQ >= 3.12):',
    '# the processor stores it as the reading time of a message that carries no ts.',
    'message_interceptors.incoming.set_header_timestamp.overwrite = true',
    `max_message_size = ${MAX_MESSAGE_BYTES}`,
    '',
    `management.tcp.port = ${MANAGEMENT_PORT}`,
    '# Logs go to the container output, which Docker rotates.',
    'log.console = true',
    'log.file = false',
    '',
  );
  return lines.join('\n');
}

/** The Erlang term file rabbitmq-plugins reads. */
export function enabledPlugins(): string {
  return `[${BROKER_PLUGINS.join(',')}].\n`;
}

const VHOST = '/';

interface ExchangeDef {
  readonly name: string;
  readonly type: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
}

function exchange(e: ExchangeDef) {
  return { name: e.name, vhost: VHOST, type: e.type, durable: e.durable, auto_delete: e.autoDelete, internal: false, arguments: {} };
}

function binding(source: string, destination: string, destinationType: 'exchange' | 'queue') {
  return { source, vhost: VHOST, destination, destination_type: destinationType, routing_key: '', arguments: {} };
}

/** The topology definitions (no users, no secrets): what the release holds. */
export function topologyDefinitions(replicas: number) {
  const streams = Array.from({ length: replicas }, (_, i) => streamName(i));
  return {
    vhosts: [{ name: VHOST }],
    exchanges: [exchange(DEVICE_EXCHANGE), exchange(SPREAD_EXCHANGE), exchange(DEAD_EXCHANGE)],
    queues: [
      ...streams.map((name) => ({ name, vhost: VHOST, durable: true, auto_delete: false, arguments: streamArguments() })),
      { name: DEAD_QUEUE.name, vhost: VHOST, durable: true, auto_delete: false, arguments: { ...DEAD_QUEUE.arguments } },
    ],
    bindings: [
      binding(DEVICE_EXCHANGE.name, SPREAD_EXCHANGE.name, 'exchange'),
      ...streams.map((s) => binding(SPREAD_EXCHANGE.name, s, 'queue')),
      binding(DEAD_EXCHANGE.name, DEAD_QUEUE.name, 'queue'),
    ],
  };
}

const escape = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Permission patterns (regular expressions over resource names). */
const PROCESSOR_RESOURCES = `^(${escape(DEVICE_EXCHANGE.name)}|myt\\..+)$`;
const DEVICE_RESOURCES = `^${escape(DEVICE_EXCHANGE.name)}$`;

/**
 * RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt ‖ SHA-256(salt ‖ password)), 4-byte salt.
 * The salt is derived from the user and password instead of drawn at random, so a deploy with
 * unchanged secrets writes the same bytes (and the deploy step can tell nothing changed); the hash
 * itself only ever exists in a file of mode 0600 on the VM.
 */
export function rabbitPasswordHash(user: string, password: string, salt?: Buffer): string {
  const s = salt ?? createHash('sha256').update(`myt rabbitmq salt\0${user}\0${password}`).digest().subarray(0, 4);
  const digest = createHash('sha256').update(Buffer.concat([s, Buffer.from(password, 'utf8')])).digest();
  return Buffer.concat([s, digest]).toString('base64');
}

/**
 * The users definitions (deploy time only): the processor's own user, which may declare and read
 * MyT's names, and each device user from spec.broker.users, which may declare `data` (the older
 * devices do) and publish to it, and nothing else. No `guest`: a node that imports definitions at
 * first boot creates no default user.
 */
export function usersDefinitions(processorPassword: string, deviceUsers: Readonly<Record<string, string>>) {
  const user = (name: string, password: string) => ({ name, password_hash: rabbitPasswordHash(name, password), hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [] });
  const devices = Object.keys(deviceUsers).sort();
  return {
    vhosts: [{ name: VHOST }],
    users: [user(PROCESSOR_BROKER_USER, processorPassword), ...devices.map((d) => user(d, deviceUsers[d]!))],
    permissions: [
      { user: PROCESSOR_BROKER_USER, vhost: VHOST, configure: PROCESSOR_RESOURCES, write: PROCESSOR_RESOURCES, read: PROCESSOR_RESOURCES },
      ...devices.map((d) => ({ user: d, vhost: VHOST, configure: DEVICE_RESOURCES, write: DEVICE_RESOURCES, read: '^$' })),
    ],
  };
}

/** The users definitions the deploy step writes (owned by RABBITMQ_UID). */
export function rabbitmqUsersFile(platform: string): string {
  return `${secretsDir(platform)}/rabbitmq/users.json`;
}

/** The CA certificate, the server certificate and its key (owned by RABBITMQ_UID). */
export function rabbitmqTlsDir(platform: string): string {
  return `${secretsDir(platform)}/rabbitmq/tls`;
}

export function rabbitmqComposeService(platform: string, tls: boolean): ComposeService {
  return {
    ...baseService(IMAGES.rabbitmq),
    // The node name (rabbit@<hostname>) decides where the node keeps its data: keep it fixed.
    hostname: 'rabbitmq',
    // Devices reach AMQP (or AMQP over TLS only); the management API stays on the VM (SSH tunnel).
    ports: [tls ? `${AMQPS_PORT}:${AMQPS_PORT}` : `${AMQP_PORT}:${AMQP_PORT}`, `127.0.0.1:${MANAGEMENT_PORT}:${MANAGEMENT_PORT}`],
    volumes: [
      `./rabbitmq/rabbitmq.conf:${RABBITMQ_PATHS.conf}:ro`,
      `./rabbitmq/enabled_plugins:${RABBITMQ_PATHS.plugins}:ro`,
      `./rabbitmq/definitions.json:${RABBITMQ_PATHS.definitions}/10-topology.json:ro`,
      `${rabbitmqUsersFile(platform)}:${RABBITMQ_PATHS.definitions}/20-users.json:ro`,
      ...(tls ? [`${rabbitmqTlsDir(platform)}:${RABBITMQ_PATHS.tls}:ro`] : []),
      dataMount(platform, 'rabbitmq', RABBITMQ_PATHS.data),
    ],
    // The image has no health check of its own; this one also checks the listeners accept connections.
    healthcheck: healthcheck(['rabbitmq-diagnostics', '-q', 'check_port_connectivity'], { timeout: '10s', startPeriod: '60s' }),
    stop_grace_period: '60s',
  };
}
