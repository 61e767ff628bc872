/* Generated from schemas/space.schema.json by `npm run gen:types`: do not edit. */

/**
 * The cloud account and network of this space.
 */
export type SpaceSpec = AwsSpace | OpenstackSpace;

/**
 * A cloud network that platforms join: on AWS a VPC, subnet and route (each platform has its own security group); on OpenStack saved network settings.
 */
export interface Space {
  /**
   * Version of the MyT file format.
   */
  apiVersion: 'myt/v1';
  /**
   * What this file declares.
   */
  kind: 'Space';
  metadata: Metadata;
  spec: SpaceSpec;
}
/**
 * Identifies this declaration.
 */
export interface Metadata {
  /**
   * Name, unique across the repository: lowercase letters, digits and '-'.
   */
  name: string;
  /**
   * Free text for people reading the repository.
   */
  description?: string;
}
/**
 * An AWS VPC with one public subnet.
 */
export interface AwsSpace {
  /**
   * aws: Amazon Web Services.
   */
  provider: 'aws';
  /**
   * AWS region, for example eu-west-1.
   */
  region: string;
  /**
   * Availability zone inside the region, for example eu-west-1a.
   */
  zone: string;
  /**
   * Address range of the VPC, /16 to /28 as AWS allows, written as its network address. The platforms' subnet is its first block, 8 bits longer (at most /28). Default: 10.42.0.0/16.
   */
  cidr?: string;
  /**
   * Secrets file holding accessKeyId and secretAccessKey.
   */
  credentials: string;
}
/**
 * Network settings of an OpenStack project.
 */
export interface OpenstackSpace {
  /**
   * openstack: an OpenStack cloud.
   */
  provider: 'openstack';
  /**
   * Keystone URL, for example https://keystone.example.org:5000/v3.
   */
  authUrl: string;
  /**
   * Project (tenant) name.
   */
  tenant: string;
  /**
   * Region name. Default: RegionOne.
   */
  region?: string;
  /**
   * Availability zone.
   */
  zone: string;
  /**
   * Network that floating IPs come from.
   */
  externalNetwork: string;
  /**
   * Network the VM's port joins.
   */
  internalNetwork: string;
  /**
   * Security group applied to the VM.
   */
  securityGroup: string;
  /**
   * Secrets file holding user and password.
   */
  credentials: string;
}
