// The deploy matrix: one job per changed platform, or, past GitHub's limit of 256 jobs per matrix,
// a bounded number of jobs with several platforms each. A platform always lands in the same group
// (a hash of its name), so the workflow's concurrency group per job key keeps two grouped runs
// from deploying the same platform at once. It does not between a grouped run (key group-NNN) and
// an ungrouped one (key = the name): there the VM's deploy lock (src/deploy/lock.ts) refuses the
// second deploy, which fails with who holds the lock, and a remote Terraform state is locked too.
import type { ChangeSet, DeletedPlatform } from './detect.js';

/** GitHub's documented limit: "A matrix will generate a maximum of 256 jobs per workflow run." */
export const GITHUB_MATRIX_LIMIT = 256;

export interface MatrixJob {
  /** The concurrency key: the platform's name, or `group-NNN` when platforms are grouped. */
  readonly key: string;
  /** Platforms to deploy (infrastructure and VM), space-separated. */
  readonly deploy: string;
  /** Platforms whose processor alone changed, space-separated. */
  readonly redeploy: string;
}

export interface DeployMatrix {
  /** For `strategy.matrix` (`fromJSON`): `{ include: [...] }`; empty include when nothing changed. */
  readonly include: MatrixJob[];
}

/** FNV-1a of the name: stable across runs and machines, spread evenly enough for grouping. */
function hash(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

export function groupKey(name: string, groups: number): string {
  return `group-${String(hash(name) % groups).padStart(String(groups - 1).length, '0')}`;
}

/** The matrix of the platforms to deploy, at most `limit` jobs. */
export function deployMatrix(changes: Pick<ChangeSet, 'changed'>, limit = GITHUB_MATRIX_LIMIT): DeployMatrix {
  if (!Number.isInteger(limit) || limit < 1 || limit > GITHUB_MATRIX_LIMIT) throw new RangeError(`limit must be 1..${GITHUB_MATRIX_LIMIT}, got ${limit}`);
  const platforms = [...changes.changed].sort((a, b) => a.name.localeCompare(b.name));
  if (platforms.length <= limit) {
    return { include: platforms.map((p) => ({ key: p.name, deploy: p.action === 'deploy' ? p.name : '', redeploy: p.action === 'redeploy' ? p.name : '' })) };
  }
  const groups = new Map<string, { deploy: string[]; redeploy: string[] }>();
  for (const p of platforms) {
    const key = groupKey(p.name, limit);
    const group = groups.get(key) ?? { deploy: [], redeploy: [] };
    group[p.action].push(p.name);
    groups.set(key, group);
  }
  return {
    include: [...groups]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, g]) => ({ key, deploy: g.deploy.join(' '), redeploy: g.redeploy.join(' ') })),
  };
}

/** The deleted platforms that opted in and have infrastructure: the ones the deploy run destroys. */
export function toDestroy(deleted: readonly DeletedPlatform[]): DeletedPlatform[] {
  return deleted.filter((d) => d.optedIn && d.hasInfrastructure);
}

/** What the run leaves running, said plainly: deleted platforms that did not opt in to destruction. */
export function leftRunning(deleted: readonly DeletedPlatform[]): string[] {
  return deleted
    .filter((d) => !(d.optedIn && d.hasInfrastructure))
    .map((d) =>
      d.hasInfrastructure
        ? `${d.name}: its file ${d.file} was deleted, but it did not set 'spec.destroy: allow', so its infrastructure is left running. ` +
          `To remove it, restore the file with 'spec.destroy: allow', merge, then delete it again (or run 'myt destroy ${d.name}').`
        : `${d.name}: its file ${d.file} was deleted; it runs on an existing server (cloud provider ssh), where MyT removes nothing: its services are left running there.`,
    );
}
