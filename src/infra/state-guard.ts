import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedStateBackend } from '../config/repo-config.js';
import { MytError } from '../errors.js';

/**
 * Terraform state holds every value a resource has, secrets included, in plain text. A local state
 * must therefore stay readable by its owner only and out of git.
 */

/**
 * Refuses a local state path that git would track (neither ignored nor outside the work tree): the
 * next `git add` would commit the state. Without git, or outside a git work tree, nothing would be
 * tracked. Each stack's state file is asked about, as `git check-ignore` answers for files.
 */
export function refuseTrackedState(root: string, backend: ResolvedStateBackend, stacks: readonly string[], git = 'git'): void {
  if (backend.backend !== 'local') return;
  for (const stack of stacks) {
    const file = `${backend.path}/${stack}.tfstate`;
    let status: number;
    try {
      execFileSync(git, ['check-ignore', '-q', '--', file], { cwd: root, stdio: 'ignore' });
      status = 0;
    } catch (err) {
      const e = err as { status?: number | null; code?: string };
      if (e.code === 'ENOENT') return; // no git here
      status = e.status ?? 128;
    }
    if (status === 1) {
      throw new MytError(
        `Terraform state would be tracked by git: ${file} is not ignored (or is committed already), and state holds secrets in plain text. ` +
          `Add '${backend.path}/' to .gitignore (and 'git rm --cached' any state file committed), or set state.path in myt.yaml to an ignored folder`,
      );
    }
    if (status !== 0) return; // not a git work tree
  }
}

/** The local state folder made owner-only (0700), and the state files already there 0600 (older runs wrote 0644). */
export function protectLocalState(root: string, backend: ResolvedStateBackend): void {
  if (backend.backend !== 'local') return;
  const dir = join(root, backend.path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isFile()) chmodSync(join(dir, entry.name), 0o600);
}
