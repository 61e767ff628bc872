import { loadRepository, problemsInScope, type Repository } from '../config/repository.js';
import { byLocation } from '../config/problem.js';
import { checkPackagesInRegistry } from './npm-registry.js';
import { checkSecretFiles, type SecretsChecked } from './secret-files.js';
import { typeCheckScripts } from './typescript-check.js';

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
  /**
   * Ask the npm registry whether each declared package exists in its range (online; default false:
   * plan and apply stay offline). The registry is npm's, as the environment and .npmrc set it.
   */
  readonly registry?: boolean;
  /**
   * Type-check TypeScript processing scripts with the TypeScript compiler (a few seconds: default
   * false; myt validate and the pull-request check ask for it).
   */
  readonly typecheck?: boolean;
}

export interface Validated extends Repository {
  /** How far the secrets files were checked (no key: their contents were not). */
  readonly secretsChecked: SecretsChecked;
  /** What could not be checked and why (an unreachable registry), for the person to read. */
  readonly notes: readonly string[];
}

export async function validateRepository(root: string, opts: ValidationOptions = {}): Promise<Validated> {
  const env = opts.env ?? {};
  const repo = await loadRepository(root, opts.paths);
  const secrets = await checkSecretFiles(root, repo.platforms, repo.spaces, env);
  const registry = opts.registry ? await checkPackagesInRegistry(root, repo.platforms, { env }) : { problems: [], notes: [] };
  const inScope = repo.platforms.filter((p) => repo.scope === undefined || repo.scope.has(p.file));
  const types = opts.typecheck ? await typeCheckScripts(root, inScope) : [];
  const more = [...secrets.problems, ...registry.problems, ...types];
  return { ...repo, problems: [...repo.problems, ...problemsInScope(repo, more)].sort(byLocation), secretsChecked: secrets.checked, notes: registry.notes };
}
