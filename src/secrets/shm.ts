import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { MytError } from '../errors.js';

/** Memory-backed storage on Linux: files here never reach a disk. */
export const DEFAULT_SHM = '/dev/shm';

/** A plaintext file in memory-backed storage, readable by its owner only. */
export interface ShmFile {
  readonly path: string;
  read(): string;
}

function scrub(path: string): void {
  try {
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      if (size > 0) writeSync(fd, Buffer.alloc(size), 0, size, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Already gone (or replaced by an editor's rename): nothing left to overwrite at this path.
  }
  try {
    unlinkSync(path);
  } catch {
    // already removed
  }
}

/** Folders this module makes are named `myt-secrets-<pid>-<random>`: the pid says when one is stale. */
const PREFIX = 'myt-secrets-';
const OURS = /^myt-secrets-(\d+)-/;

function removeFolder(dir: string): void {
  try {
    for (const entry of readdirSync(dir)) scrub(join(dir, entry));
    rmdirSync(dir);
  } catch {
    // already removed
  }
}

/**
 * Scrubs and removes the copies left by an edit whose process is gone without cleaning up (killed
 * with -9, or the machine lost power while /dev/shm survived): this user's folders only, and only
 * when their process no longer runs.
 */
export function sweepStaleCopies(shm: string = DEFAULT_SHM): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(shm);
  } catch {
    return removed;
  }
  for (const name of entries) {
    const pid = Number(OURS.exec(name)?.[1]);
    if (!pid || pid === process.pid || isRunning(pid)) continue;
    const dir = join(shm, name);
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory() || st.uid !== process.getuid?.()) continue;
    } catch {
      continue;
    }
    removeFolder(dir);
    removed.push(dir);
  }
  return removed;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `use` with `text` in a fresh 0600 file inside a 0700 folder under `shm`, then overwrites
 * and deletes both — on success, on error, and on SIGINT/SIGTERM/SIGHUP. Refuses to run when
 * `shm` is not there, rather than put plaintext on a disk. Copies a killed edit left behind are
 * removed first.
 */
export async function withShmFile<T>(text: string, name: string, use: (file: ShmFile) => Promise<T>, shm: string = DEFAULT_SHM): Promise<T> {
  try {
    if (!statSync(shm).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new MytError(`${shm} (memory-backed storage) is not available here, and MyT will not put decrypted secrets on a disk: edit on a Linux machine, or use 'myt secrets decrypt' and 'encrypt' by hand`);
  }
  sweepStaleCopies(shm);
  const dir = await mkdtemp(join(shm, `${PREFIX}${process.pid}-`));
  const path = join(dir, name);
  const cleanup = () => {
    // The file, and anything an editor left beside it (swap and backup files hold plaintext too).
    scrub(path);
    removeFolder(dir);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.once(s, onSignal);
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return await use({ path, read: () => readFileSync(path, 'utf8') });
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
    cleanup();
  }
}
