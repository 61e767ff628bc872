import { MytError } from '../errors.js';
import type { ResolvedStateBackend } from '../config/repo-config.js';
import { HOST_KEY_VARIABLE } from './cloud-init.js';
import { secretField, type SecretsReader } from './secrets-reader.js';
import type { CredentialSource } from './stacks.js';

/** Environment variables for the Terraform child process only; never written anywhere. */
export type CredentialEnv = Record<string, string>;

export interface CredentialOptions {
  readonly root: string;
  readonly readSecrets: SecretsReader;
  /** The environment SOPS keys are read from (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE). */
  readonly env?: NodeJS.ProcessEnv;
  /** Told every secret value, so log output can mask it (src/secrets' registerSecret). */
  readonly registerSecret?: (value: string) => void;
}

/**
 * The provider credentials of a stack as the environment variables each Terraform provider reads
 * by itself: they never enter the synthesized JSON, the plan file or the state.
 */
export async function providerEnv(source: CredentialSource, opts: CredentialOptions): Promise<CredentialEnv> {
  const values = await opts.readSecrets(opts.root, source.file, { env: opts.env });
  const field = (name: string, hint: string) => secretField(values, source.file, name, hint);
  let env: CredentialEnv;
  switch (source.provider) {
    case 'aws': {
      const hint = 'an AWS access key: accessKeyId and secretAccessKey';
      env = { AWS_ACCESS_KEY_ID: field('accessKeyId', hint), AWS_SECRET_ACCESS_KEY: field('secretAccessKey', hint) };
      if (typeof values.sessionToken === 'string') env.AWS_SESSION_TOKEN = values.sessionToken;
      break;
    }
    case 'gcp':
      env = { GOOGLE_CREDENTIALS: serviceAccountKey(values, source.file) };
      break;
    case 'openstack': {
      const hint = 'the OpenStack user and password';
      // Keystone v3 needs the domains; most clouds use 'Default', and the secrets file may say otherwise.
      env = {
        OS_USERNAME: field('user', hint),
        OS_PASSWORD: field('password', hint),
        OS_USER_DOMAIN_NAME: typeof values.userDomain === 'string' ? values.userDomain : 'Default',
        OS_PROJECT_DOMAIN_NAME: typeof values.projectDomain === 'string' ? values.projectDomain : 'Default',
      };
      break;
    }
  }
  register(env, opts);
  return env;
}

/**
 * Credentials of the state backend. GCS has its own variable (GOOGLE_BACKEND_CREDENTIALS); S3
 * shares AWS_* with the AWS provider, so both must be the same key (checked in mergeEnv). Without
 * `credentials` in myt.yaml the backend uses what the runner already has (say, an OIDC role).
 */
export async function backendEnv(backend: ResolvedStateBackend, opts: CredentialOptions, ambient: NodeJS.ProcessEnv): Promise<CredentialEnv> {
  if (backend.backend === 'local') return {};
  if (backend.credentials === undefined) return pick(ambient, backend.backend === 's3' ? AMBIENT_AWS : AMBIENT_GOOGLE);
  const file = backend.credentials;
  const values = await opts.readSecrets(opts.root, file, { env: opts.env });
  const env: CredentialEnv =
    backend.backend === 's3'
      ? {
          AWS_ACCESS_KEY_ID: secretField(values, file, 'accessKeyId', 'the state bucket key: accessKeyId and secretAccessKey'),
          AWS_SECRET_ACCESS_KEY: secretField(values, file, 'secretAccessKey', 'the state bucket key: accessKeyId and secretAccessKey'),
        }
      : { GOOGLE_BACKEND_CREDENTIALS: serviceAccountKey(values, file) };
  register(env, opts);
  return env;
}

/**
 * The VM's host private key as the sensitive Terraform variable the stack declares (cloud-init.ts),
 * read from the platform's key file: like the credentials it lives only in Terraform's environment,
 * never in the JSON, and is registered for masking. Empty for a stack without a host key.
 */
export async function hostKeyEnv(file: string | undefined, opts: CredentialOptions): Promise<CredentialEnv> {
  if (file === undefined) return {};
  const values = await opts.readSecrets(opts.root, file, { env: opts.env });
  const env = { [`TF_VAR_${HOST_KEY_VARIABLE}`]: secretField(values, file, 'hostPrivateKey', "the VM's SSH host private key; 'myt keys generate' writes it") };
  register(env, opts);
  return env;
}

/** Provider and backend variables together; refuses two different values for one variable. */
export function mergeEnv(stack: string, provider: CredentialEnv, backend: CredentialEnv): CredentialEnv {
  for (const [name, value] of Object.entries(backend)) {
    if (name in provider && provider[name] !== value) {
      throw new MytError(
        `stack ${stack}: the S3 state bucket and the AWS provider would both read ${name} from Terraform's environment, with different keys; ` +
          'give the state bucket the same key as the Space (or leave state.credentials out of myt.yaml and let the runner provide it)',
      );
    }
  }
  return { ...backend, ...provider };
}

const AMBIENT_AWS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
const AMBIENT_GOOGLE = ['GOOGLE_BACKEND_CREDENTIALS', 'GOOGLE_APPLICATION_CREDENTIALS', 'GOOGLE_OAUTH_ACCESS_TOKEN'];

function pick(env: NodeJS.ProcessEnv, names: readonly string[]): CredentialEnv {
  const out: CredentialEnv = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** A service-account key, written in the secrets file either as JSON text or as a YAML mapping. */
function serviceAccountKey(values: Record<string, unknown>, file: string): string {
  const key = values.serviceAccountKey;
  const text = typeof key === 'string' ? key : key !== null && typeof key === 'object' ? JSON.stringify(key) : undefined;
  if (text === undefined || text.trim() === '') throw new MytError(`${file}: field 'serviceAccountKey' is missing or empty (the GCP service-account JSON key)`);
  try {
    const parsed = JSON.parse(text) as { type?: unknown };
    if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
  } catch {
    throw new MytError(`${file}: field 'serviceAccountKey' is not a JSON service-account key (paste the whole key file as text)`);
  }
  return text;
}

/** Names, not secrets: masking them would blank every 'Default' in the logs. */
const NOT_SECRET = new Set(['OS_USER_DOMAIN_NAME', 'OS_PROJECT_DOMAIN_NAME']);

function register(env: CredentialEnv, opts: CredentialOptions): void {
  for (const [name, value] of Object.entries(env)) if (!NOT_SECRET.has(name)) opts.registerSecret?.(value);
}
