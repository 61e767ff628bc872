import { closeSync, fstatSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
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

/**
 * Runs `use` with `text` in a fresh 0600 file inside a 0700 folder under `shm`, then overwrites
 * and deletes both — on success, on error, and on SIGINT/SIGTERM/SIGHUP. Refuses to run when
 * `shm` is not there, rather than put plaintext on a disk.
 */
export async function withShmFile<T>(text: string, name: string, use: (file: ShmFile) => Promise<T>, shm: string = DEFAULT_SHM): Promise<T> {
  try {
    if (!statSync(shm).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new MytError(`${shm} (memory-backed storage) is not available here, and MyT will not put decrypted secrets on a disk: edit on a Linux machine, or use 'myt secrets decrypt' and 'encrypt' by hand`);
  }
  const dir = await mkdtemp(join(shm, 'myt-secrets-'));
  const path = join(dir, name);
  const cleanup = () => {
    // The file, and anything an editor left beside it (swap and backup files hold plaintext too).
    scrub(path);
    try {
      for (const entry of readdirSync(dir)) scrub(join(dir, entry));
      rmdirSync(dir);
    } catch {
      // already removed
    }
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
