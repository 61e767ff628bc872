import { loadRepository, problemsInScope, type Repository } from '../config/repository.js';
import { byLocation } from '../config/problem.js';
import { checkSecretFiles, type SecretsChecked } from './secret-files.js';

export { SECRETS_NOT_DECRYPTED, type SecretsChecked } from './secret-files.js';

/**
 * Validation as every front door runs it: the format (src/config), then what needs more than the
 * format, such as the contents of secrets files (src/secrets). It sits above both, so the format
 * knows nothing of how secrets are read.
 */

export interface ValidationOptions {
  /** Declaration files or folders to report on (absolute or relative to the root); default: all. */
  readonly paths?: readonly string[];
  /** Where age keys are looked for; with one, secrets files are decrypted and their fields checked. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface Validated extends Repository {
  /** How far the secrets files were checked (no key: their contents were not). */
  readonly secretsChecked: SecretsChecked;
}

export async function validateRepository(root: string, opts: ValidationOptions = {}): Promise<Validated> {
  const repo = await loadRepository(root, opts.paths);
  const secrets = await checkSecretFiles(root, repo.platforms, repo.spaces, opts.env ?? {});
  return { ...repo, problems: [...repo.problems, ...problemsInScope(repo, secrets.problems)].sort(byLocation), secretsChecked: secrets.checked };
}
