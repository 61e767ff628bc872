import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { crossChecks } from './checks.js';
import { checkRepoConfig, REPO_CONFIG_FILE } from './repo-config.js';
import { resolveRepoFile } from './repo-path.js';
import type { Declared, Platform, Space } from './declared.js';
import { byLocation, problemAt, START, type Problem } from './problem.js';
import { validateAgainst, type SchemaName } from './schemas.js';
import { MAX_FILE_BYTES, parseSource, type SourceDocument } from './yaml-source.js';

export type { Declared, Platform, Space } from './declared.js';
export type { Problem } from './problem.js';

/** Where declarations live, relative to the repository root. */
export const PLATFORMS_DIR = 'platforms';

export interface Repository {
  readonly root: string;
  readonly platforms: Declared<Platform>[];
  readonly spaces: Declared<Space>[];
  /** Every problem found, in file and position order; empty means the repository is valid. */
  readonly problems: Problem[];
  /** The files that were read (repository-relative). */
  readonly files: string[];
  /** Every declaration file of the repository, chosen or not: references resolve against all of them. */
  readonly declarations: readonly string[];
  /** The files problems are reported for, when the caller chose some (`paths`); undefined means all. */
  readonly scope?: ReadonlySet<string>;
  /** Declarations that failed their schema but say their kind and name (their problems are reported). */
  readonly invalid: readonly InvalidDeclaration[];
}

export interface InvalidDeclaration {
  readonly kind: 'Platform' | 'Space';
  readonly name: string;
  readonly file: string;
}

/**
 * The problems a caller asked about: all of them, or, when files were chosen, those in the chosen
 * files and in files that are not declarations (a script the chosen ones use).
 */
export function problemsInScope(repo: Pick<Repository, 'scope' | 'declarations'>, problems: readonly Problem[]): Problem[] {
  const scope = repo.scope;
  return scope === undefined ? [...problems] : problems.filter((p) => scope.has(p.file) || !repo.declarations.includes(p.file));
}

const KINDS: Record<string, SchemaName> = { Platform: 'platform', Space: 'space' };

/**
 * Loads and validates the declarations under platforms/: their format and what lies inside it
 * (src/validation adds what needs secrets). With `paths` (files or folders, absolute or relative
 * to the root), problems are reported for those files only, but references still resolve against
 * every declaration in the repository.
 */
export async function loadRepository(root: string, paths?: readonly string[]): Promise<Repository> {
  const all = declarationFiles(join(root, PLATFORMS_DIR)).map((f) => toRepoPath(root, f));
  const chosen = paths === undefined ? all : paths.flatMap((p) => declarationFiles(resolve(root, p), true)).map((f) => toRepoPath(root, f));
  const files = [...new Set([...all, ...chosen])].sort();

  const platforms: Declared<Platform>[] = [];
  const spaces: Declared<Space>[] = [];
  const invalid: InvalidDeclaration[] = [];
  let problems: Problem[] = [];
  const discovered = new Set(all);
  for (const file of files) {
    // A link under platforms/ must not pull in a file from outside the repository.
    const inside = discovered.has(file) ? resolveRepoFile(root, file) : undefined;
    const loaded = inside?.ok === false ? { declared: [], problems: [problemAt(file, START, inside.message)], invalid: [] } : loadFile(root, file);
    problems.push(...loaded.problems);
    invalid.push(...loaded.invalid);
    for (const d of loaded.declared) {
      if (d.doc.kind === 'Platform') platforms.push(d as Declared<Platform>);
      else spaces.push(d as Declared<Space>);
    }
  }
  // A reference to a declaration that failed its schema is not reported again: its own problems are.
  problems.push(...(await crossChecks(root, platforms, spaces, new Set(invalid.map((d) => `${d.kind}:${d.name}`)))));
  // The repository-wide settings are checked with the whole repository, not for chosen paths.
  if (paths === undefined && existsSync(join(root, REPO_CONFIG_FILE))) {
    files.push(REPO_CONFIG_FILE);
    problems.push(...checkRepoConfig(root).problems);
  }
  const scope = paths === undefined ? undefined : new Set(chosen);
  const declarations = files.filter((f) => f !== REPO_CONFIG_FILE);
  problems = problemsInScope({ scope, declarations }, problems);
  return { root, platforms, spaces, problems: problems.sort(byLocation), files: paths === undefined ? files : [...new Set(chosen)], declarations, scope, invalid };
}

function loadFile(root: string, file: string): { declared: Declared<Platform | Space>[]; problems: Problem[]; invalid: InvalidDeclaration[] } {
  const read = readBounded(join(root, file));
  if (typeof read === 'string') return { declared: [], problems: [problemAt(file, START, read)], invalid: [] };
  const parsed = parseSource(read);
  if (!parsed.ok) return { declared: [], problems: [problemAt(file, parsed.position, parsed.message)], invalid: [] };
  const declared: Declared<Platform | Space>[] = [];
  const problems: Problem[] = [];
  const invalid: InvalidDeclaration[] = [];
  for (const source of parsed.documents) {
    const result = checkDocument(file, source);
    if (!Array.isArray(result)) {
      declared.push(result);
      continue;
    }
    problems.push(...result);
    const value = source.value as { kind?: unknown; metadata?: { name?: unknown } } | null;
    const kind = value?.kind;
    const name = value?.metadata?.name;
    if ((kind === 'Platform' || kind === 'Space') && typeof name === 'string') invalid.push({ kind, name, file });
  }
  return { declared, problems, invalid };
}

/** Schema-checks one document; returns it as a declaration, or its problems. */
function checkDocument(file: string, source: SourceDocument): Declared<Platform | Space> | Problem[] {
  const value = source.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'a list' : value === null ? 'nothing' : `a ${typeof value}`;
    return [problemAt(file, START, `expected a mapping with apiVersion, kind, metadata and spec, but the document is ${got}`)];
  }
  const kind = (value as Record<string, unknown>).kind;
  const schema = typeof kind === 'string' ? KINDS[kind] : undefined;
  if (!schema) {
    const message = kind === undefined ? "missing required property 'kind' (Platform or Space)" : `kind: must be Platform or Space (got ${typeof kind === 'string' ? `'${kind}'` : JSON.stringify(kind)})`;
    return [problemAt(file, source.positionOf(kind === undefined ? [] : ['kind']), message)];
  }
  const errors = validateAgainst(schema, value);
  if (errors.length) return errors.map((e) => problemAt(file, source.positionOf(e.path, e.atKey), e.message));
  return { file, doc: value as Platform | Space, positionOf: source.positionOf };
}

/** Reads a file, refusing (with a message) what is missing or too large, without reading it all. */
function readBounded(absolute: string): Uint8Array | string {
  let fd: number;
  try {
    fd = openSync(absolute, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read file: ${(err as Error).message}`;
  }
  try {
    const size = statSync(absolute).size;
    if (size > MAX_FILE_BYTES) return `file is ${(size / 1024 / 1024).toFixed(1)} MiB; a declaration may be at most 1 MiB`;
    const buffer = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const n = readSync(fd, buffer, offset, size - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return buffer.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

/** YAML files under a folder (sorted, hidden entries skipped); a file path is returned as itself. */
function declarationFiles(path: string, explicit = false): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return explicit ? [path] : []; // an explicit missing path is reported as "file not found"
  }
  if (!isDir) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules')
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? declarationFiles(join(path, e.name)) : /\.ya?ml$/.test(e.name) ? [join(path, e.name)] : []));
}

function toRepoPath(root: string, absolute: string): string {
  return relative(root, absolute).split('\\').join('/');
}
