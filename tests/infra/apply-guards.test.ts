// myt apply with everything real but Terraform: real SOPS files decrypted with a test age key,
// the real masking registry, real synthesis. Terraform itself cannot run here against a cloud
// (provider downloads, cloud APIs), so a STAND-IN terraform (a small Node script) plays its part
// of the contract MyT relies on:
//   `init` exits 0; `plan -detailed-exitcode -out=F` writes F and exits 2 (changes);
//   `show -json F` prints Terraform's documented JSON plan representation (format_version,
//     resource_changes[] with address, mode, type, name, provider_name, change.actions,
//     action_reason) for every resource of the stack's cdk.tf.json, each with the actions the test
//     chose (plan-actions.json beside the stand-in, by stack; 'create' for the rest);
//   `apply F` prints progress lines that echo the credentials it was given, as a provider's debug
//     output can (the AWS secret key; the GCP key as JSON-escaped text), and fails with the secret
//     in its error when fail-apply exists beside it; `state list` and `output -json` answer.
// It records every call's arguments in calls.log beside it.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyCommandWith } from '../../src/cli/commands/apply.js';
import type { CliContext } from '../../src/cli/context.js';
import { loadSecretsModule } from '../../src/infra/secrets-reader.js';
import type { InfraDeps } from '../../src/cli/infra-support.js';
import { generateAgeKeyPair, resetSecretRegistry } from '../../src/secrets/index.js';
import { generateKeys, writeNewSecrets } from '../../src/secrets/operations.js';
import { sopsConfigText } from '../../src/secrets/sops-config.js';

const STAND_IN = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const here = __dirname;
const args = process.argv.slice(2);
fs.appendFileSync(path.join(here, 'calls.log'), JSON.stringify({ dir: path.basename(process.cwd()), args }) + '\\n');
const cmd = args[0];
if (cmd === 'init') { console.log('Terraform has been successfully initialized!'); process.exit(0); }
if (cmd === 'plan') { fs.writeFileSync(args.find((a) => a.startsWith('-out=')).slice(5), 'saved plan'); process.exit(2); }
if (cmd === 'show') {
  const stack = JSON.parse(fs.readFileSync('cdk.tf.json', 'utf8'));
  const byStack = fs.existsSync(path.join(here, 'plan-actions.json')) ? JSON.parse(fs.readFileSync(path.join(here, 'plan-actions.json'), 'utf8')) : {};
  const chosen = byStack[path.basename(process.cwd())] || {};
  const resource_changes = [];
  for (const [type, byName] of Object.entries(stack.resource || {})) {
    for (const name of Object.keys(byName)) {
      const address = type + '.' + name;
      const actions = chosen[address] || ['create'];
      delete chosen[address];
      const rc = { address, mode: 'managed', type, name, provider_name: 'registry.terraform.io/hashicorp/' + type.split('_')[0],
        change: { actions, before: actions[0] === 'create' ? null : {}, after: actions.includes('delete') && !actions.includes('create') ? null : {}, after_unknown: {}, before_sensitive: {}, after_sensitive: {} } };
      if (actions.length === 2) rc.action_reason = 'replace_because_cannot_update';
      if (actions.length === 1 && actions[0] === 'delete') rc.action_reason = 'delete_because_no_resource_config';
      resource_changes.push(rc);
    }
  }
  // An address the test chose that the stack does not have is a mistake in the test, not a pass.
  if (Object.keys(chosen).length) { console.error('stand-in: no such resource: ' + Object.keys(chosen)); process.exit(1); }
  console.log(JSON.stringify({ format_version: '1.2', terraform_version: '1.9.8', resource_changes }));
  process.exit(0);
}
if (cmd === 'apply') {
  if (process.env.AWS_SECRET_ACCESS_KEY) console.log('aws_instance.instance: Creating... [DEBUG] signing request with secret key ' + process.env.AWS_SECRET_ACCESS_KEY);
  if (process.env.GOOGLE_CREDENTIALS) console.log('[DEBUG] provider configured: {"credentials":' + JSON.stringify(process.env.GOOGLE_CREDENTIALS) + '}');
  if (fs.existsSync(path.join(here, 'fail-apply'))) { console.error('Error: InvalidClientTokenId: the key ' + process.env.AWS_SECRET_ACCESS_KEY + ' was refused'); process.exit(1); }
  console.log('Apply complete!');
  process.exit(0);
}
if (cmd === 'state') { console.log('aws_ebs_volume.data_volume'); process.exit(0); }
if (cmd === 'output') { console.log(JSON.stringify({ public_ip: { value: '203.0.113.9', type: 'string', sensitive: false } })); process.exit(0); }
process.exit(0);
`;

const SPACE = `apiVersion: myt/v1
kind: Space
metadata: { name: home-net }
spec: { provider: aws, region: eu-west-1, zone: eu-west-1a, credentials: secrets/aws.enc.yaml }
`;
const AWS_PLATFORM = `apiVersion: myt/v1
kind: Platform
metadata: { name: greenhouse }
spec:
  cloud: { provider: aws, space: home-net }
  database: { engine: influxdb, sizeGb: 20 }
`;
const GCP_PLATFORM = `apiVersion: myt/v1
kind: Platform
metadata: { name: weather }
spec:
  cloud: { provider: gcp, project: myt-demo, region: europe-west1, zone: europe-west1-b, credentials: secrets/gcp.enc.yaml }
  database: { engine: influxdb }
`;

const AWS_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSTANDINKEY01';
const GCP_PRIVATE_KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQStandInKey';
const GCP_KEY = JSON.stringify({
  type: 'service_account',
  project_id: 'myt-demo',
  private_key_id: '0123456789abcdef0123456789abcdef01234567',
  private_key: `-----BEGIN PRIVATE KEY-----\n${GCP_PRIVATE_KEY_BODY}\n-----END PRIVATE KEY-----\n`,
  client_email: 'myt@myt-demo.iam.gserviceaccount.com',
});

let repo: string;
let err: string[];
let out: string[];
let identity: string;

function ctx(): CliContext {
  return {
    cwd: repo,
    env: { PATH: process.env.PATH, HOME: repo, SOPS_AGE_KEY: identity },
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    interactive: false,
  };
}

/** The real secrets module (decryption and masking); only Terraform is a stand-in. */
const deps: InfraDeps = {
  secrets: loadSecretsModule,
  findTerraform: () => ({ path: join(repo, 'terraform'), flavor: 'terraform' }),
  prompt: () => Promise.reject(new Error('no prompt expected')),
};

function write(file: string, text: string): void {
  mkdirSync(join(repo, file, '..'), { recursive: true });
  writeFileSync(join(repo, file), text);
}

function calls(): { dir: string; args: string[] }[] {
  const log = join(repo, 'calls.log');
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { dir: string; args: string[] });
}

beforeEach(async () => {
  repo = mkdtempSync(join(tmpdir(), 'myt-apply-guards-'));
  mkdirSync(join(repo, '.git'));
  const key = await generateAgeKeyPair();
  identity = key.identity;
  write('.sops.yaml', sopsConfigText([key.recipient]));
  write('platforms/spaces/home-net.yaml', SPACE);
  write('platforms/greenhouse.yaml', AWS_PLATFORM);
  write('platforms/weather.yaml', GCP_PLATFORM);
  await writeNewSecrets(repo, 'secrets/aws.enc.yaml', { accessKeyId: 'AKIASTANDINTEST00001', secretAccessKey: AWS_SECRET_KEY });
  await writeNewSecrets(repo, 'secrets/gcp.enc.yaml', { serviceAccountKey: GCP_KEY });
  await generateKeys(repo, 'greenhouse', false);
  await generateKeys(repo, 'weather', false);
  write('terraform', STAND_IN);
  chmodSync(join(repo, 'terraform'), 0o755);
  // Writing the files registered their values: start from nothing, as a fresh `myt apply` does.
  resetSecretRegistry();
  err = [];
  out = [];
});
afterEach(() => {
  resetSecretRegistry();
  rmSync(repo, { recursive: true, force: true });
});

const applied = () => calls().filter((c) => c.args[0] === 'apply').map((c) => c.dir);

describe('myt apply refuses a plan that loses data unless --allow-data-loss (stand-in terraform, real plan JSON format)', () => {
  it('refuses to replace the data volume, applying nothing of that stack', async () => {
    write('plan-actions.json', JSON.stringify({ greenhouse: { 'aws_ebs_volume.data_volume': ['delete', 'create'] } }));
    await expect(applyCommandWith(deps).run(['greenhouse'], ctx())).rejects.toThrow(
      /stack greenhouse: refusing to apply a plan that would lose data or the platform:\n {2}aws_ebs_volume\.data_volume \(the data volume\) would be replaced: the database on it would be lost\nIf this is intended, run again with --allow-data-loss/,
    );
    expect(calls().some((c) => c.dir === 'greenhouse' && c.args[0] === 'show')).toBe(true);
    expect(applied()).not.toContain('greenhouse');
  });

  it("refuses to destroy the platform's VM", async () => {
    write('plan-actions.json', JSON.stringify({ greenhouse: { 'aws_instance.instance': ['delete'] } }));
    await expect(applyCommandWith(deps).run(['greenhouse'], ctx())).rejects.toThrow(/aws_instance\.instance \(the platform's VM\) would be destroyed/);
    expect(applied()).not.toContain('greenhouse');
  });

  it('applies the same plan with --allow-data-loss', async () => {
    write('plan-actions.json', JSON.stringify({ greenhouse: { 'aws_ebs_volume.data_volume': ['create', 'delete'] } }));
    expect(await applyCommandWith(deps).run(['greenhouse', '--allow-data-loss'], ctx())).toBe(0);
    expect(applied()).toContain('greenhouse');
    expect(err.join('')).toContain('WARNING: aws_ebs_volume.data_volume (the data volume) would be replaced');
  });

  it('applies a plan that only creates and updates without being asked', async () => {
    write('plan-actions.json', JSON.stringify({ greenhouse: { 'aws_instance.instance': ['update'] } }));
    expect(await applyCommandWith(deps).run(['greenhouse'], ctx())).toBe(0);
    expect(applied()).toEqual(['home-net', 'greenhouse']);
  });
});

describe('myt apply masks the secrets Terraform prints (real SOPS files, real masking, stand-in terraform)', () => {
  it('in every streamed line, the AWS key as printed and the GCP key JSON-escaped', async () => {
    expect(await applyCommandWith(deps).run([], ctx())).toBe(0);
    const log = err.join('');
    // the stand-in did print them: the lines are there, with the secrets masked
    expect(log).toContain('[greenhouse] aws_instance.instance: Creating... [DEBUG] signing request with secret key ***');
    expect(log).toContain('[weather] [DEBUG] provider configured: {"credentials":"***"}');
    expect(log).not.toContain(AWS_SECRET_KEY);
    expect(log).not.toContain(GCP_PRIVATE_KEY_BODY);
    expect(log).not.toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('in the error of a failed apply', async () => {
    write('fail-apply', '');
    const error = (await applyCommandWith(deps).run(['greenhouse'], ctx()).catch((e: unknown) => e)) as Error & { cause?: unknown };
    expect(error.message).toMatch(/apply of stack home-net failed/);
    // Terraform's error reached the person as it streamed (the error points there), masked.
    expect(err.join('')).toContain('Error: InvalidClientTokenId: the key *** was refused');
    expect(`${error.message}\n${err.join('')}`).not.toContain(AWS_SECRET_KEY);
  });
});
