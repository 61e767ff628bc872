import type { TerraformResource } from 'cdktf';
import type { ResolvedPlatform } from '../config/defaults.js';
import type { StateLocation } from './backend.js';
import type { PlatformKeys } from './cloud-init.js';

/** What every platform stack is built from. */
export interface PlatformStackConfig {
  /** The platform with every default filled in. */
  readonly platform: ResolvedPlatform;
  /** The VM's public keys, login and host (public: fine in the JSON). */
  readonly keys: PlatformKeys;
  readonly state: StateLocation;
  /**
   * Synthesize for `myt destroy`: the data volume loses `prevent_destroy`, which otherwise makes
   * Terraform refuse any plan that would delete it. Default: false.
   */
  readonly forDestroy?: boolean;
}

/** The resources whose loss loses data or the platform itself; the plan summary flags changes to them. */
export interface ProtectedResources {
  /** Addresses of the data volume(s): replacing or deleting one loses the database. */
  readonly dataVolumes: string[];
  /** Addresses of the VM: deleting it takes the platform down. */
  readonly instances: string[];
}

export const OUTPUT_PUBLIC_IP = 'public_ip';
export const OUTPUT_SSH_USER = 'ssh_user';
/**
 * Where the data volume appears on the VM under /dev/disk/by-id, a name that stays the same across
 * reboots and replacements (unlike /dev/sdf or /dev/nvme1n1). The provisioning step finds the
 * volume there, formats it once, and mounts it by its filesystem UUID.
 */
export const OUTPUT_DATA_DEVICE = 'data_volume_device';
/** Ubuntu cloud images log in as this user, on every cloud MyT creates. */
export const UBUNTU_USER = 'ubuntu';

export function addressOf(resource: TerraformResource): string {
  return `${resource.terraformResourceType}.${resource.friendlyUniqueId}`;
}
