import type { Platform, Space } from './declared.js';
import { formatIpv4, networkAddress, parseIpv4Block } from './ipv4-block.js';
import { zoneOutsideRegion } from './cloud-zones.js';
import { gcpDiskType, HYPERDISK_MIN_GB } from './gcp-machines.js';
import type { PathSegment } from './yaml-source.js';

export interface CloudProblem {
  readonly path: PathSegment[];
  readonly message: string;
}

/**
 * A VPC's range, as the AWS provider accepts it (aws_vpc cidr_block:
 * validation.IsCIDRNetwork(16, 28), terraform-provider-aws internal/service/ec2/vpc_.go): /16 to
 * /28, written as its network address. The schema holds the prefix length; this the rest.
 */
export function vpcCidrProblem(cidr: string): string | undefined {
  const block = parseIpv4Block(cidr);
  if (!block) return `'${cidr}' is not an IPv4 CIDR block (four numbers 0-255, then /16 to /28)`;
  const network = networkAddress(block);
  if (network !== block.address) return `'${cidr}' has host bits set: the block it lies in is ${formatIpv4(network)}/${block.bits}`;
  return undefined;
}

/** What a cloud would refuse in a Space that its schema cannot see. */
export function spaceCloudProblems(space: Space): CloudProblem[] {
  const spec = space.spec;
  if (spec.provider !== 'aws') return [];
  const problems: CloudProblem[] = [];
  const zone = zoneOutsideRegion('aws', spec.region, spec.zone);
  if (zone) problems.push({ path: ['spec', 'zone'], message: `spec.zone: ${zone}` });
  const cidr = spec.cidr === undefined ? undefined : vpcCidrProblem(spec.cidr);
  if (cidr) problems.push({ path: ['spec', 'cidr'], message: `spec.cidr: ${cidr}` });
  return problems;
}

/** What a cloud would refuse in a Platform's cloud section that its schema cannot see. */
export function platformCloudProblems(platform: Platform): CloudProblem[] {
  const cloud = platform.spec.cloud;
  if (cloud.provider !== 'gcp') return [];
  const problems: CloudProblem[] = [];
  const zone = zoneOutsideRegion('gcp', cloud.region, cloud.zone);
  if (zone) problems.push({ path: ['spec', 'cloud', 'zone'], message: `spec.cloud.zone: ${zone}` });
  const size = platform.spec.database.sizeGb;
  if (cloud.machineType && gcpDiskType(cloud.machineType) === 'hyperdisk-balanced' && size !== undefined && size < HYPERDISK_MIN_GB) {
    problems.push({
      path: ['spec', 'database', 'sizeGb'],
      message: `spec.database.sizeGb: ${cloud.machineType} takes only Hyperdisk, whose volumes are at least ${HYPERDISK_MIN_GB} GB (got ${size})`,
    });
  }
  return problems;
}
