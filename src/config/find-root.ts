import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MytError } from '../errors.js';

/**
 * The repository root for a command run in `cwd`: the folder the user named (`--root`), else the
 * nearest folder upwards holding myt.yaml, platforms/ or .git, so `myt` works from any subfolder
 * as git does. Falls back to `cwd`.
 */
export function findRepoRoot(cwd: string, explicit?: string): string {
  if (explicit !== undefined) return resolve(cwd, explicit);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (['myt.yaml', 'platforms', '.git'].some((marker) => existsSync(join(dir, marker)))) return dir;
    if (dirname(dir) === dir) return resolve(cwd);
  }
}

/**
 * Refuses a root that is no MyT repository (no platforms/ folder and no myt.yaml): run from the
 * wrong folder, validate would find nothing wrong and plan would print an empty table.
 */
export function requireMytRepository(root: string): void {
  if (['platforms', 'myt.yaml'].some((marker) => existsSync(join(root, marker)))) return;
  throw new MytError(
    `${root} is not a MyT repository: it has no platforms/ folder and no myt.yaml. Run myt inside your repository (or any folder of it), or pass --root DIR`,
  );
}
