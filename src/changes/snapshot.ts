// The declarations of one commit, read from git: what change detection compares. Only what a
// comparison needs is read (kind, name, the document); full validation is `myt validate`'s job.
import { posix } from 'node:path';
import { PLATFORMS_DIR, type Platform, type Space } from '../config/repository.js';
import { parseSource } from '../config/yaml-source.js';
import { readBlobs, type Tree } from './git-tree.js';

/** A Platform or Space name, as schemas/platform.schema.json ($defs/name) allows it. */
export const DECLARATION_NAME = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;

export interface SnapshotEntry<T> {
  readonly file: string;
  readonly doc: T;
}

export interface Snapshot {
  readonly tree: Tree;
  readonly platforms: ReadonlyMap<string, SnapshotEntry<Platform>>;
  readonly spaces: ReadonlyMap<string, SnapshotEntry<Space>>;
  /** Declaration files that could not be read as declarations, with why (`file: message`). */
  readonly unreadable: readonly string[];
  /** Blob contents read so far, by id (scripts are read on demand into it). */
  readonly blobs: Map<string, Buffer>;
}

/** Declaration files as loadRepository finds them: YAML under platforms/, hidden entries skipped. */
export function isDeclarationFile(path: string): boolean {
  if (!path.startsWith(`${PLATFORMS_DIR}/`) || !/\.ya?ml$/.test(path)) return false;
  return !path.split('/').some((part) => part.startsWith('.') || part === 'node_modules');
}

export async function readSnapshot(root: string, tree: Tree): Promise<Snapshot> {
  const files = [...tree.keys()].filter(isDeclarationFile).sort();
  const blobs = await readBlobs(root, files.map((f) => tree.get(f)!));
  const platforms = new Map<string, SnapshotEntry<Platform>>();
  const spaces = new Map<string, SnapshotEntry<Space>>();
  const unreadable: string[] = [];
  for (const file of files) {
    const parsed = parseSource(blobs.get(tree.get(file)!)!);
    if (!parsed.ok) {
      unreadable.push(`${file}:${parsed.position.line}:${parsed.position.col}: ${parsed.message}`);
      continue;
    }
    for (const source of parsed.documents) {
      const value = source.value as { kind?: unknown; metadata?: { name?: unknown } } | null;
      const kind = value?.kind;
      const name = value?.metadata?.name;
      if ((kind !== 'Platform' && kind !== 'Space') || typeof name !== 'string') {
        unreadable.push(`${file}: a document without kind Platform or Space and a metadata.name`);
        continue;
      }
      // Names become matrix keys, action inputs (split on blanks) and concurrency groups: only the schema's names.
      if (!DECLARATION_NAME.test(name)) {
        unreadable.push(`${file}: metadata.name '${name}' is not a name (lowercase letters, digits and '-', starting with a letter)`);
        continue;
      }
      const into: Map<string, SnapshotEntry<Platform | Space>> = kind === 'Platform' ? platforms : spaces;
      const other = platforms.get(name) ?? spaces.get(name);
      if (other) {
        unreadable.push(`${file}: the name '${name}' is declared in ${other.file} too`);
        continue;
      }
      into.set(name, { file, doc: value as Platform | Space });
    }
  }
  return { tree, platforms, spaces, unreadable, blobs };
}

/** Relative imports of a script, read with TypeScript's own scanner when available (static, re-exports, dynamic). */
export type ImportScanner = (source: string) => string[];

const IMPORT_PATTERN = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** A scanner good enough for the specifiers esbuild follows: `from './x'`, `import('./x')`, `require('./x')`. */
export const scanRelativeImports: ImportScanner = (source) => [...source.matchAll(IMPORT_PATTERN)].map((m) => m[1]!);

const EXTENSIONS = ['', '.ts', '.mts', '.js', '.mjs', '.cts', '.cjs', '.json', '/index.ts', '/index.js'];

/**
 * The files a processing script is built from: itself and every local file it imports, at this
 * commit, with their blob ids. A change to any of them changes what runs on the VM.
 */
export async function scriptFiles(root: string, snapshot: Snapshot, script: string, scan: ImportScanner = scanRelativeImports): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const queue = [posix.normalize(script)];
  while (queue.length) {
    const file = queue.shift()!;
    if (found.has(file)) continue;
    const id = snapshot.tree.get(file);
    if (id === undefined) continue;
    found.set(file, id);
    if (!/\.[cm]?[jt]s$/.test(file)) continue;
    if (!snapshot.blobs.has(id)) for (const [k, v] of await readBlobs(root, [id])) snapshot.blobs.set(k, v);
    for (const spec of scan(snapshot.blobs.get(id)!.toString('utf8'))) {
      const base = posix.normalize(posix.join(posix.dirname(file), spec));
      // TypeScript sources import './x.js' for './x.ts'.
      const stems = [base, base.replace(/\.(m|c)?js$/, '.$1ts')];
      const hit = stems.flatMap((s) => EXTENSIONS.map((e) => s + e)).find((c) => snapshot.tree.has(c));
      if (hit && !found.has(hit)) queue.push(hit);
    }
  }
  return found;
}
