import { readFileSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { MytError } from '../errors.js';
import { resolveRepoFile } from '../config/repo-path.js';
import { validateAgainst } from '../config/schemas.js';
import type { GcsState, LocalState, RepoConfig, S3State } from '../config/types/repo.generated.js';
import { MAX_FILE_BYTES, parseSource } from '../config/yaml-source.js';

/** The repository-wide settings file, at the repository root. */
export const REPO_CONFIG_FILE = 'myt.yaml';

export type ResolvedStateBackend = Required<LocalState> | (S3State & { prefix: string }) | (GcsState & { prefix: string });

export interface ResolvedRepoConfig {
  readonly state: ResolvedStateBackend;
}

/** State stays on this disk unless myt.yaml says otherwise (documented in schemas/repo.schema.json). */
const LOCAL_DEFAULT: Required<LocalState> = { backend: 'local', path: '.myt/state' };
const DEFAULT_PREFIX = 'myt';

/**
 * Reads and validates myt.yaml; a missing file means every default. Problems are reported as
 * `myt.yaml:LINE:COL: message`, the same shape `myt validate` uses.
 */
export function loadRepoConfig(root: string): ResolvedRepoConfig {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(root, REPO_CONFIG_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: LOCAL_DEFAULT };
    throw new MytError(`${REPO_CONFIG_FILE}: cannot read it: ${(err as Error).message}`);
  }
  if (bytes.length > MAX_FILE_BYTES) throw new MytError(`${REPO_CONFIG_FILE}: file is larger than 1 MiB`);
  // Only comments (or nothing): every default, as with no file.
  if (bytes.toString('utf8').split('\n').every((line) => /^\s*(#.*)?$/.test(line))) return { state: LOCAL_DEFAULT };
  const parsed = parseSource(bytes);
  if (!parsed.ok) throw new MytError(`${REPO_CONFIG_FILE}:${parsed.position.line}:${parsed.position.col}: ${parsed.message}`);
  if (parsed.documents.length !== 1) throw new MytError(`${REPO_CONFIG_FILE}: expected exactly one YAML document, found ${parsed.documents.length}`);
  const source = parsed.documents[0]!;
  const value = source.value ?? {}; // an empty file means every default
  const errors = validateAgainst('repo', value);
  if (errors.length) {
    const lines = errors.map((e) => {
      const at = source.positionOf(e.path, e.atKey);
      return `${REPO_CONFIG_FILE}:${at.line}:${at.col}: ${e.message}`;
    });
    throw new MytError(`${REPO_CONFIG_FILE} is not valid:\n  ${lines.join('\n  ')}`);
  }
  const config = value as RepoConfig;
  return { state: resolveState(root, config.state, source.positionOf(['state', 'credentials'])) };
}

function resolveState(root: string, state: RepoConfig['state'], credentialsAt: { line: number; col: number }): ResolvedStateBackend {
  if (state === undefined) return LOCAL_DEFAULT;
  if (state.backend === 'local') {
    const path = posix.normalize(state.path ?? LOCAL_DEFAULT.path);
    if (isAbsolute(path) || path === '..' || path.startsWith('../')) {
      throw new MytError(`${REPO_CONFIG_FILE}: state.path '${state.path}' must be a folder inside the repository, written relative to its root`);
    }
    return { backend: 'local', path };
  }
  if (state.credentials !== undefined) {
    const found = resolveRepoFile(root, state.credentials);
    if (!found.ok) throw new MytError(`${REPO_CONFIG_FILE}:${credentialsAt.line}:${credentialsAt.col}: state.credentials: ${found.message}`);
  }
  return { ...state, prefix: state.prefix ?? DEFAULT_PREFIX };
}
