import { Construct } from 'constructs';
import { Fn, TerraformOutput, TerraformStack } from 'cdktf';
import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami/index.js';
import { EbsVolume } from '@cdktf/provider-aws/lib/ebs-volume/index.js';
import { Eip } from '@cdktf/provider-aws/lib/eip/index.js';
import { Instance } from '@cdktf/provider-aws/lib/instance/index.js';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { VolumeAttachment } from '@cdktf/provider-aws/lib/volume-attachment/index.js';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import type { AwsSpace } from '../config/types/space.generated.js';
import { awsArchitecture, awsPartition, CANONICAL_OWNER } from './aws-images.js';
import { AWS_SPACE_OUTPUTS } from './aws-space.js';
import { cloudInitUserData } from './cloud-init.js';
import { addBackend, remoteState } from './backend.js';
import { addressOf, OUTPUT_DATA_DEVICE, OUTPUT_PUBLIC_IP, OUTPUT_SSH_USER, UBUNTU_USER, type PlatformStackConfig, type ProtectedResources } from './platform-stack.js';
import { cloudName, literal, tagsFor } from './naming.js';
import { openPorts } from './ports.js';

export interface AwsPlatformStackConfig extends PlatformStackConfig {
  /** The Space the platform joins. */
  readonly space: { readonly name: string; readonly spec: AwsSpace };
}

/**
 * An AWS platform: an EC2 instance in its Space's subnet, with a separate EBS data volume that
 * outlives the instance, an Elastic IP that stays the same across replacements, and its own
 * security group; its keys arrive through cloud-init.
 */
export class AwsPlatformStack extends TerraformStack {
  readonly protects: ProtectedResources;

  constructor(scope: Construct, config: AwsPlatformStackConfig) {
    const { platform, space } = config;
    const name = platform.metadata.name;
    const cloud = platform.spec.cloud;
    if (cloud.provider !== 'aws') throw new Error(`platform ${name} is not on aws`);
    super(scope, name);
    addBackend(this, config.state, name);
    // Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in Terraform's environment.
    new AwsProvider(this, 'aws', { region: literal(space.spec.region), defaultTags: [{ tags: tagsFor('platform', name) }] });
    const network = remoteState(this, 'space', config.state, space.name);
    const subnetId = network.getString(AWS_SPACE_OUTPUTS.subnetId);

    const ubuntu = new DataAwsAmi(this, 'ubuntu', {
      mostRecent: true,
      owners: [CANONICAL_OWNER[awsPartition(space.spec.region)]],
      filter: [
        { name: 'name', values: [`ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${awsArchitecture(cloud.instanceType)}-server-*`] },
        { name: 'virtualization-type', values: ['hvm'] },
      ],
    });

    const firewall = new SecurityGroup(this, 'firewall', {
      name: cloudName(name),
      description: `MyT platform ${name}`,
      vpcId: network.getString(AWS_SPACE_OUTPUTS.vpcId),
    });
    for (const { port, description } of openPorts(platform)) {
      new VpcSecurityGroupIngressRule(this, `ingress_${port}`, {
        securityGroupId: firewall.id,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        cidrIpv4: '0.0.0.0/0',
        description,
      });
    }
    new VpcSecurityGroupEgressRule(this, 'egress', { securityGroupId: firewall.id, ipProtocol: '-1', cidrIpv4: '0.0.0.0/0', description: 'all outbound' });

    const instance = new Instance(this, 'instance', {
      ami: ubuntu.id,
      instanceType: literal(cloud.instanceType),
      subnetId,
      vpcSecurityGroupIds: [firewall.id],
      // Keys arrive through cloud-init (no EC2 key pair, whose replacement would force a new instance).
      userData: cloudInitUserData(this, config.keys),
      // A changed user_data would be written with a stop and start of the instance (provider 6.x:
      // modifyInstanceAttributeWithStopStart), or replace it with user_data_replace_on_change; cloud-init
      // reads it only at creation anyway, so a new instance gets the current one and a running one is left be.
      userDataReplaceOnChange: false,
      rootBlockDevice: { volumeSize: cloud.diskGb, volumeType: 'gp3', encrypted: true },
      metadataOptions: { httpTokens: 'required' }, // IMDSv2 only
      tags: { Name: cloudName(name) },
      // A newer Ubuntu image must not replace a running platform: the image is chosen at creation.
      lifecycle: { ignoreChanges: ['ami', 'user_data'] },
    });

    const data = new EbsVolume(this, 'data_volume', {
      availabilityZone: literal(space.spec.zone),
      size: platform.spec.database.sizeGb,
      type: 'gp3',
      encrypted: true,
      tags: { Name: cloudName(name, 'data') },
      lifecycle: { preventDestroy: !config.forDestroy },
    });
    // The attachment, not the volume, is what an instance replacement replaces.
    new VolumeAttachment(this, 'data_volume_attachment', {
      deviceName: '/dev/sdf',
      volumeId: data.id,
      instanceId: instance.id,
      stopInstanceBeforeDetaching: true,
    });

    const address = new Eip(this, 'address', { domain: 'vpc', instance: instance.id, tags: { Name: cloudName(name) } });

    new TerraformOutput(this, OUTPUT_PUBLIC_IP, { value: address.publicIp });
    new TerraformOutput(this, OUTPUT_SSH_USER, { value: UBUNTU_USER });
    new TerraformOutput(this, 'instance_id', { value: instance.id });
    new TerraformOutput(this, 'data_volume_id', { value: data.id });
    // Nitro instances show EBS volumes as NVMe devices whose serial is the volume id without its
    // '-' (AWS: "Amazon EBS and NVMe", /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123...).
    // The older Xen types (t2, m4, c4, r4, ...) show it as /dev/xvdf instead.
    new TerraformOutput(this, OUTPUT_DATA_DEVICE, { value: `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${Fn.replace(data.id, '-', '')}` });
    this.protects = { dataVolumes: [addressOf(data)], instances: [addressOf(instance)] };
  }
}
