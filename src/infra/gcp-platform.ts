import { Construct } from 'constructs';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { ComputeAddress } from '@cdktf/provider-google/lib/compute-address/index.js';
import { ComputeDisk } from '@cdktf/provider-google/lib/compute-disk/index.js';
import { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall/index.js';
import { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance/index.js';
import { DataGoogleComputeImage } from '@cdktf/provider-google/lib/data-google-compute-image/index.js';
import { DataGoogleComputeNetwork } from '@cdktf/provider-google/lib/data-google-compute-network/index.js';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider/index.js';
import { gcpArchitecture, gcpDiskType } from '../config/gcp-machines.js';
import { addBackend } from './backend.js';
import { cloudInitUserData } from './cloud-init.js';
import { addressOf, OUTPUT_DATA_DEVICE, OUTPUT_PUBLIC_IP, OUTPUT_SSH_USER, UBUNTU_USER, type PlatformStackConfig, type ProtectedResources } from './platform-stack.js';
import { cloudName, literal, tagsFor } from './naming.js';
import { openPorts } from './ports.js';

/**
 * The VPC network GCP creates in new projects; MyT platforms join it. An organization policy
 * (compute.skipDefaultNetworkCreation) or a person may have removed it: then the plan stops at the
 * lookup below and docs/infrastructure.md says how to create it.
 */
const NETWORK = 'default';

/** The data disk's device name on the instance. */
const DATA_DEVICE_NAME = 'data';

/**
 * A GCP platform: a Compute Engine instance with a separate persistent data disk, a static
 * external IP, and a firewall rule opening its ports to the instance's network tag.
 */
export class GcpPlatformStack extends TerraformStack {
  readonly protects: ProtectedResources;

  constructor(scope: Construct, config: PlatformStackConfig) {
    const { platform } = config;
    const name = platform.metadata.name;
    const cloud = platform.spec.cloud;
    if (cloud.provider !== 'gcp') throw new Error(`platform ${name} is not on gcp`);
    super(scope, name);
    addBackend(this, config.state, name);
    // Credentials come from GOOGLE_CREDENTIALS in Terraform's environment.
    const google = new GoogleProvider(this, 'google', { project: literal(cloud.project), region: literal(cloud.region), zone: literal(cloud.zone) });
    // Set raw: cdktf snake-cases the keys of provider maps (managed_by), while AWS keeps managed-by.
    google.addOverride('default_labels', tagsFor('platform', name));

    const diskType = gcpDiskType(cloud.machineType); // C4, N4 and others take only Hyperdisk
    const ubuntu = new DataGoogleComputeImage(this, 'ubuntu', { project: 'ubuntu-os-cloud', family: `ubuntu-2404-lts-${gcpArchitecture(cloud.machineType)}` });
    const tag = cloudName(name);
    // Looked up so a project without its default network stops at plan, naming it, before anything is created.
    const network = new DataGoogleComputeNetwork(this, 'network', { name: NETWORK });

    new ComputeFirewall(this, 'firewall', {
      name: cloudName(name),
      network: network.selfLink,
      description: `MyT platform ${name}: ${openPorts(platform).map((p) => `${p.description} ${p.port}`).join(', ')}`,
      allow: [{ protocol: 'tcp', ports: openPorts(platform).map((p) => String(p.port)) }],
      sourceRanges: ['0.0.0.0/0'],
      targetTags: [tag],
    });

    const address = new ComputeAddress(this, 'address', { name: cloudName(name), region: literal(cloud.region) });
    const data = new ComputeDisk(this, 'data_volume', {
      name: cloudName(name, 'data'),
      zone: literal(cloud.zone),
      size: platform.spec.database.sizeGb,
      type: diskType,
      lifecycle: { preventDestroy: !config.forDestroy },
    });

    const instance = new ComputeInstance(this, 'instance', {
      name: cloudName(name),
      machineType: literal(cloud.machineType),
      zone: literal(cloud.zone),
      tags: [tag],
      bootDisk: { initializeParams: { image: ubuntu.selfLink, size: cloud.diskGb, type: diskType } },
      // Attached by reference: replacing the instance detaches the disk and attaches it to the new one.
      attachedDisk: [{ source: data.id, deviceName: DATA_DEVICE_NAME }],
      networkInterface: [{ network: network.selfLink, accessConfig: [{ natIp: address.address }] }],
      metadata: {
        // OS Login, when the project enables it, ignores the keys MyT gives the VM: the instance opts out.
        'enable-oslogin': 'FALSE',
        // Read by cloud-init at creation; changing it later updates the metadata in place (no restart).
        'user-data': cloudInitUserData(this, config.keys),
      },
      allowStoppingForUpdate: true,
      // A newer Ubuntu image must not replace a running platform: the image is chosen at creation.
      lifecycle: { ignoreChanges: ['boot_disk[0].initialize_params[0].image'] },
    });

    new TerraformOutput(this, OUTPUT_PUBLIC_IP, { value: address.address });
    new TerraformOutput(this, OUTPUT_SSH_USER, { value: UBUNTU_USER });
    new TerraformOutput(this, 'instance_id', { value: instance.id });
    new TerraformOutput(this, 'data_volume_id', { value: data.id });
    // Compute Engine names an attached disk google-<device_name> under /dev/disk/by-id ("Format and mount a non-boot disk").
    new TerraformOutput(this, OUTPUT_DATA_DEVICE, { value: `/dev/disk/by-id/google-${DATA_DEVICE_NAME}` });
    this.protects = { dataVolumes: [addressOf(data)], instances: [addressOf(instance)] };
  }
}
