/**
 * What a Compute Engine machine family needs from MyT's disks and image. The family is the part
 * of the machine type before the first '-' (e2-small: e2; c4a-standard-2: c4a).
 */

/**
 * Families that attach only Hyperdisk: no Persistent Disk (pd-balanced), for the boot disk nor for
 * the data disk. Source: Compute Engine "About Persistent Disk", Machine series support (these
 * series are not listed there) and "About Hyperdisk Balanced", Machine series support.
 */
const HYPERDISK_ONLY = new Set(['c4', 'c4a', 'c4d', 'n4', 'n4a', 'n4d', 'x4', 'm4', 'h4d', 'a4', 'a4x']);

/** Arm (Axion, Ampere Altra) families, which boot the arm64 Ubuntu image. Source: Compute Engine "Arm VMs on Compute". */
const ARM64 = new Set(['t2a', 'c4a', 'n4a']);

/** The smallest Hyperdisk Balanced volume, in GB. Source: "About Hyperdisk Balanced", Size and performance limits. */
export const HYPERDISK_MIN_GB = 4;

export function gcpFamily(machineType: string): string {
  return machineType.split('-')[0] ?? machineType;
}

/** The disk type MyT gives the boot and data disks of this machine type. */
export function gcpDiskType(machineType: string): 'pd-balanced' | 'hyperdisk-balanced' {
  return HYPERDISK_ONLY.has(gcpFamily(machineType)) ? 'hyperdisk-balanced' : 'pd-balanced';
}

export function gcpArchitecture(machineType: string): 'arm64' | 'amd64' {
  return ARM64.has(gcpFamily(machineType)) ? 'arm64' : 'amd64';
}
