import { describe, expect, it } from 'vitest';
import { Construct } from 'constructs';
import { TerraformOutput, TerraformStack } from 'cdktf';
import {
  BlockstorageVolume,
  ComputeInstance,
  ComputeVolumeAttach,
  DataNetworkingPort,
  NetworkingFloatingip,
  NetworkingFloatingipAssociate,
  OpenstackProvider,
} from '../../src/infra/openstack-resources.js';
import { synthesizeStack } from '../../src/infra/stacks.js';

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any -- walking synthesized JSON by path */

function synth(build: (stack: TerraformStack) => void): any {
  const stack = new TerraformStack(new Construct(undefined as unknown as Construct, ''), 'os');
  new OpenstackProvider(stack, 'openstack', { authUrl: 'https://k:5000/v3', tenantName: 't', region: 'RegionOne' });
  build(stack);
  return synthesizeStack(stack);
}

describe('typed OpenStack resources on cdktf TerraformResource', () => {
  it('synthesizes each class to its Terraform type with snake_case attributes', () => {
    const json = synth((s) => {
      new BlockstorageVolume(s, 'vol', { name: 'v', size: 5, availabilityZone: 'nova' });
      new NetworkingFloatingip(s, 'fip', { pool: 'public' });
    });
    expect(json.resource.openstack_blockstorage_volume_v3.vol).toMatchObject({ name: 'v', size: 5, availability_zone: 'nova' });
    expect(json.resource.openstack_networking_floatingip_v2.fip).toMatchObject({ pool: 'public' });
  });

  it('leaves unset optional attributes out of the JSON', () => {
    const json = synth((s) => void new BlockstorageVolume(s, 'vol', { name: 'v', size: 5, availabilityZone: 'nova' }));
    expect(Object.keys(json.resource.openstack_blockstorage_volume_v3.vol).sort()).toEqual(['//', 'availability_zone', 'name', 'size']);
  });

  it('exposes attributes as references for other resources and outputs', () => {
    const json = synth((s) => {
      const instance = new ComputeInstance(s, 'vm', { name: 'n', imageName: 'i', flavorName: 'f', userData: '#cloud-config', availabilityZone: 'nova', securityGroups: ['sg'], networkName: 'net' });
      const vol = new BlockstorageVolume(s, 'vol', { name: 'v', size: 5, availabilityZone: 'nova' });
      new ComputeVolumeAttach(s, 'att', { instanceId: instance.id, volumeId: vol.id });
      const fip = new NetworkingFloatingip(s, 'fip', { pool: 'public' });
      const port = new DataNetworkingPort(s, 'port', { deviceId: instance.id, networkId: instance.networkId });
      new NetworkingFloatingipAssociate(s, 'assoc', { floatingIp: fip.address, portId: port.id });
      new TerraformOutput(s, 'ip', { value: instance.accessIpV4 });
    });
    expect(json.resource.openstack_compute_volume_attach_v2.att).toMatchObject({ instance_id: '${openstack_compute_instance_v2.vm.id}', volume_id: '${openstack_blockstorage_volume_v3.vol.id}' });
    expect(json.resource.openstack_networking_floatingip_associate_v2.assoc).toMatchObject({
      floating_ip: '${openstack_networking_floatingip_v2.fip.address}',
      port_id: '${data.openstack_networking_port_v2.port.id}',
    });
    expect(json.data.openstack_networking_port_v2.port).toMatchObject({ device_id: '${openstack_compute_instance_v2.vm.id}', network_id: '${openstack_compute_instance_v2.vm.network.0.uuid}' });
    expect(json.output.ip).toEqual({ value: '${openstack_compute_instance_v2.vm.access_ip_v4}' });
  });

  it('passes lifecycle and other meta-arguments through', () => {
    const json = synth((s) => void new BlockstorageVolume(s, 'vol', { name: 'v', size: 5, availabilityZone: 'nova', lifecycle: { preventDestroy: true } }));
    expect(json.resource.openstack_blockstorage_volume_v3.vol.lifecycle).toEqual({ prevent_destroy: true });
  });

  it('declares the provider by its registry address and pins the major version', () => {
    const json = synth(() => {});
    expect(json.terraform.required_providers).toEqual({ openstack: { source: 'terraform-provider-openstack/openstack', version: '~> 3.0' } });
  });
});
