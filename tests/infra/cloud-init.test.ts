// The user data and device names the stacks write, evaluated by the real Terraform CLI
// (/usr/local/bin/terraform): each expression is copied from a synthesized stack into a
// configuration of outputs only (no provider, no download), with the stack's own variable
// declaration, and applied with the host private key given the way `myt apply` gives it: through
// TF_VAR_host_private_key in Terraform's environment (hostKeyEnv), never in the JSON.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeNeeding } from '../helpers/needs.js';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hostKeyEnv } from '../../src/infra/credentials.js';
import { buildStacks } from '../../src/infra/stacks.js';
import { TerraformError, terraformEnv, TerraformRunner } from '../../src/infra/terraform/runner.js';
import { generateSshKeyPair } from '../../src/secrets/index.js';
import { HOST_KEY_FIELDS, sshKeyProblems } from '../../src/secrets/ssh-keys.js';
import { awsSpace, declared, AWS_CLOUD, GCP_CLOUD, LOCAL_STATE, OPENSTACK_CLOUD, openstackSpace, platform, TERRAFORM, TERRAFORM_NEED } from './helpers.js';

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any -- walking synthesized JSON by path */
type Json = any;

const login = generateSshKeyPair('myt-test');
const host = generateSshKeyPair('myt-test-host');

function synth(name: string, cloud: (typeof AWS_CLOUD)): Json {
  const stacks = buildStacks({
    platforms: [declared(platform(name, cloud))],
    spaces: [declared(awsSpace()), declared(openstackSpace())],
    keys: new Map([[name, { publicKey: login.publicKey, hostPublicKey: host.publicKey }]]),
    state: LOCAL_STATE,
  });
  return stacks.find((s) => s.name === name)!.json;
}

const CLOUDS = [
  { name: 'zeta', cloud: AWS_CLOUD, userData: (j: Json): Json => j.resource.aws_instance.instance.user_data },
  { name: 'meteo', cloud: GCP_CLOUD, userData: (j: Json): Json => j.resource.google_compute_instance.instance.metadata['user-data'] },
  { name: 'mill', cloud: OPENSTACK_CLOUD, userData: (j: Json): Json => j.resource.openstack_compute_instance_v2.instance.user_data },
];

describeNeeding(TERRAFORM_NEED, 'user data and device names, evaluated by the real Terraform CLI', () => {
  let dir: string;
  let lines: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'myt-cloud-init-'));
    lines = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Applies a configuration of outputs and returns their values. */
  async function evaluate(config: Json, credentials: Record<string, string> = {}): Promise<Record<string, unknown>> {
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(config));
    const runner = new TerraformRunner({ binary: { path: TERRAFORM, flavor: 'terraform' }, dir, env: terraformEnv(process.env, credentials), log: (l) => lines.push(l) });
    await runner.init();
    await runner.plan('p.tfplan');
    await runner.apply('p.tfplan');
    return Object.fromEntries(Object.entries(await runner.output()).map(([k, o]) => [k, o.value]));
  }

  it.each(CLOUDS)('$name: cloud-config with the login key for ubuntu and the host key pair, the private half from TF_VAR_host_private_key', async ({ name, cloud, userData }) => {
    const json = synth(name, cloud);
    const stackText = JSON.stringify(json);
    expect(stackText).not.toContain(host.privateKey.split('\n')[1]);
    const readSecrets = () => Promise.resolve({ hostPrivateKey: host.privateKey, hostPublicKey: host.publicKey });
    const registered: string[] = [];
    const env = await hostKeyEnv(`secrets/keys/${name}.enc.yaml`, { root: dir, readSecrets, registerSecret: (v) => void registered.push(v) });
    expect(env).toEqual({ TF_VAR_host_private_key: host.privateKey });
    expect(registered).toEqual([host.privateKey]);

    const out = await evaluate({ variable: json.variable, output: { user_data: { value: userData(json), sensitive: true } } }, env);
    const text = out.user_data as string;
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    expect(text.length).toBeLessThan(16_384); // aws_instance user_data limit
    const config = parse(text) as { ssh_authorized_keys: string[]; ssh_deletekeys: boolean; ssh_keys: Record<string, string> };
    expect(config).toEqual({
      ssh_authorized_keys: [login.publicKey.split(' ').slice(0, 2).join(' ')],
      ssh_deletekeys: true,
      ssh_keys: { ed25519_private: host.privateKey, ed25519_public: host.publicKey.split(' ').slice(0, 2).join(' ') },
    });
    expect(sshKeyProblems(config.ssh_keys.ed25519_private, config.ssh_keys.ed25519_public, HOST_KEY_FIELDS)).toEqual([]);
    // Terraform printed the sensitive value nowhere, and the state keeps only a sensitive output
    for (const line of host.privateKey.split('\n').filter((l) => l.length > 20)) expect(lines.join('\n')).not.toContain(line);
    expect(JSON.parse(readFileSync(join(dir, 'terraform.tfstate'), 'utf8')).outputs.user_data.sensitive).toBe(true);
  });

  it('refuses to plan a stack with a host key when TF_VAR_host_private_key is not given', async () => {
    const json = synth('zeta', AWS_CLOUD);
    const error = await evaluate({ variable: json.variable, output: { user_data: { value: json.resource.aws_instance.instance.user_data, sensitive: true } } }).catch((e: unknown) => e);
    // Terraform's own words are in the lines it printed (the error points at them rather than repeating them).
    expect(error).toBeInstanceOf(TerraformError);
    expect(lines.join('\n')).toMatch(/No value for required variable/);
  });

  it.each([
    ['zeta', AWS_CLOUD, 'aws_ebs_volume.data_volume.id', 'vol-0123456789abcdef0', '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0'],
    ['meteo', GCP_CLOUD, undefined, undefined, '/dev/disk/by-id/google-data'],
    ['mill', OPENSTACK_CLOUD, 'openstack_blockstorage_volume_v3.data_volume.id', '3c5f6a1d-8b2e-4f0a-9c1d-2e3f4a5b6c7d', '/dev/disk/by-id/virtio-3c5f6a1d-8b2e-4f0a-9'],
  ] as const)('%s: data_volume_device names the volume as udev links it', async (name, cloud, reference, id, expected) => {
    const expression = synth(name, cloud).output.data_volume_device.value as string;
    const value = reference === undefined ? expression : expression.replace(reference, JSON.stringify(id));
    expect(await evaluate({ output: { device: { value } } })).toEqual({ device: expected });
  });
});
