import { Construct } from 'constructs';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway/index.js';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table/index.js';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association/index.js';
import { Subnet } from '@cdktf/provider-aws/lib/subnet/index.js';
import { Vpc } from '@cdktf/provider-aws/lib/vpc/index.js';
import { formatIpv4, networkAddress, parseIpv4Block } from '../config/ipv4-block.js';
import type { AwsSpace } from '../config/types/space.generated.js';
import { addBackend, type StateLocation } from './backend.js';
import { cloudName, literal, tagsFor } from './naming.js';

export interface AwsSpaceStackConfig {
  readonly name: string;
  /** The space with defaults filled in (cidr). */
  readonly spec: AwsSpace & { cidr: string };
  readonly state: StateLocation;
}

/** Outputs of an AWS Space that its platforms read through remote state. */
export const AWS_SPACE_OUTPUTS = { vpcId: 'vpc_id', subnetId: 'subnet_id' } as const;

/**
 * An AWS Space: a VPC with one public subnet in the zone, its internet gateway and route. The
 * security group and key pair belong to each platform (their ports and key differ per platform),
 * so changing one platform never touches the network the others share.
 */
export class AwsSpaceStack extends TerraformStack {
  constructor(scope: Construct, config: AwsSpaceStackConfig) {
    const { name, spec } = config;
    super(scope, name);
    addBackend(this, config.state, name);
    // Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in Terraform's environment.
    new AwsProvider(this, 'aws', { region: literal(spec.region), defaultTags: [{ tags: tagsFor('space', name) }] });

    const vpc = new Vpc(this, 'vpc', { cidrBlock: literal(spec.cidr), enableDnsSupport: true, enableDnsHostnames: true, tags: { Name: cloudName(name) } });
    const subnet = new Subnet(this, 'subnet', {
      vpcId: vpc.id,
      cidrBlock: firstSubnet(spec.cidr),
      availabilityZone: literal(spec.zone),
      mapPublicIpOnLaunch: false, // platforms get an Elastic IP instead, which survives instance replacement
      tags: { Name: cloudName(name) },
    });
    const gateway = new InternetGateway(this, 'gateway', { vpcId: vpc.id, tags: { Name: cloudName(name) } });
    const routes = new RouteTable(this, 'routes', {
      vpcId: vpc.id,
      route: [{ cidrBlock: '0.0.0.0/0', gatewayId: gateway.id }],
      tags: { Name: cloudName(name) },
    });
    new RouteTableAssociation(this, 'routes_subnet', { subnetId: subnet.id, routeTableId: routes.id });

    new TerraformOutput(this, AWS_SPACE_OUTPUTS.vpcId, { value: vpc.id });
    new TerraformOutput(this, AWS_SPACE_OUTPUTS.subnetId, { value: subnet.id });
  }
}

/** The first block of the VPC range, 8 bits longer (a /24 in a /16), at most /28 (AWS's smallest subnet). */
export function firstSubnet(cidr: string): string {
  const block = parseIpv4Block(cidr);
  if (!block) throw new Error(`not an IPv4 CIDR block: ${cidr}`); // validated before synthesis
  return `${formatIpv4(networkAddress(block))}/${Math.min(block.bits + 8, 28)}`;
}
