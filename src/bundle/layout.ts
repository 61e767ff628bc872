// Where a platform lives on its VM: the one place that decides the paths the rendered bundle refers
// to and the deploy step creates. Paths are fixed by the platform's name (checked by the schema:
// lowercase letters, digits and '-'), so the bundle stays a pure function of the declaration.

/** `/opt/myt/<platform>`: `releases/<id>/` (one rendered bundle each), the `current` link, the lock, the audit log. */
export function platformHome(platform: string): string {
  return `/opt/myt/${platform}`;
}

/**
 * Files holding secret values, written at deploy time only (mode 0600, directory 0700), never part
 * of a release: compose.yaml and the configuration files name these paths, not their contents.
 */
export function secretsDir(platform: string): string {
  return `${platformHome(platform)}/secrets`;
}

/** Where the data volume is mounted (by UUID, by the deploy step); kept apart from the boot disk. */
export const DATA_MOUNT = '/var/lib/myt';

/** A service's data directory on the data volume. */
export function dataDir(platform: string, service: string): string {
  return `${DATA_MOUNT}/${platform}/${service}`;
}

/** A bind mount in Compose's long syntax. */
export interface BindMount {
  readonly type: 'bind';
  readonly source: string;
  readonly target: string;
  readonly bind: { readonly create_host_path: false };
}

/**
 * A service's data directory mounted at `target`. Never created by Docker: the deploy makes it on the
 * mounted data volume, so when the volume is missing at boot (its fstab line has `nofail`) the service
 * does not start, rather than start empty on the boot disk and store readings the volume then hides.
 */
export function dataMount(platform: string, service: string, target: string): BindMount {
  return { type: 'bind', source: dataDir(platform, service), target, bind: { create_host_path: false } };
}

/** A file the deploy step writes from secret values. */
export interface SecretFile {
  /** Absolute path on the VM, under secretsDir(). */
  readonly path: string;
  readonly content: string;
  /** Always 0o600. */
  readonly mode: number;
  /** Owner: root for files read by Docker Compose, the container's user for files mounted into it. */
  readonly uid: number;
}

/** A data directory and the user that must own it before its container starts. */
export interface DataDirectory {
  readonly path: string;
  /** undefined: the image's entrypoint takes ownership itself (it starts as root). */
  readonly uid?: number;
}
