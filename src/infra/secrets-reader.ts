import { MytError } from '../errors.js';

/**
 * How infra code reads SOPS files: the signature of `readSecrets` from src/secrets (issue 3),
 * injected so tests can pass fakes without module mocking. Values stay in memory.
 */
export type SecretsReader = (root: string, file: string, opts?: { env?: NodeJS.ProcessEnv }) => Promise<Record<string, unknown>>;

/** Where `myt keys generate` keeps a platform's SSH key pair (fields privateKey, publicKey). */
export function platformKeyFile(platform: string): string {
  return `secrets/keys/${platform}.enc.yaml`;
}

/** A string field of a decrypted secrets file, or a clear error naming the file and the field. */
export function secretField(values: Record<string, unknown>, file: string, field: string, hint: string): string {
  const value = values[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new MytError(`${file}: field '${field}' is missing or empty (${hint})`);
  }
  return value;
}
