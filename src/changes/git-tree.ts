// Reads a commit's files straight from git's object store (ls-tree, cat-file --batch), so change
// detection compares two commits exactly, whatever the working tree holds, and reads thousands of
// files with two processes instead of one per file.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { MytError } from '../errors.js';

/** A commit's files: repository-relative path → blob id. */
export type Tree = ReadonlyMap<string, string>;

/** An object name as git prints it (SHA-1 or SHA-256). */
const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** What GitHub sends as `before` when a branch is created: no commit. */
export const NO_COMMIT = /^0+$/;
/** Refs this module accepts: commit ids and plain ref names, never something git would read as an option. */
const SAFE_REF = /^(?!-)[A-Za-z0-9._/@^~{}-]{1,250}$/;

async function git(root: string, args: readonly string[], maxBuffer = 256 * 1024 * 1024): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('git', ['-C', root, ...args], { maxBuffer, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    return stdout;
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MytError('git is not installed (it is needed to tell what changed between two commits)');
    throw new MytError(`git ${args[0]} failed in ${root}: ${stderr || (err as Error).message}`);
  }
}

/** A commit the clone does not have: a shallow checkout, or what a force push left behind. */
export class MissingCommitError extends MytError {
  override readonly name = 'MissingCommitError';
}

/** The commit id a ref names; a clear error when the clone does not have it (a shallow checkout). */
export async function resolveCommit(root: string, ref: string): Promise<string> {
  if (!SAFE_REF.test(ref)) throw new MytError(`'${ref}' is not a commit id or ref name`);
  try {
    return (await git(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim();
  } catch {
    throw new MissingCommitError(`commit ${ref} is not in this clone: check it out with its history (actions/checkout with fetch-depth: 0)`);
  }
}

/** Every file of a commit (blobs only; submodules and links to trees are not files MyT reads). */
export async function readTree(root: string, commit: string): Promise<Tree> {
  if (!OBJECT_ID.test(commit)) throw new Error(`readTree wants a commit id, got '${commit}'`);
  const out = await git(root, ['ls-tree', '-r', '-z', '--full-tree', commit]);
  const tree = new Map<string, string>();
  for (const entry of out.split('\0')) {
    if (!entry) continue;
    const tab = entry.indexOf('\t');
    const [, type, id] = entry.slice(0, tab).split(' ');
    if (type === 'blob' && id) tree.set(entry.slice(tab + 1), id);
  }
  return tree;
}

/** The contents of many blobs, read through one `git cat-file --batch`. */
export async function readBlobs(root: string, ids: readonly string[]): Promise<Map<string, Buffer>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, Buffer>();
  if (unique.length === 0) return out;
  for (const id of unique) if (!OBJECT_ID.test(id)) throw new Error(`readBlobs wants object ids, got '${id}'`);
  const child = spawn('git', ['-C', root, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  child.stdin.end(unique.map((id) => `${id}\n`).join(''));
  const code = await done;
  if (code !== 0) throw new MytError(`git cat-file failed in ${root}: ${stderr.trim()}`);
  const all = Buffer.concat(chunks);
  let at = 0;
  for (const id of unique) {
    const newline = all.indexOf(0x0a, at);
    const header = all.subarray(at, newline).toString();
    const [, type, size] = header.split(' ');
    if (type === undefined || size === undefined) throw new MytError(`git cat-file: object ${id} is missing`);
    const start = newline + 1;
    out.set(id, all.subarray(start, start + Number(size)));
    at = start + Number(size) + 1;
  }
  return out;
}

/** The parents of a commit, first parent first. */
export async function parentsOf(root: string, commit: string): Promise<string[]> {
  if (!OBJECT_ID.test(commit)) throw new Error(`parentsOf wants a commit id, got '${commit}'`);
  return (await git(root, ['rev-list', '--parents', '-n', '1', commit])).trim().split(' ').slice(1);
}
