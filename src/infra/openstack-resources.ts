/**
 * Typed CDKTF classes for the few OpenStack resources MyT uses. There is no prebuilt
 * @cdktf/provider-openstack package, and generating one (cdktf get) needs the provider schema,
 * which needs a download: these hand-written classes cover exactly the attributes MyT sets and
 * reads. Attribute names are those of terraform-provider-openstack/openstack 3.x.
 */
import { Construct } from 'constructs';
import { TerraformDataSource, TerraformProvider, TerraformResource, type TerraformMetaArguments } from 'cdktf';

const PROVIDER = { name: 'openstack', source: 'terraform-provider-openstack/openstack', version: '~> 3.0' } as const;

type Attributes = Record<string, unknown>;

/** Drops unset attributes so the JSON holds only what was said (Terraform treats absent as default). */
function defined(attributes: Attributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined));
}

/** A resource whose attributes are given once, already in Terraform's snake_case. */
abstract class OpenstackResource extends TerraformResource {
  constructor(scope: Construct, id: string, type: string, private readonly attributes: Attributes, meta: TerraformMetaArguments = {}) {
    super(scope, id, {
      terraformResourceType: type,
      terraformGeneratorMetadata: { providerName: PROVIDER.name, providerVersionConstraint: PROVIDER.version },
      ...meta,
    });
  }

  protected override synthesizeAttributes(): Attributes {
    return defined(this.attributes);
  }

  get id(): string {
    return this.getStringAttribute('id');
  }
}

export interface OpenstackProviderConfig {
  /** Keystone URL. */
  readonly authUrl: string;
  /** Project (tenant) name. */
  readonly tenantName: string;
  readonly region: string;
  // No user or password here on purpose: they come from OS_USERNAME and OS_PASSWORD in Terraform's environment.
}

export class OpenstackProvider extends TerraformProvider {
  constructor(scope: Construct, id: string, private readonly config: OpenstackProviderConfig) {
    super(scope, id, {
      terraformResourceType: PROVIDER.name,
      terraformGeneratorMetadata: { providerName: PROVIDER.name, providerVersionConstraint: PROVIDER.version },
      terraformProviderSource: PROVIDER.source,
    });
  }

  protected override synthesizeAttributes(): Attributes {
    return { auth_url: this.config.authUrl, tenant_name: this.config.tenantName, region: this.config.region };
  }
}

export interface ComputeInstanceConfig extends TerraformMetaArguments {
  readonly name: string;
  readonly imageName: string;
  readonly flavorName: string;
  /** cloud-init user data (ForceNew in provider 3.x). */
  readonly userData: string;
  readonly availabilityZone: string;
  readonly securityGroups: string[];
  /** Name of the network the instance's port joins. */
  readonly networkName: string;
  readonly metadata?: Record<string, string>;
}

/** openstack_compute_instance_v2 */
export class ComputeInstance extends OpenstackResource {
  constructor(scope: Construct, id: string, config: ComputeInstanceConfig) {
    const { name, imageName, flavorName, userData, availabilityZone, securityGroups, networkName, metadata, ...meta } = config;
    super(
      scope,
      id,
      'openstack_compute_instance_v2',
      {
        name,
        image_name: imageName,
        flavor_name: flavorName,
        user_data: userData,
        availability_zone: availabilityZone,
        security_groups: securityGroups,
        network: [{ name: networkName }],
        metadata,
      },
      meta,
    );
  }

  /**
   * The id of the instance's first network (the provider looks the name up). Not `network.0.port`:
   * the provider fills that only when the configuration names a port, so it is "" here.
   */
  get networkId(): string {
    return this.getStringAttribute('network.0.uuid');
  }

  get accessIpV4(): string {
    return this.getStringAttribute('access_ip_v4');
  }
}

export interface BlockstorageVolumeConfig extends TerraformMetaArguments {
  readonly name: string;
  readonly size: number;
  readonly availabilityZone: string;
  readonly description?: string;
}

/** openstack_blockstorage_volume_v3 */
export class BlockstorageVolume extends OpenstackResource {
  constructor(scope: Construct, id: string, { name, size, availabilityZone, description, ...meta }: BlockstorageVolumeConfig) {
    super(scope, id, 'openstack_blockstorage_volume_v3', { name, size, availability_zone: availabilityZone, description }, meta);
  }
}

export interface ComputeVolumeAttachConfig extends TerraformMetaArguments {
  readonly instanceId: string;
  readonly volumeId: string;
}

/** openstack_compute_volume_attach_v2 */
export class ComputeVolumeAttach extends OpenstackResource {
  constructor(scope: Construct, id: string, { instanceId, volumeId, ...meta }: ComputeVolumeAttachConfig) {
    super(scope, id, 'openstack_compute_volume_attach_v2', { instance_id: instanceId, volume_id: volumeId }, meta);
  }
}

export interface NetworkingFloatingipConfig extends TerraformMetaArguments {
  /** Name of the external network the address comes from. */
  readonly pool: string;
  readonly description?: string;
}

/** openstack_networking_floatingip_v2 */
export class NetworkingFloatingip extends OpenstackResource {
  constructor(scope: Construct, id: string, { pool, description, ...meta }: NetworkingFloatingipConfig) {
    super(scope, id, 'openstack_networking_floatingip_v2', { pool, description }, meta);
  }

  get address(): string {
    return this.getStringAttribute('address');
  }
}

export interface DataNetworkingPortConfig extends TerraformMetaArguments {
  /** The instance the port belongs to. */
  readonly deviceId: string;
  readonly networkId: string;
}

/**
 * data openstack_networking_port_v2: the port Nova made for an instance on a network, which a
 * floating IP is associated with (as the provider's compute_instance_v2 docs show).
 */
export class DataNetworkingPort extends TerraformDataSource {
  private readonly attributes: Attributes;

  constructor(scope: Construct, id: string, { deviceId, networkId, ...meta }: DataNetworkingPortConfig) {
    super(scope, id, {
      terraformResourceType: 'openstack_networking_port_v2',
      terraformGeneratorMetadata: { providerName: PROVIDER.name, providerVersionConstraint: PROVIDER.version },
      ...meta,
    });
    this.attributes = { device_id: deviceId, network_id: networkId };
  }

  protected override synthesizeAttributes(): Attributes {
    return this.attributes;
  }

  get id(): string {
    return this.getStringAttribute('id');
  }
}

export interface NetworkingFloatingipAssociateConfig extends TerraformMetaArguments {
  readonly floatingIp: string;
  readonly portId: string;
}

/** openstack_networking_floatingip_associate_v2 (the compute-API association was removed in provider 2.0). */
export class NetworkingFloatingipAssociate extends OpenstackResource {
  constructor(scope: Construct, id: string, { floatingIp, portId, ...meta }: NetworkingFloatingipAssociateConfig) {
    super(scope, id, 'openstack_networking_floatingip_associate_v2', { floating_ip: floatingIp, port_id: portId }, meta);
  }
}
