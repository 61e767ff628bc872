import { MytError } from '../errors.js';

/**
 * How infra code reads SOPS files: the signature of `readSecrets` from src/secrets (issue 3),
 * injected so tests can pass fakes without module mocking. Values stay in memory.
 */
export type SecretsReader = (root: string, file: string, opts?: { env?: NodeJS.ProcessEnv }) => Promise<Record<string, unknown>>;

/** A string field of a decrypted secrets file, or a clear error naming the file and the field. */
export function secretField(values: Record<string, unknown>, file: string, field: string, hint: string): string {
  const value = values[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new MytError(`${file}: field '${field}' is missing or empty (${hint})`);
  }
  return value;
}

/** What infra commands use of src/secrets: decryption and log masking. */
export interface SecretsModule {
  readonly readSecrets: SecretsReader;
  readonly registerSecret: (value: string) => void;
  readonly maskSecrets: (text: string) => string;
}

/** src/secrets, loaded when a command first needs it (it pulls in the age and SOPS code). */
export async function loadSecretsModule(): Promise<SecretsModule> {
  const { readSecrets, registerSecret, maskSecrets } = await import('../secrets/index.js');
  return { readSecrets, registerSecret, maskSecrets };
}
