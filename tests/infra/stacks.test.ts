import { describe, expect, it } from 'vitest';
import type { Platform } from '../../src/config/repository.js';
import { awsSpace, declared, AWS_CLOUD, GCP_CLOUD, HOST_PRIVATE_KEY, HOST_PUBLIC_KEY, LOCAL_STATE, OPENSTACK_CLOUD, openstackSpace, platform, PUBLIC_KEY, secretStrings, SSH_CLOUD } from './helpers.js';
import { firstSubnet } from '../../src/infra/aws-space.js';
import { awsArchitecture } from '../../src/infra/aws-images.js';
import type { StateLocation } from '../../src/infra/backend.js';
import { buildStacks, type SynthesizedStack } from '../../src/infra/stacks.js';

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any --
   the assertions walk synthesized Terraform JSON by path; a wrong path fails the expectation */
type Json = any;

function build(
  platforms: Platform[],
  opts: { state?: StateLocation; only?: string[]; forDestroy?: string[]; key?: string; hostKey?: string | null; awsRegion?: { region: string; zone: string } } = {},
): SynthesizedStack[] {
  const spaces = [declared(awsSpace(opts.awsRegion), 'platforms/spaces/home-net.yaml'), declared(openstackSpace(), 'platforms/spaces/lab-cloud.yaml')];
  // hostKey null: a key file made before host keys existed
  const hostPublicKey = opts.hostKey === null ? undefined : (opts.hostKey ?? HOST_PUBLIC_KEY);
  const keys = new Map(platforms.map((p) => [p.metadata.name, { publicKey: opts.key ?? PUBLIC_KEY, ...(hostPublicKey === undefined ? {} : { hostPublicKey }) }]));
  return buildStacks({ platforms: platforms.map((p) => declared(p)), spaces, keys, state: opts.state ?? LOCAL_STATE, only: opts.only, forDestroy: opts.forDestroy });
}

function stack(stacks: SynthesizedStack[], name: string): Json {
  const found = stacks.find((s) => s.name === name);
  if (!found) throw new Error(`no stack ${name} (have ${stacks.map((s) => s.name).join(', ')})`);
  return found.json;
}

const resources = (json: Json, type: string): Json => json.resource?.[type] ?? {};
const resourceTypes = (json: Json) => Object.keys(json.resource ?? {}).sort();
const ingressPorts = (json: Json) => Object.values<Json>(resources(json, 'aws_vpc_security_group_ingress_rule')).map((r) => r.from_port as number).sort((a, b) => a - b);

describe('stack order and selection', () => {
  it('puts Spaces before the platforms that use them, and makes no stack for an existing ssh server', () => {
    const stacks = build([platform('zeta', AWS_CLOUD), platform('alpha', GCP_CLOUD), platform('plain', SSH_CLOUD), platform('mill', OPENSTACK_CLOUD)]);
    expect(stacks.map((s) => `${s.kind}:${s.name}`)).toEqual(['aws-space:home-net', 'gcp-platform:alpha', 'openstack-platform:mill', 'aws-platform:zeta']);
    expect(stacks.find((s) => s.name === 'zeta')!.dependsOn).toEqual(['home-net']);
  });

  it('builds only the named platforms and the Spaces they use', () => {
    const stacks = build([platform('zeta', AWS_CLOUD), platform('alpha', GCP_CLOUD)], { only: ['alpha'] });
    expect(stacks.map((s) => s.name)).toEqual(['alpha']);
  });

  it('refuses a platform that is not declared, naming those that are', () => {
    expect(() => build([platform('zeta', AWS_CLOUD)], { only: ['ghost'] })).toThrow("no platform or Space named 'ghost' is declared under platforms/ (platforms: zeta; Spaces: home-net, lab-cloud)");
  });

  it('builds a Space alone when it is named', () => {
    const stacks = build([platform('zeta', AWS_CLOUD)], { only: ['home-net'] });
    expect(stacks.map((s) => s.name)).toEqual(['home-net']);
  });
});

describe('AWS Space stack', () => {
  const json = stack(build([platform('zeta', AWS_CLOUD)]), 'home-net');

  it('has a VPC, a subnet in the zone, an internet gateway and a route to it', () => {
    expect(resourceTypes(json)).toEqual(['aws_internet_gateway', 'aws_route_table', 'aws_route_table_association', 'aws_subnet', 'aws_vpc']);
    expect(resources(json, 'aws_vpc').vpc).toMatchObject({ cidr_block: '10.42.0.0/16', enable_dns_hostnames: true });
    expect(resources(json, 'aws_subnet').subnet).toMatchObject({ availability_zone: 'eu-west-1a', cidr_block: '10.42.0.0/24', vpc_id: '${aws_vpc.vpc.id}' });
    const routes = resources(json, 'aws_route_table').routes.route as Json[];
    expect(routes).toHaveLength(1);
    expect(routes[0]).toMatchObject({ cidr_block: '0.0.0.0/0', gateway_id: '${aws_internet_gateway.gateway.id}' });
    expect(resources(json, 'aws_route_table_association').routes_subnet).toMatchObject({ subnet_id: '${aws_subnet.subnet.id}', route_table_id: '${aws_route_table.routes.id}' });
    expect(json.provider.aws[0]).toMatchObject({ region: 'eu-west-1' });
  });

  it('outputs the VPC and subnet its platforms join', () => {
    expect(json.output).toEqual({ vpc_id: { value: '${aws_vpc.vpc.id}' }, subnet_id: { value: '${aws_subnet.subnet.id}' } });
  });

  it('keeps its state in its own key of the local backend, relative to its working folder', () => {
    expect(json.terraform.backend).toEqual({ local: { path: '../../state/home-net.tfstate' } });
  });

  it('matches its snapshot', () => {
    expect(json).toMatchSnapshot();
  });
});

describe('AWS Platform stack', () => {
  const withTls = (tls: boolean, size?: number): Json =>
    stack(build([platform('zeta', AWS_CLOUD, { broker: { tls }, database: { engine: 'influxdb', ...(size === undefined ? {} : { sizeGb: size }) } })]), 'zeta');

  it('opens SSH 22, AMQP 5672 and Grafana 3000 without TLS', () => {
    expect(ingressPorts(withTls(false))).toEqual([22, 3000, 5672]);
  });

  it('opens AMQP on 5671 instead of 5672 with TLS', () => {
    expect(ingressPorts(withTls(true))).toEqual([22, 3000, 5671]);
  });

  it('looks the Ubuntu LTS image up with a data source, and never replaces the instance for a newer one', () => {
    const json = withTls(false);
    expect(json.data.aws_ami.ubuntu).toMatchObject({ most_recent: true, owners: ['099720109477'] });
    expect(JSON.stringify(json.data.aws_ami.ubuntu.filter)).toContain('ubuntu-noble-24.04-amd64-server-*');
    expect(resources(json, 'aws_instance').instance).toMatchObject({ ami: '${data.aws_ami.ubuntu.id}', lifecycle: { ignore_changes: ['ami', 'user_data'] } });
  });

  it('uses an arm64 image for Graviton instance types', () => {
    expect(awsArchitecture('t4g.small')).toBe('arm64');
    expect(awsArchitecture('c7gd.large')).toBe('arm64');
    expect(awsArchitecture('t3a.small')).toBe('amd64');
    expect(awsArchitecture('g4dn.xlarge')).toBe('amd64');
  });

  // A1, the first Graviton generation, predates the "g after the generation" naming.
  it('uses an arm64 image for a1 instances', () => {
    const json = stack(build([platform('zeta', { ...AWS_CLOUD, instanceType: 'a1.medium' } as Platform['spec']['cloud'])]), 'zeta');
    expect(JSON.stringify(json.data.aws_ami.ubuntu.filter)).toContain('ubuntu-noble-24.04-arm64-server-*');
  });

  // Canonical publishes under another account in GovCloud and China (its "Find Ubuntu images on AWS").
  it.each([
    ['eu-west-1', 'eu-west-1a', '099720109477'],
    ['us-gov-west-1', 'us-gov-west-1a', '513442679011'],
    ['cn-north-1', 'cn-north-1a', '837727238323'],
  ])("looks the image up under Canonical's account of the partition of %s", (region, zone, owner) => {
    const json = stack(build([platform('zeta', AWS_CLOUD)], { awsRegion: { region, zone } }), 'zeta');
    expect(json.data.aws_ami.ubuntu.owners).toEqual([owner]);
  });

  it("puts the instance in the Space's subnet, read from the Space's state", () => {
    const json = withTls(false);
    expect(json.data.terraform_remote_state.space).toEqual({ backend: 'local', config: { path: '../../state/home-net.tfstate' } });
    expect(resources(json, 'aws_instance').instance.subnet_id).toBe('${data.terraform_remote_state.space.outputs.subnet_id}');
    expect(resources(json, 'aws_security_group').firewall.vpc_id).toBe('${data.terraform_remote_state.space.outputs.vpc_id}');
  });

  it.each([1, 10, 40, 16384])('keeps a %i GB data volume apart from the instance, attached, and protected from destruction', (size) => {
    const json = withTls(false, size);
    const instance = resources(json, 'aws_instance').instance;
    expect(instance.ebs_block_device).toBeUndefined();
    expect(instance.root_block_device).toMatchObject({ volume_size: 10, encrypted: true });
    expect(resources(json, 'aws_ebs_volume').data_volume).toMatchObject({ size: size, availability_zone: 'eu-west-1a', encrypted: true, lifecycle: { prevent_destroy: true } });
    expect(resources(json, 'aws_volume_attachment').data_volume_attachment).toMatchObject({
      instance_id: '${aws_instance.instance.id}',
      volume_id: '${aws_ebs_volume.data_volume.id}',
    });
  });

  it('defaults the data volume to the schema default of 10 GB', () => {
    expect(resources(withTls(false), 'aws_ebs_volume').data_volume.size).toBe(10);
  });

  it('lifts prevent_destroy on the data volume only when synthesized for destroy', () => {
    const json = stack(build([platform('zeta', AWS_CLOUD)], { forDestroy: ['zeta'] }), 'zeta');
    expect(resources(json, 'aws_ebs_volume').data_volume.lifecycle).toEqual({ prevent_destroy: false });
  });

  it('has an Elastic IP and outputs the public IP', () => {
    const json = withTls(false);
    expect(resources(json, 'aws_eip').address).toMatchObject({ domain: 'vpc', instance: '${aws_instance.instance.id}' });
    expect(json.output.public_ip).toEqual({ value: '${aws_eip.address.public_ip}' });
    expect(json.output.ssh_user).toEqual({ value: 'ubuntu' });
  });

  it('names the resources the plan summary protects', () => {
    const s = build([platform('zeta', AWS_CLOUD)]).find((x) => x.name === 'zeta')!;
    expect(s.protects).toEqual({ dataVolumes: ['aws_ebs_volume.data_volume'], instances: ['aws_instance.instance'] });
    expect(s.credentials).toEqual({ provider: 'aws', file: 'secrets/aws.enc.yaml' });
  });

  it.each([false, true])('matches its snapshot (TLS %s)', (tls) => {
    expect(withTls(tls, 20)).toMatchSnapshot();
  });

  it.each<Platform['spec']['database']>([
    { engine: 'mongodb', sizeGb: 20 },
    { engine: 'timescaledb', sizeGb: 20, tables: { climate: { temperature: 'double' } } },
    { engine: 'mysql', sizeGb: 20, tables: { climate: { temperature: 'double' } } },
  ])('builds the same infrastructure for $engine as for influxdb: only the size matters to it', (database) => {
    const influx = stack(build([platform('zeta', AWS_CLOUD, { database: { engine: 'influxdb', sizeGb: 20 } })]), 'zeta');
    expect(stack(build([platform('zeta', AWS_CLOUD, { database })]), 'zeta')).toEqual(influx);
  });
});

describe('GCP Platform stack', () => {
  const gcp = (tls: boolean, size?: number): Json =>
    stack(build([platform('meteo', GCP_CLOUD, { broker: { tls }, database: { engine: 'influxdb', ...(size === undefined ? {} : { sizeGb: size }) } })]), 'meteo');

  it('has an instance, a separate persistent data disk, a firewall rule and a static IP', () => {
    expect(resourceTypes(gcp(false))).toEqual(['google_compute_address', 'google_compute_disk', 'google_compute_firewall', 'google_compute_instance']);
  });

  it.each([false, true])('opens 22, the AMQP port and 3000 to the instance tag (TLS %s)', (tls) => {
    const fw = resources(gcp(tls), 'google_compute_firewall').firewall;
    expect(fw.allow).toEqual([{ protocol: 'tcp', ports: ['22', tls ? '5671' : '5672', '3000'] }]);
    expect(fw.target_tags).toEqual(['myt-meteo']);
    expect(resources(gcp(tls), 'google_compute_instance').instance.tags).toEqual(['myt-meteo']);
  });

  it.each([1, 10, 50, 16384])('attaches a separate %i GB data disk by reference, protected from destruction', (size) => {
    const json = gcp(false, size);
    expect(resources(json, 'google_compute_disk').data_volume).toMatchObject({ size, zone: 'europe-west1-b', lifecycle: { prevent_destroy: true } });
    const instance = resources(json, 'google_compute_instance').instance;
    expect(instance.attached_disk).toEqual([{ source: '${google_compute_disk.data_volume.id}', device_name: 'data' }]);
    expect(instance.boot_disk.initialize_params).toMatchObject({ image: '${data.google_compute_image.ubuntu.self_link}', size: 10 });
  });

  it('uses the static IP for the instance and outputs it', () => {
    const json = gcp(false);
    const instance = resources(json, 'google_compute_instance').instance;
    expect(instance.network_interface[0].access_config).toEqual([{ nat_ip: '${google_compute_address.address.address}' }]);
    expect(json.output.public_ip).toEqual({ value: '${google_compute_address.address.address}' });
    expect(json.data.google_compute_image.ubuntu).toEqual(expect.objectContaining({ family: 'ubuntu-2404-lts-amd64', project: 'ubuntu-os-cloud' }));
    expect(json.provider.google[0]).toMatchObject({ project: 'myt-demo', region: 'europe-west1', zone: 'europe-west1-b' });
    expect(json.provider.google[0].credentials).toBeUndefined();
  });

  it('labels every resource as AWS tags them: managed-by and myt-platform, not the snake_case cdktf makes of provider maps', () => {
    expect(gcp(false).provider.google[0].default_labels).toEqual({ 'managed-by': 'myt', 'myt-platform': 'meteo' });
    expect(stack(build([platform('zeta', AWS_CLOUD)]), 'zeta').provider.aws[0].default_tags[0].tags).toEqual({ 'managed-by': 'myt', 'myt-platform': 'zeta' });
  });

  it('opts the instance out of OS Login, which would ignore the keys MyT gives it', () => {
    expect(resources(gcp(false), 'google_compute_instance').instance.metadata['enable-oslogin']).toBe('FALSE');
  });

  it("looks up the project's default network, so a project without one stops at plan before anything is created", () => {
    const json = gcp(false);
    expect(json.data.google_compute_network.network).toEqual(expect.objectContaining({ name: 'default' }));
    expect(resources(json, 'google_compute_firewall').firewall.network).toBe('${data.google_compute_network.network.self_link}');
    expect(resources(json, 'google_compute_instance').instance.network_interface[0].network).toBe('${data.google_compute_network.network.self_link}');
  });

  // C4, C4A, N4 (and the other series missing from "About Persistent Disk", Machine series support)
  // attach only Hyperdisk: pd-balanced fails at apply for the boot disk and for the data disk.
  it.each([
    ['e2-small', 'pd-balanced', 'amd64'],
    ['n2-standard-2', 'pd-balanced', 'amd64'],
    ['t2a-standard-1', 'pd-balanced', 'arm64'],
    ['c4-standard-2', 'hyperdisk-balanced', 'amd64'],
    ['c4a-standard-1', 'hyperdisk-balanced', 'arm64'],
    ['n4-standard-2', 'hyperdisk-balanced', 'amd64'],
  ])('gives %s %s boot and data disks and the %s image', (machineType, diskType, arch) => {
    const json = stack(build([platform('meteo', { ...GCP_CLOUD, machineType } as Platform['spec']['cloud'])]), 'meteo');
    expect(resources(json, 'google_compute_disk').data_volume.type).toBe(diskType);
    expect(resources(json, 'google_compute_instance').instance.boot_disk.initialize_params.type).toBe(diskType);
    expect(json.data.google_compute_image.ubuntu.family).toBe(`ubuntu-2404-lts-${arch}`);
  });

  it.each([false, true])('matches its snapshot (TLS %s)', (tls) => {
    expect(gcp(tls, 50)).toMatchSnapshot();
  });
});

describe('OpenStack Platform stack', () => {
  const os = (size?: number): Json =>
    stack(build([platform('mill', OPENSTACK_CLOUD, { database: { engine: 'influxdb', ...(size === undefined ? {} : { sizeGb: size }) } })]), 'mill');

  it('uses the openstack provider from its registry address, with no user or password in it', () => {
    const json = os();
    expect(json.terraform.required_providers.openstack).toEqual({ source: 'terraform-provider-openstack/openstack', version: '~> 3.0' });
    expect(json.provider.openstack).toEqual([{ auth_url: 'https://keystone.example.org:5000/v3', tenant_name: 'iot-lab', region: 'RegionOne' }]);
  });

  it("puts the instance on the Space's network and security group, with a floating IP", () => {
    const json = os();
    expect(resources(json, 'openstack_compute_instance_v2').instance).toMatchObject({
      image_name: 'Ubuntu 24.04',
      flavor_name: 'm1.small',
      availability_zone: 'nova',
      security_groups: ['iot-lab'],
      network: [{ name: 'iot-lab-net' }],
    });
    expect(resources(json, 'openstack_networking_floatingip_v2').address).toMatchObject({ pool: 'public' });
    expect(json.output.public_ip).toEqual({ value: '${openstack_networking_floatingip_v2.address.address}' });
  });

  // terraform-provider-openstack 3.x (openstack/compute_instance_v2.go, flattenInstanceNetworks):
  // network.N.port holds only what the configuration set, so with `network { name }` it is "" and
  // Neutron refuses an association with an empty port. The provider's docs (compute_instance_v2.md,
  // "Instance With Multiple Networks") look the port up by device_id and network_id instead.
  it("binds the floating IP to the instance's port, looked up by device and network, never to network.0.port", () => {
    const json = os();
    expect(json.data.openstack_networking_port_v2.port).toEqual(
      expect.objectContaining({ device_id: '${openstack_compute_instance_v2.instance.id}', network_id: '${openstack_compute_instance_v2.instance.network.0.uuid}' }),
    );
    expect(resources(json, 'openstack_networking_floatingip_associate_v2').address_association).toMatchObject({
      floating_ip: '${openstack_networking_floatingip_v2.address.address}',
      port_id: '${data.openstack_networking_port_v2.port.id}',
    });
    expect(JSON.stringify(json)).not.toContain('network.0.port');
  });

  // Provider 3.x rebuilds the server in place when image_name/image_id change (Update: servers.Rebuild),
  // which wipes the root disk and shows only as an update: the image is chosen at creation.
  it('never rebuilds the instance for another image of the same name', () => {
    expect(resources(os(), 'openstack_compute_instance_v2').instance.lifecycle.ignore_changes).toEqual(expect.arrayContaining(['image_name', 'image_id']));
  });

  it.each([1, 30, 16384])('keeps a separate %i GB volume, attached to the instance, protected from destruction', (size) => {
    const json = os(size);
    expect(resources(json, 'openstack_blockstorage_volume_v3').data_volume).toMatchObject({ size, availability_zone: 'nova', lifecycle: { prevent_destroy: true } });
    expect(resources(json, 'openstack_compute_volume_attach_v2').data_volume_attachment).toEqual(
      expect.objectContaining({ instance_id: '${openstack_compute_instance_v2.instance.id}', volume_id: '${openstack_blockstorage_volume_v3.data_volume.id}' }),
    );
  });

  it('matches its snapshot', () => {
    expect(os(30)).toMatchSnapshot();
  });
});

// The login key and the VM's host key reach the VM through cloud-init user data, on every cloud;
// what the providers do when user data changes was checked in their source:
//  - aws 6.x (internal/service/ec2/ec2_instance.go): user_data is updated with a stop and start of
//    the instance, or replaces it when user_data_replace_on_change; key_name is ForceNew.
//  - openstack 3.x (openstack/resource_openstack_compute_instance_v2.go): user_data and key_pair
//    are ForceNew.
//  - google 6.50 (google/services/compute/resource_compute_instance.go): metadata is a plain map,
//    updated in place with setMetadata.
describe('keys through cloud-init', () => {
  const clouds = [
    { name: 'zeta', cloud: AWS_CLOUD, instance: ['aws_instance', 'instance'], userData: (i: Json): Json => i.user_data },
    { name: 'meteo', cloud: GCP_CLOUD, instance: ['google_compute_instance', 'instance'], userData: (i: Json): Json => i.metadata['user-data'] },
    { name: 'mill', cloud: OPENSTACK_CLOUD, instance: ['openstack_compute_instance_v2', 'instance'], userData: (i: Json): Json => i.user_data },
  ] as const;
  const synth = (c: (typeof clouds)[number], opts: Parameters<typeof build>[1] = {}): Json => stack(build([platform(c.name, c.cloud)], opts), c.name);
  const instanceOf = (c: (typeof clouds)[number], json: Json): Json => resources(json, c.instance[0])[c.instance[1]];

  it.each(clouds)('$name: no cloud key pair; the user data holds the login key and the host key pair, the private half as a sensitive variable', (c) => {
    const json = synth(c);
    expect(Object.keys(json.resource)).not.toEqual(expect.arrayContaining(['aws_key_pair']));
    expect(Object.keys(json.resource)).not.toEqual(expect.arrayContaining(['openstack_compute_keypair_v2']));
    const instance = instanceOf(c, json);
    expect(instance.key_name).toBeUndefined();
    expect(instance.key_pair).toBeUndefined();
    const login = PUBLIC_KEY.split(' ').slice(0, 2).join(' ');
    const host = HOST_PUBLIC_KEY.split(' ').slice(0, 2).join(' ');
    expect(c.userData(instance)).toBe(
      `#cloud-config\n\${yamlencode({"ssh_authorized_keys" = ["${login}"], "ssh_deletekeys" = true, "ssh_keys" = {"ed25519_private" = var.host_private_key, "ed25519_public" = "${host}"}})}`,
    );
    expect(json.variable).toEqual({ host_private_key: expect.objectContaining({ type: 'string', sensitive: true, nullable: false }) });
    expect(json.variable.host_private_key.default).toBeUndefined();
    expect(build([platform(c.name, c.cloud)]).find((st) => st.name === c.name)!.hostKeyFile).toBe(`secrets/keys/${c.name}.enc.yaml`);
  });

  it.each(clouds)('$name: rotating the login key or the host key changes the user data only, and never forces a new VM', (c) => {
    const before = synth(c);
    const after = synth(c, { key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRotatedLoginKey000000000000000000000000000', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRotatedHostKey0000000000000000000000000000' });
    const changed = differingPaths(before, after);
    expect(changed.length).toBeGreaterThan(0);
    const userDataPath = c.instance[0] === 'google_compute_instance' ? 'metadata.user-data' : 'user_data';
    expect(changed).toEqual(changed.map(() => `resource.${c.instance.join('.')}.${userDataPath}`));
    const instance = instanceOf(c, after);
    // AWS would stop and start the instance to write it (or replace it), OpenStack would replace it:
    // cloud-init reads user data only at creation, so both leave it alone on a running VM.
    if (c.instance[0] !== 'google_compute_instance') expect(instance.lifecycle.ignore_changes).toContain('user_data');
    if (c.instance[0] === 'aws_instance') expect(instance.user_data_replace_on_change).toBe(false);
  });

  it.each(clouds)('$name: a key file made before host keys existed gives the login key only, and no variable to feed', (c) => {
    const json = synth(c, { hostKey: null });
    expect(c.userData(instanceOf(c, json))).toBe(`#cloud-config\n\${yamlencode({"ssh_authorized_keys" = ["${PUBLIC_KEY.split(' ').slice(0, 2).join(' ')}"]})}`);
    expect(json.variable).toBeUndefined();
    expect(build([platform(c.name, c.cloud)], { hostKey: null }).find((st) => st.name === c.name)!.hostKeyFile).toBeUndefined();
  });

  it('leaves a key comment out of the user data, so no character of it reaches the yamlencode() call', () => {
    const json = synth(clouds[0], { key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1yt "} ${file("/etc/passwd")}' });
    expect(resources(json, 'aws_instance').instance.user_data).toContain('"ssh_authorized_keys" = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1yt"]');
    expect(JSON.stringify(json)).not.toContain('passwd');
  });
});

/** Paths (a.b.c) where two synthesized JSON documents differ. */
function differingPaths(a: Json, b: Json, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return [path.slice(1)];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) => differingPaths(a[k], b[k], `${path}.${k}`));
}

// The provisioning step finds the data volume by a name that survives reboots and replacements,
// then mounts it by filesystem UUID: /dev/sdf shows up as nvme1n1 on Nitro, GCP and OpenStack
// name devices their own way.
describe('where the data volume appears on the VM', () => {
  const device = (p: Platform): Json => stack(build([p]), p.metadata.name).output.data_volume_device;

  it('AWS (Nitro): the NVMe by-id name made of the volume id without its dash', () => {
    expect(device(platform('zeta', AWS_CLOUD))).toEqual({ value: '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${replace(aws_ebs_volume.data_volume.id, "-", "")}' });
  });

  it("GCP: google-<device name>, the attached disk's device name", () => {
    const json = stack(build([platform('meteo', GCP_CLOUD)]), 'meteo');
    expect(resources(json, 'google_compute_instance').instance.attached_disk[0].device_name).toBe('data');
    expect(json.output.data_volume_device).toEqual({ value: '/dev/disk/by-id/google-data' });
  });

  it('OpenStack: virtio-<first 20 characters of the volume id>, the serial virtio-blk keeps', () => {
    expect(device(platform('mill', OPENSTACK_CLOUD))).toEqual({ value: '/dev/disk/by-id/virtio-${substr(openstack_blockstorage_volume_v3.data_volume.id, 0, 20)}' });
  });
});

describe('what never enters the JSON', () => {
  it('holds no credential string for any provider, option or backend', () => {
    const platforms = [
      platform('zeta', AWS_CLOUD, { broker: { tls: true } }),
      platform('yota', AWS_CLOUD),
      platform('meteo', GCP_CLOUD),
      platform('mill', OPENSTACK_CLOUD),
    ];
    const states: StateLocation[] = [
      LOCAL_STATE,
      { ...LOCAL_STATE, backend: { backend: 's3', bucket: 'myt-state', region: 'eu-west-1', prefix: 'myt', credentials: 'secrets/aws.enc.yaml' } },
      { ...LOCAL_STATE, backend: { backend: 'gcs', bucket: 'myt-state', prefix: 'myt', credentials: 'secrets/gcp.enc.yaml' } },
    ];
    let checked = 0;
    for (const state of states) {
      for (const s of build(platforms, { state })) {
        const text = JSON.stringify(s.json);
        for (const secret of [...secretStrings(), HOST_PRIVATE_KEY, ...HOST_PRIVATE_KEY.split('\n').filter((l) => l.length > 20)]) expect(text).not.toContain(secret);
        expect(text).not.toMatch(/access_key|secret_key|password|"credentials"|PRIVATE KEY/i);
        checked++;
      }
    }
    expect(checked).toBe(15);
  });

  it('escapes Terraform template syntax in values from the YAML, so they stay literal text', () => {
    const json = stack(build([platform('mill', { ...OPENSTACK_CLOUD, image: 'evil ${file("/etc/passwd")} %{ if true }' } as Platform['spec']['cloud'])]), 'mill');
    expect(resources(json, 'openstack_compute_instance_v2').instance.image_name).toBe('evil $${file("/etc/passwd")} %%{ if true }');
  });
});

describe('state backends from myt.yaml', () => {
  it('gives each stack its own key in S3, with locking, and reads the Space from the same bucket', () => {
    const state: StateLocation = { ...LOCAL_STATE, backend: { backend: 's3', bucket: 'myt-state', region: 'eu-central-1', prefix: 'team/myt' } };
    const stacks = build([platform('zeta', AWS_CLOUD)], { state });
    expect(stack(stacks, 'home-net').terraform.backend.s3).toEqual({ bucket: 'myt-state', region: 'eu-central-1', key: 'team/myt/home-net.tfstate', encrypt: true, use_lockfile: true });
    const platformJson = stack(stacks, 'zeta');
    expect(platformJson.terraform.backend.s3.key).toBe('team/myt/zeta.tfstate');
    expect(platformJson.data.terraform_remote_state.space).toEqual({ backend: 's3', config: { bucket: 'myt-state', region: 'eu-central-1', key: 'team/myt/home-net.tfstate' } });
  });

  // use_lockfile came in Terraform 1.10 and OpenTofu 1.10: older ones fail at init on an unknown argument.
  it('requires Terraform 1.10 in every stack whose S3 backend locks by lock file, and nothing for the others', () => {
    const s3: StateLocation = { ...LOCAL_STATE, backend: { backend: 's3', bucket: 'myt-state', region: 'eu-central-1', prefix: 'myt' } };
    const gcs: StateLocation = { ...LOCAL_STATE, backend: { backend: 'gcs', bucket: 'myt-state', prefix: 'myt' } };
    const platforms = [platform('zeta', AWS_CLOUD), platform('meteo', GCP_CLOUD), platform('mill', OPENSTACK_CLOUD)];
    for (const s of build(platforms, { state: s3 })) expect((s.json as Json).terraform.required_version, s.name).toBe('>= 1.10.0');
    for (const state of [LOCAL_STATE, gcs]) for (const s of build(platforms, { state })) expect((s.json as Json).terraform.required_version, s.name).toBeUndefined();
  });

  it('gives each stack its own prefix in GCS', () => {
    const state: StateLocation = { ...LOCAL_STATE, backend: { backend: 'gcs', bucket: 'myt-state', prefix: 'myt' } };
    const stacks = build([platform('meteo', GCP_CLOUD)], { state });
    expect(stack(stacks, 'meteo').terraform.backend).toEqual({ gcs: { bucket: 'myt-state', prefix: 'myt/meteo' } });
  });
});

describe('subnet of a Space', () => {
  it.each([
    ['10.42.0.0/16', '10.42.0.0/24'],
    ['172.16.0.0/12', '172.16.0.0/20'],
    ['192.168.7.0/24', '192.168.7.0/28'],
    ['10.0.0.0/8', '10.0.0.0/16'],
    ['10.1.2.3/16', '10.1.0.0/24'],
  ])('takes the first block of %s: %s', (cidr, subnet) => {
    expect(firstSubnet(cidr)).toBe(subnet);
  });
});
