import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';

export type RepoPathResult = { readonly ok: true; readonly absolute: string } | { readonly ok: false; readonly message: string };

/**
 * Resolves a path written in a declaration to a file inside the repository. The one place that
 * decides whether a user-supplied path is acceptable: relative, '/'-separated, no escape through
 * '..' or a symbolic link, and naming an existing regular file.
 */
export function resolveRepoFile(root: string, written: string): RepoPathResult {
  if (written.includes('\\')) return refuse(`'${written}' uses '\\': write paths with '/'`);
  if (written.includes('\0')) return refuse('path contains a NUL byte');
  if (isAbsolute(written) || /^[A-Za-z]:/.test(written)) {
    return refuse(`'${written}' is absolute: write it relative to the repository root`);
  }
  const normal = posix.normalize(written);
  if (normal === '..' || normal.startsWith('../')) return refuse(`'${written}' leads outside the repository`);
  const absolute = join(root, ...normal.split('/'));
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch {
    return refuse(`'${written}' does not exist in the repository`);
  }
  const inside = relative(realRoot(root), real);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    return refuse(`'${written}' is a link that leads outside the repository`);
  }
  if (!statSync(real).isFile()) return refuse(`'${written}' is not a file`);
  return { ok: true, absolute };
}

/**
 * Whether a path (which need not exist yet) lies inside the repository once symbolic links are
 * followed, its own included: where a file written there would really end up. For paths MyT is
 * told to write outside the repository (decrypted secrets, a private key).
 */
export function isInsideRepository(root: string, path: string): boolean {
  const inside = relative(realRoot(root), realPathOf(resolve(path)));
  return inside === '' || !(inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside));
}

/** The real path of a path that may not exist: links followed (a dangling one too), missing parts appended. */
function realPathOf(path: string, links = 0): string {
  try {
    return realpathSync(path);
  } catch {
    // missing, or a link to something missing
  }
  let link: string | undefined;
  try {
    if (lstatSync(path).isSymbolicLink()) link = readlinkSync(path);
  } catch {
    // missing
  }
  if (link !== undefined && links < 40) return realPathOf(resolve(dirname(path), link), links + 1);
  const parent = dirname(path);
  return parent === path ? path : join(realPathOf(parent, links), basename(path));
}

const realRoots = new Map<string, string>();

/** The root's real path, looked up once: every reference in a repository resolves against it. */
function realRoot(root: string): string {
  let real = realRoots.get(root);
  if (real === undefined) realRoots.set(root, (real = realpathSync(root)));
  return real;
}

function refuse(message: string): RepoPathResult {
  return { ok: false, message };
}
