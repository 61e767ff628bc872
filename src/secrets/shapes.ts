import { platformKeyProblems } from './ssh-keys.js';

/** What a secrets file is used for; each use has one documented shape (docs/secrets.md). */
export type SecretUse = 'aws' | 'gcp' | 'openstack' | 'broker-users' | 'grafana' | 'ssh-key' | 'tls-ca';

export const SECRET_USES: readonly SecretUse[] = ['aws', 'gcp', 'openstack', 'broker-users', 'grafana', 'ssh-key', 'tls-ca'];

/** One line per use, for messages: what the file must hold. */
export const SHAPE_SUMMARY: Record<SecretUse, string> = {
  aws: 'accessKeyId and secretAccessKey (optionally sessionToken)',
  gcp: 'serviceAccountKey: the service-account JSON key (as text or a mapping) with client_email, private_key and project_id',
  openstack: 'user and password (optionally authUrl, overriding the Space)',
  'broker-users': 'users: a mapping of user name to password',
  grafana: 'adminPassword',
  'ssh-key': "privateKey (OpenSSH ed25519) and publicKey, for a cloud platform also hostPrivateKey and hostPublicKey; 'myt keys generate NAME' makes them",
  'tls-ca': "caCertificate and caKey (PEM); 'myt tls init NAME' makes them",
};

/**
 * Fields that identify rather than protect (an SSH public key, login or host, a service account's e-mail and
 * project): they legitimately appear in plans and infrastructure, so they are not registered for
 * masking. Only at these places: a broker user named `type` keeps its password masked.
 */
const PUBLIC_SERVICE_ACCOUNT_FIELDS = new Set(['client_email', 'client_id', 'project_id', 'type', 'auth_uri', 'token_uri', 'auth_provider_x509_cert_url', 'client_x509_cert_url', 'universe_domain']);

export function isPublicField(path: readonly string[]): boolean {
  if (path.length === 1) return path[0] === 'publicKey' || path[0] === 'hostPublicKey' || path[0] === 'caCertificate';
  return path.length === 2 && path[0] === 'serviceAccountKey' && PUBLIC_SERVICE_ACCOUNT_FIELDS.has(path[1]!);
}

/** RabbitMQ accepts almost any user name; MyT keeps to names safe in URLs, shells and configs. */
export const BROKER_USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The broker user the processor logs in as (src/bundle/broker.ts): not a device's to take. */
const RESERVED_BROKER_USERS = new Set(['myt-processor']);

function nonEmptyString(data: Record<string, unknown>, field: string, problems: string[], what: string): void {
  const v = data[field];
  if (v === undefined) problems.push(`field '${field}' is missing (${what})`);
  else if (typeof v !== 'string' || v.trim() === '') problems.push(`field '${field}' must be a non-empty string (${what})`);
}

function gcpKeyProblems(key: unknown): string[] {
  if (key === undefined) return ["field 'serviceAccountKey' is missing (the service-account JSON key)"];
  let parsed: unknown = key;
  if (typeof key === 'string') {
    try {
      parsed = JSON.parse(key);
    } catch {
      return ["field 'serviceAccountKey' is text but not JSON (paste the whole key file)"];
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return ["field 'serviceAccountKey' must be the JSON key, as text or a mapping"];
  const k = parsed as Record<string, unknown>;
  const missing = ['client_email', 'private_key', 'project_id'].filter((f) => typeof k[f] !== 'string' || (k[f]).trim() === '');
  const problems = missing.map((f) => `field 'serviceAccountKey' lacks '${f}'`);
  if (typeof k.private_key === 'string' && !k.private_key.includes('PRIVATE KEY-----')) problems.push("field 'serviceAccountKey.private_key' is not a PEM private key");
  return problems;
}

function pemField(data: Record<string, unknown>, field: string, label: string, problems: string[]): void {
  const v = data[field];
  if (typeof v !== 'string' || !v.includes(`-----BEGIN ${label}-----`) || !v.includes(`-----END ${label}-----`)) {
    problems.push(`field '${field}' must be a PEM ${label.toLowerCase()} ('myt tls init' writes it)`);
  }
}

/** What is wrong with decrypted data for a use; empty when it fits. Never quotes a value. */
export function shapeProblems(use: SecretUse, data: Record<string, unknown>): string[] {
  const problems: string[] = [];
  switch (use) {
    case 'aws':
      nonEmptyString(data, 'accessKeyId', problems, 'the AWS access key id, AKIA…');
      nonEmptyString(data, 'secretAccessKey', problems, 'the AWS secret access key');
      if (typeof data.accessKeyId === 'string' && data.accessKeyId.trim() !== '' && !/^(AKIA|ASIA)[A-Z0-9]{12,}$/.test(data.accessKeyId)) {
        problems.push("field 'accessKeyId' does not look like an AWS access key id (AKIA… or ASIA…, capitals and digits)");
      }
      if (data.sessionToken !== undefined && typeof data.sessionToken !== 'string') problems.push("field 'sessionToken' must be a string");
      break;
    case 'gcp':
      problems.push(...gcpKeyProblems(data.serviceAccountKey));
      break;
    case 'openstack':
      nonEmptyString(data, 'user', problems, 'the OpenStack user name');
      nonEmptyString(data, 'password', problems, 'the OpenStack password');
      if (data.authUrl !== undefined && (typeof data.authUrl !== 'string' || !/^https?:\/\/\S+$/.test(data.authUrl))) {
        problems.push("field 'authUrl' must be an http(s) URL (the Keystone endpoint)");
      }
      break;
    case 'broker-users': {
      const users = data.users;
      if (users === null || typeof users !== 'object' || Array.isArray(users)) {
        problems.push("field 'users' must be a mapping of user name to password");
        break;
      }
      const names = Object.keys(users);
      if (names.length === 0) problems.push("field 'users' lists no user");
      for (const name of names) {
        if (!BROKER_USER_NAME.test(name)) problems.push(`broker user name '${name}' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
        if (RESERVED_BROKER_USERS.has(name)) problems.push(`broker user name '${name}' is the processor's own user: choose another`);
        const pw = (users as Record<string, unknown>)[name];
        if (typeof pw !== 'string' || pw.length < 8) problems.push(`the password of broker user '${name}' must be a string of at least 8 characters`);
      }
      break;
    }
    case 'grafana':
      nonEmptyString(data, 'adminPassword', problems, "the password of Grafana's admin user");
      if (data.adminPassword === 'admin') problems.push("field 'adminPassword' is Grafana's default; choose another");
      break;
    case 'ssh-key':
      problems.push(...platformKeyProblems(data));
      break;
    case 'tls-ca':
      pemField(data, 'caCertificate', 'CERTIFICATE', problems);
      pemField(data, 'caKey', 'PRIVATE KEY', problems);
      break;
  }
  return problems;
}
