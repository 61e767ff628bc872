/**
 * Which official Ubuntu image an AWS platform boots: who publishes it in the region's partition,
 * and for which architecture the instance type is built.
 */

export type AwsPartition = 'aws' | 'aws-us-gov' | 'aws-cn';

/**
 * Canonical's account in each partition. Source: Canonical's "Find Ubuntu images on AWS",
 * Ownership verification (099720109477 in the default partition, 513442679011 in GovCloud,
 * 837727238323 in China).
 */
export const CANONICAL_OWNER: Readonly<Record<AwsPartition, string>> = {
  aws: '099720109477',
  'aws-us-gov': '513442679011',
  'aws-cn': '837727238323',
};

/** The partition a region belongs to, by the region patterns of the AWS SDKs' partitions.json (cn-*, us-gov-*). */
export function awsPartition(region: string): AwsPartition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * Instance types built on AWS Graviton (arm64). Source: AWS "Amazon EC2 instance type naming
 * conventions": a `g` after the generation marks Graviton (t4g, m7g, c6gd, x2gd, im4gn), and the
 * A1 family is the first Graviton generation, which predates that convention.
 */
const ARM64_TYPES = [/^[a-z]+[0-9]+g[a-z-]*\./, /^a1\./];

export function awsArchitecture(instanceType: string): 'arm64' | 'amd64' {
  return ARM64_TYPES.some((pattern) => pattern.test(instanceType)) ? 'arm64' : 'amd64';
}
