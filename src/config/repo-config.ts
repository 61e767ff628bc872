import { readFileSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { MytError } from '../errors.js';
import { problemAt, START, type Position, type Problem } from './problem.js';
import { resolveRepoFile } from './repo-path.js';
import { validateAgainst } from './schemas.js';
import type { GcsState, LocalState, RepoConfig, S3State } from './types/repo.generated.js';
import { MAX_FILE_BYTES, parseSource } from './yaml-source.js';

/** The repository-wide settings file, at the repository root. */
export const REPO_CONFIG_FILE = 'myt.yaml';

export type ResolvedStateBackend = Required<LocalState> | (S3State & { prefix: string }) | (GcsState & { prefix: string });

export interface ResolvedRepoConfig {
  readonly state: ResolvedStateBackend;
}

/** State stays on this disk unless myt.yaml says otherwise (documented in schemas/repo.schema.json). */
const LOCAL_DEFAULT: Required<LocalState> = { backend: 'local', path: '.myt/state' };
const DEFAULT_PREFIX = 'myt';

export type RepoConfigResult = { readonly config: ResolvedRepoConfig; readonly problems: [] } | { readonly config?: undefined; readonly problems: Problem[] };

/**
 * Reads and validates myt.yaml; a missing file means every default. Problems are located like
 * every other declaration's, so `myt validate` reports them with the rest.
 */
export function checkRepoConfig(root: string): RepoConfigResult {
  const fail = (pos: Position, message: string): RepoConfigResult => ({ problems: [problemAt(REPO_CONFIG_FILE, pos, message)] });
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(root, REPO_CONFIG_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { config: { state: LOCAL_DEFAULT }, problems: [] };
    return fail(START, `cannot read it: ${(err as Error).message}`);
  }
  if (bytes.length > MAX_FILE_BYTES) return fail(START, 'file is larger than 1 MiB');
  // Only comments (or nothing): every default, as with no file.
  if (bytes.toString('utf8').split('\n').every((line) => /^\s*(#.*)?$/.test(line))) return { config: { state: LOCAL_DEFAULT }, problems: [] };
  const parsed = parseSource(bytes);
  if (!parsed.ok) return fail(parsed.position, parsed.message);
  if (parsed.documents.length !== 1) return fail(START, `expected exactly one YAML document, found ${parsed.documents.length}`);
  const source = parsed.documents[0]!;
  const value = source.value ?? {}; // an empty file means every default
  const errors = validateAgainst('repo', value);
  if (errors.length) return { problems: errors.map((e) => problemAt(REPO_CONFIG_FILE, source.positionOf(e.path, e.atKey), e.message)) };
  const config = value as RepoConfig;
  const state = resolveState(root, config.state);
  if (typeof state === 'string') return fail(source.positionOf(['state', state.startsWith('state.path') ? 'path' : 'credentials']), state);
  return { config: { state }, problems: [] };
}

/** The settings of myt.yaml with its defaults, or a MytError listing every problem in it. */
export function loadRepoConfig(root: string): ResolvedRepoConfig {
  const result = checkRepoConfig(root);
  if (result.config) return result.config;
  throw new MytError(result.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n'));
}

/** The backend with its defaults, or why it cannot be used. */
function resolveState(root: string, state: RepoConfig['state']): ResolvedStateBackend | string {
  if (state === undefined) return LOCAL_DEFAULT;
  if (state.backend === 'local') {
    const path = posix.normalize(state.path ?? LOCAL_DEFAULT.path);
    if (isAbsolute(path) || path === '..' || path.startsWith('../')) {
      return `state.path '${state.path}' must be a folder inside the repository, written relative to its root`;
    }
    return { backend: 'local', path };
  }
  if (state.credentials !== undefined) {
    const found = resolveRepoFile(root, state.credentials);
    if (!found.ok) return `state.credentials: ${found.message}`;
  }
  return { ...state, prefix: state.prefix ?? DEFAULT_PREFIX };
}
