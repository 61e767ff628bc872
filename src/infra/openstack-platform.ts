import { Construct } from 'constructs';
import { Fn, TerraformOutput, TerraformStack } from 'cdktf';
import type { OpenstackSpace } from '../config/types/space.generated.js';
import { addBackend } from './backend.js';
import { cloudInitUserData } from './cloud-init.js';
import {
  BlockstorageVolume,
  ComputeInstance,
  ComputeVolumeAttach,
  DataNetworkingPort,
  NetworkingFloatingip,
  NetworkingFloatingipAssociate,
  OpenstackProvider,
} from './openstack-resources.js';
import { addressOf, OUTPUT_DATA_DEVICE, OUTPUT_PUBLIC_IP, OUTPUT_SSH_USER, UBUNTU_USER, type PlatformStackConfig, type ProtectedResources } from './platform-stack.js';
import { cloudName, literal } from './naming.js';

export interface OpenstackPlatformStackConfig extends PlatformStackConfig {
  /** The Space holding the project's network settings (defaults filled in: region). */
  readonly space: { readonly name: string; readonly spec: OpenstackSpace & { region: string } };
}

/**
 * An OpenStack platform: a Nova instance on the Space's network and security group, a separate
 * Cinder data volume and a floating IP; its keys arrive through cloud-init. An OpenStack Space creates nothing (its
 * networks and security group already exist), so it has no stack and the platform reads it directly.
 */
export class OpenstackPlatformStack extends TerraformStack {
  readonly protects: ProtectedResources;

  constructor(scope: Construct, config: OpenstackPlatformStackConfig) {
    const { platform, space } = config;
    const name = platform.metadata.name;
    const cloud = platform.spec.cloud;
    if (cloud.provider !== 'openstack') throw new Error(`platform ${name} is not on openstack`);
    super(scope, name);
    addBackend(this, config.state, name);
    // User and password come from OS_USERNAME / OS_PASSWORD in Terraform's environment.
    new OpenstackProvider(this, 'openstack', { authUrl: literal(space.spec.authUrl), tenantName: literal(space.spec.tenant), region: literal(space.spec.region) });

    const instance = new ComputeInstance(this, 'instance', {
      name: cloudName(name),
      imageName: literal(cloud.image),
      flavorName: literal(cloud.flavor),
      // Keys arrive through cloud-init, not a Nova key pair (key_pair forces a new server in provider 3.x).
      userData: cloudInitUserData(this, config.keys),
      availabilityZone: literal(space.spec.zone),
      securityGroups: [literal(space.spec.securityGroup)],
      networkName: literal(space.spec.internalNetwork),
      metadata: { 'managed-by': 'myt', 'myt-platform': name },
      // Provider 3.x rebuilds a server in place (wiping its root disk) when image_name resolves to
      // another image, as when the cloud renames or replaces "Ubuntu 24.04": the image is chosen
      // at creation, as on AWS and GCP (resource_openstack_compute_instance_v2.go, Update).
      // user_data is ForceNew in provider 3.x, and cloud-init reads it only at creation.
      lifecycle: { ignoreChanges: ['image_name', 'image_id', 'user_data'] },
    });
    const data = new BlockstorageVolume(this, 'data_volume', {
      name: cloudName(name, 'data'),
      size: platform.spec.database.sizeGb,
      availabilityZone: literal(space.spec.zone),
      description: `MyT platform ${name}: database data`,
      lifecycle: { preventDestroy: !config.forDestroy },
    });
    new ComputeVolumeAttach(this, 'data_volume_attachment', { instanceId: instance.id, volumeId: data.id });
    const address = new NetworkingFloatingip(this, 'address', { pool: literal(space.spec.externalNetwork), description: cloudName(name) });
    const port = new DataNetworkingPort(this, 'port', { deviceId: instance.id, networkId: instance.networkId });
    new NetworkingFloatingipAssociate(this, 'address_association', { floatingIp: address.address, portId: port.id });

    new TerraformOutput(this, OUTPUT_PUBLIC_IP, { value: address.address });
    new TerraformOutput(this, OUTPUT_SSH_USER, { value: UBUNTU_USER });
    new TerraformOutput(this, 'instance_id', { value: instance.id });
    new TerraformOutput(this, 'data_volume_id', { value: data.id });
    // Nova gives a virtio disk the volume id as its serial, which virtio-blk cuts to 20 bytes
    // (VIRTIO_BLK_ID_BYTES) and udev links as virtio-<serial>. Clouds that attach volumes over
    // virtio-scsi name it scsi-0QEMU_QEMU_HARDDISK_<volume id> instead.
    new TerraformOutput(this, OUTPUT_DATA_DEVICE, { value: `/dev/disk/by-id/virtio-${Fn.substr(data.id, 0, 20)}` });
    this.protects = { dataVolumes: [addressOf(data)], instances: [addressOf(instance)] };
  }
}
