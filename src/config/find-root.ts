import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

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
