// The files that carry secret values to the VM, rendered at deploy time only (never by myt plan,
// never into a release): env files read by Docker Compose and files mounted into the containers,
// each of mode 0600, owned by whoever must read it. compose.yaml and the configuration files in the
// release name these paths and nothing more.
import { randomBytes } from 'node:crypto';
import type { ResolvedPlatform } from '../config/defaults.js';
import { MytError } from '../errors.js';
import type { KeyPairPem } from '../tls/certificates.js';
import { PROCESSOR_BROKER_USER } from './broker.js';
import { databaseEnvFile, databaseSecretEnvironment, databaseUrl, DB_USERS } from './database.js';
import { GRAFANA_DB_PASSWORD_VARIABLE, GRAFANA_UID, grafanaAdminPasswordFile, grafanaEnvFile } from './grafana.js';
import { secretsDir, type SecretFile } from './layout.js';
import { processorEnvFile } from './processor.js';
import { AMQP_PORT, RABBITMQ_UID, rabbitmqTlsDir, rabbitmqUsersFile, usersDefinitions } from './rabbitmq.js';

/** Passwords nobody chooses: made at the first deploy, kept on the VM (generated.json) for the next ones. */
export interface GeneratedSecrets {
  readonly brokerProcessor: string;
  readonly dbAdmin: string;
  readonly dbProcessor: string;
  readonly dbGrafana: string;
  /** Used when the platform declares no spec.grafana.credentials. */
  readonly grafanaAdmin: string;
}

const GENERATED_KEYS = ['brokerProcessor', 'dbAdmin', 'dbProcessor', 'dbGrafana', 'grafanaAdmin'] as const;
/** base64url: safe unquoted in env files, URLs and the MySQL init script. */
const GENERATED_FORMAT = /^[A-Za-z0-9_-]{24,}$/;

export function generateSecrets(): GeneratedSecrets {
  return Object.fromEntries(GENERATED_KEYS.map((k) => [k, randomBytes(24).toString('base64url')])) as unknown as GeneratedSecrets;
}

/** generated.json as the VM keeps it; a clear error (never quoting a value) when it is not what MyT wrote. */
export function parseGenerated(text: string): GeneratedSecrets {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new MytError('generated.json on the VM is not JSON');
  }
  for (const k of GENERATED_KEYS) {
    const v = (data as Record<string, unknown> | null)?.[k];
    if (typeof v !== 'string' || !GENERATED_FORMAT.test(v)) throw new MytError(`generated.json on the VM: '${k}' is missing or not a generated password`);
  }
  return data as GeneratedSecrets;
}

export interface DeploySecrets {
  readonly generated: GeneratedSecrets;
  /** spec.broker.users, decrypted: device user → password. */
  readonly brokerUsers?: Readonly<Record<string, string>>;
  /** spec.grafana.credentials' adminPassword, decrypted. */
  readonly grafanaAdminPassword?: string;
  /** With spec.broker.tls: the CA certificate and the broker's certificate and key (serverCertificateFor()). */
  readonly tls?: { readonly caCertificate: string; readonly server: KeyPairPem };
}

/** One KEY=value line of an env file; values are generated or URL-encoded, so they need no quoting. */
function envFile(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => {
      if (!/^[A-Za-z0-9_.:/@%+=-]*$/.test(v)) throw new MytError(`${k}: a value with characters an env file would need quoted (MyT writes only generated or URL-encoded values)`);
      return `${k}=${v}\n`;
    })
    .join('');
}

export function renderSecretFiles(platform: ResolvedPlatform, s: DeploySecrets): SecretFile[] {
  const name = platform.metadata.name;
  const engine = platform.spec.database.engine;
  const g = s.generated;
  for (const k of GENERATED_KEYS) if (!GENERATED_FORMAT.test(g[k])) throw new MytError(`generated secret '${k}' is not a generated password`);
  const devices = s.brokerUsers ?? {};
  if (PROCESSOR_BROKER_USER in devices) throw new MytError(`broker user '${PROCESSOR_BROKER_USER}' is the processor's own: rename the device user`);
  const file = (path: string, content: string, uid = 0): SecretFile => ({ path, content, mode: 0o600, uid });
  const amqpUrl = `amqp://${encodeURIComponent(PROCESSOR_BROKER_USER)}:${encodeURIComponent(g.brokerProcessor)}@rabbitmq:${AMQP_PORT}`;
  const files = [
    file(`${secretsDir(name)}/generated.json`, `${JSON.stringify(g, GENERATED_KEYS as unknown as string[], 2)}\n`),
    file(processorEnvFile(name), envFile({ MYT_AMQP_URL: amqpUrl, MYT_DB_URL: databaseUrl(engine, DB_USERS.processor, g.dbProcessor) })),
    file(databaseEnvFile(name), envFile(databaseSecretEnvironment(engine, { admin: g.dbAdmin, processor: g.dbProcessor, grafana: g.dbGrafana }))),
    file(grafanaEnvFile(name), envFile({ [GRAFANA_DB_PASSWORD_VARIABLE]: g.dbGrafana })),
    file(grafanaAdminPasswordFile(name), s.grafanaAdminPassword ?? g.grafanaAdmin, GRAFANA_UID),
    file(rabbitmqUsersFile(name), `${JSON.stringify(usersDefinitions(g.brokerProcessor, devices), null, 2)}\n`, RABBITMQ_UID),
  ];
  if (platform.spec.broker.tls) {
    if (s.tls === undefined) throw new MytError(`platform ${name} uses TLS: the deploy needs its CA and the broker's certificate`);
    const dir = rabbitmqTlsDir(name);
    files.push(file(`${dir}/ca.pem`, s.tls.caCertificate, RABBITMQ_UID), file(`${dir}/server.pem`, s.tls.server.certificate, RABBITMQ_UID), file(`${dir}/server.key`, s.tls.server.key, RABBITMQ_UID));
  }
  return files;
}
