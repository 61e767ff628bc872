import { describe, expect, it } from 'vitest';
import type { Platform } from '../../src/config/repository.js';
import { awsSpace, declared, AWS_CLOUD, GCP_CLOUD, LOCAL_STATE, OPENSTACK_CLOUD, openstackSpace, platform, PUBLIC_KEY, secretStrings, SSH_CLOUD } from './helpers.js';
import { firstSubnet } from '../../src/infra/aws-space.js';
import { awsArchitecture } from '../../src/infra/aws-platform.js';
import type { StateLocation } from '../../src/infra/backend.js';
import { buildStacks, type SynthesizedStack } from '../../src/infra/stacks.js';

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any --
   the assertions walk synthesized Terraform JSON by path; a wrong path fails the expectation */
type Json = any;

function build(platforms: Platform[], opts: { state?: StateLocation; only?: string[]; forDestroy?: string[]; key?: string } = {}): SynthesizedStack[] {
  const spaces = [declared(awsSpace(), 'platforms/spaces/home-net.yaml'), declared(openstackSpace(), 'platforms/spaces/lab-cloud.yaml')];
  const keys = new Map(platforms.map((p) => [p.metadata.name, opts.key ?? PUBLIC_KEY]));
  return buildStacks({ platforms: platforms.map((p) => declared(p)), spaces, publicKeys: keys, state: opts.state ?? LOCAL_STATE, only: opts.only, forDestroy: opts.forDestroy });
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
    expect(resources(json, 'aws_instance').instance).toMatchObject({ ami: '${data.aws_ami.ubuntu.id}', lifecycle: { ignore_changes: ['ami'] } });
  });

  it('uses an arm64 image for Graviton instance types', () => {
    expect(awsArchitecture('t4g.small')).toBe('arm64');
    expect(awsArchitecture('c7gd.large')).toBe('arm64');
    expect(awsArchitecture('t3a.small')).toBe('amd64');
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

  it("has an Elastic IP, a key pair made from the platform's public key, and outputs the public IP", () => {
    const json = withTls(false);
    expect(resources(json, 'aws_eip').address).toMatchObject({ domain: 'vpc', instance: '${aws_instance.instance.id}' });
    expect(resources(json, 'aws_key_pair').key_pair).toMatchObject({ key_name: 'myt-zeta', public_key: PUBLIC_KEY });
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

  it('uses the static IP for the instance, outputs it, and logs in with the public key', () => {
    const json = gcp(false);
    const instance = resources(json, 'google_compute_instance').instance;
    expect(instance.network_interface[0].access_config).toEqual([{ nat_ip: '${google_compute_address.address.address}' }]);
    expect(instance.metadata['ssh-keys']).toBe(`ubuntu:${PUBLIC_KEY}`);
    expect(json.output.public_ip).toEqual({ value: '${google_compute_address.address.address}' });
    expect(json.data.google_compute_image.ubuntu).toEqual(expect.objectContaining({ family: 'ubuntu-2404-lts-amd64', project: 'ubuntu-os-cloud' }));
    expect(json.provider.google[0]).toMatchObject({ project: 'myt-demo', region: 'europe-west1', zone: 'europe-west1-b' });
    expect(json.provider.google[0].credentials).toBeUndefined();
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

  it("puts the instance on the Space's network and security group, with a key pair and a floating IP bound to its port", () => {
    const json = os();
    expect(resources(json, 'openstack_compute_instance_v2').instance).toMatchObject({
      image_name: 'Ubuntu 24.04',
      flavor_name: 'm1.small',
      key_pair: '${openstack_compute_keypair_v2.key_pair.name}',
      availability_zone: 'nova',
      security_groups: ['iot-lab'],
      network: [{ name: 'iot-lab-net' }],
    });
    expect(resources(json, 'openstack_compute_keypair_v2').key_pair).toMatchObject({ name: 'myt-mill', public_key: PUBLIC_KEY });
    expect(resources(json, 'openstack_networking_floatingip_v2').address).toMatchObject({ pool: 'public' });
    expect(resources(json, 'openstack_networking_floatingip_associate_v2').address_association).toMatchObject({
      floating_ip: '${openstack_networking_floatingip_v2.address.address}',
      port_id: '${openstack_compute_instance_v2.instance.network.0.port}',
    });
    expect(json.output.public_ip).toEqual({ value: '${openstack_networking_floatingip_v2.address.address}' });
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
        for (const secret of secretStrings()) expect(text).not.toContain(secret);
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
