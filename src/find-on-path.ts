import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first executable `name` in the folders of env.PATH, as a shell would find it. Tools are looked
 * up before they are run, so a missing one gets an error that says how to fix it.
 */
export function findOnPath(name: string, env: NodeJS.ProcessEnv, isExecutable: (path: string) => boolean = isExecutableFile): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}
