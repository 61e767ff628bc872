// myt plan / apply / destroy as commands. Plan is fully real (offline). Apply and destroy of
// cloud stacks would need provider downloads and cloud APIs, which cannot run here: they run
// against a FAKE terraform (a small Node script) that stands in for the CLI's contract as MyT
// uses it: `init` exits 0; `plan -detailed-exitcode -out=F` writes F and exits 2 (changes);
// (it logs next to itself: MyT passes Terraform none of the test's environment variables)
// `show -json F` prints a JSON plan; `apply F` exits 0; `output -json` prints outputs. The fake
// records each call's arguments and the credential variables it received.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/context.js';
import { applyCommandWith } from '../../src/cli/commands/apply.js';
import { destroyCommandWith } from '../../src/cli/commands/destroy.js';
import { planCommandWith } from '../../src/cli/commands/plan.js';
import { runCli } from '../../src/cli/main.js';
import { MytError } from '../../src/errors.js';
import type { InfraDeps } from '../../src/cli/infra-support.js';
import { CREDENTIALS, fakeSecrets, HOST_PRIVATE_KEY, secretStrings } from './helpers.js';

const SPACE = `apiVersion: myt/v1
kind: Space
metadata: { name: home-net }
spec: { provider: aws, region: eu-west-1, zone: eu-west-1a, credentials: secrets/aws.enc.yaml }
`;
const AWS = (destroy: 'allow' | 'deny') => `apiVersion: myt/v1
kind: Platform
metadata: { name: greenhouse }
spec:
  cloud: { provider: aws, space: home-net }
  database: { engine: influxdb, sizeGb: 20 }
  broker: { tls: true }
  destroy: ${destroy}
`;
const GCP = `apiVersion: myt/v1
kind: Platform
metadata: { name: weather }
spec:
  cloud: { provider: gcp, project: myt-demo, region: europe-west1, zone: europe-west1-b, credentials: secrets/gcp.enc.yaml }
  database: { engine: influxdb }
`;
const SSH = `apiVersion: myt/v1
kind: Platform
metadata: { name: minimal }
spec:
  cloud: { provider: ssh, host: 127.0.0.1, user: myt, key: secrets/ssh.enc.yaml }
  database: { engine: influxdb }
`;

/** The fake terraform described at the top of this file. */
const FAKE_TERRAFORM = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const env = {};
for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'GOOGLE_CREDENTIALS', 'OS_PASSWORD', 'TF_VAR_host_private_key', 'TF_IN_AUTOMATION', 'UNRELATED_SECRET']) if (process.env[k]) env[k] = process.env[k];
fs.appendFileSync(path.join(__dirname, 'fake-terraform.log'), JSON.stringify({ dir: path.basename(process.cwd()), args, env }) + '\\n');
const cmd = args[0];
if (cmd === 'plan') { const out = args.find((a) => a.startsWith('-out=')).slice(5); fs.writeFileSync(out, args.includes('-destroy') ? 'destroy' : 'apply'); process.exit(2); }
if (cmd === 'show') {
  const destroy = fs.readFileSync(args[args.length - 1], 'utf8') === 'destroy';
  const rc = (address, type) => ({ address, type, mode: 'managed', change: { actions: [destroy ? 'delete' : 'create'] } });
  console.log(JSON.stringify({ format_version: '1.2', resource_changes: [rc('aws_instance.instance', 'aws_instance'), rc('aws_ebs_volume.data_volume', 'aws_ebs_volume')] }));
  process.exit(0);
}
if (cmd === 'apply' && fs.existsSync(path.join(__dirname, 'fail-apply-' + path.basename(process.cwd())))) { console.error('Error: creating EC2 Instance: InsufficientInstanceCapacity'); process.exit(1); }
if (cmd === 'state') { console.log('aws_ebs_volume.data_volume\\naws_security_group.firewall'); process.exit(0); }
if (cmd === 'output') { console.log(JSON.stringify({ public_ip: { value: '203.0.113.9', type: 'string', sensitive: false } })); process.exit(0); }
console.log('fake terraform ' + cmd + ' done');
process.exit(0);
`;

const EXAMPLES = fileURLToPath(new URL('../..', import.meta.url));

let repo: string;
let fakeLog: string;
let out: string[];
let err: string[];
let reads: string[];
let prompts: string[];
let answer: string;

function ctx(interactive = false): CliContext {
  return {
    cwd: repo,
    // HOME is the test repository: no age key of this machine is found, so nothing is decrypted for real
    env: { PATH: process.env.PATH, HOME: repo, UNRELATED_SECRET: 'never-for-terraform' },
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    interactive,
  };
}

function deps(): InfraDeps {
  return {
    secrets: () => Promise.resolve({ readSecrets: fakeSecrets(reads), registerSecret: () => {}, maskSecrets: (t) => t }),
    findTerraform: () => ({ path: join(repo, 'fake-terraform'), flavor: 'terraform' }),
    prompt: (q) => {
      prompts.push(q);
      return Promise.resolve(answer);
    },
  };
}

function calls(): { dir: string; args: string[]; env: Record<string, string> }[] {
  if (!existsSync(fakeLog)) return [];
  return readFileSync(fakeLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { dir: string; args: string[]; env: Record<string, string> });
}

function write(file: string, text: string): void {
  mkdirSync(join(repo, file, '..'), { recursive: true });
  writeFileSync(join(repo, file), text);
}

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'myt-cmd-'));
  fakeLog = join(repo, 'fake-terraform.log');
  out = [];
  err = [];
  reads = [];
  prompts = [];
  answer = '';
  write('platforms/spaces/home-net.yaml', SPACE);
  write('platforms/greenhouse.yaml', AWS('allow'));
  write('platforms/weather.yaml', GCP);
  write('platforms/minimal.yaml', SSH);
  // The loader checks that referenced files exist and are SOPS files: copies of the shipped
  // examples' encrypted files serve; the fake secrets reader supplies what they would decrypt to.
  for (const f of ['secrets/aws.enc.yaml', 'secrets/gcp.enc.yaml', 'secrets/ssh.enc.yaml', 'secrets/keys/greenhouse.enc.yaml', 'secrets/keys/weather.enc.yaml', 'secrets/tls/greenhouse.enc.yaml']) {
    write(f, readFileSync(join(EXAMPLES, f), 'utf8'));
  }
  write('fake-terraform', FAKE_TERRAFORM);
  chmodSync(join(repo, 'fake-terraform'), 0o755);
});
afterEach(() => rmSync(repo, { recursive: true, force: true }));

describe('myt plan', () => {
  it('writes one cdk.tf.json per stack under .myt/out, prints the table, and decrypts only public keys', async () => {
    const code = await planCommandWith(deps()).run([], ctx());
    expect(code).toBe(0);
    for (const stack of ['home-net', 'greenhouse', 'weather']) expect(existsSync(join(repo, '.myt/out', stack, 'cdk.tf.json'))).toBe(true);
    // An existing server gets no stack, only its bundle.
    expect(existsSync(join(repo, '.myt/out/minimal/cdk.tf.json'))).toBe(false);
    expect(existsSync(join(repo, '.myt/out/minimal/bundle/compose.yaml'))).toBe(true);
    const text = out.join('');
    expect(text).toMatch(/Synthesized 3 stacks into \.myt\/out\/ in \d+ ms/);
    expect(text).toMatch(/^home-net\s+aws-space\s+5\s+-\s+-\s+-\s+platforms\/spaces\/home-net\.yaml$/m);
    expect(text).toMatch(/^greenhouse\s+aws-platform\s+\d+\s+home-net\s+20 GB\s+22,5671,3000\s+platforms\/greenhouse\.yaml$/m);
    expect(text).toMatch(/^weather\s+gcp-platform\s+\d+\s+-\s+10 GB\s+22,5672,3000/m);
    expect(text).toContain('minimal: an existing server (cloud provider ssh), no infrastructure to create.');
    expect(text).toContain('Rendered 3 bundles (what runs on each VM, no secret in it): .myt/out/greenhouse/bundle, .myt/out/minimal/bundle, .myt/out/weather/bundle');
    expect(reads.sort()).toEqual(['secrets/keys/greenhouse.enc.yaml', 'secrets/keys/weather.enc.yaml']);
    for (const stack of ['home-net', 'greenhouse', 'weather']) {
      const json = readFileSync(join(repo, '.myt/out', stack, 'cdk.tf.json'), 'utf8');
      for (const secret of [...secretStrings(), HOST_PRIVATE_KEY]) expect(json).not.toContain(secret);
    }
    expect(text).not.toContain('has no host key');
  });

  it('keeps working with a key file made before host keys existed, and says what that means and how to add one', async () => {
    write('platforms/legacy-site.yaml', GCP.replace('name: weather', 'name: legacy-site'));
    write('secrets/keys/legacy-site.enc.yaml', readFileSync(join(EXAMPLES, 'secrets/keys/weather.enc.yaml'), 'utf8'));
    expect(await planCommandWith(deps()).run(['legacy-site', 'weather'], ctx())).toBe(0);
    const text = out.join('');
    expect(text).toContain(
      "note: secrets/keys/legacy-site.enc.yaml has no host key (hostPrivateKey, hostPublicKey): a VM created now makes its own, which the first connection cannot verify. " +
        "Run 'myt keys generate legacy-site --add-host-key' to add one; the login key stays.",
    );
    expect(text).not.toContain('secrets/keys/weather.enc.yaml has no host key');
    const json = JSON.parse(readFileSync(join(repo, '.myt/out/legacy-site/cdk.tf.json'), 'utf8')) as { variable?: unknown };
    expect(json.variable).toBeUndefined();
  });

  it('says that state left by a deleted platform is left running, and how to remove it on purpose', async () => {
    write('.myt/state/old-site.tfstate', '{}');
    write('.myt/state/weather.tfstate', '{}');
    expect(await planCommandWith(deps()).run([], ctx())).toBe(0);
    const text = out.join('');
    expect(text).toContain("old-site: its Terraform state exists but nothing under platforms/ declares it. Its infrastructure is left running");
    expect(text).toContain("restore the file with 'spec.destroy: allow' and run 'myt destroy old-site'");
    expect(text).not.toMatch(/^weather: its Terraform state/m);
  });

  it('writes to --out and reports JSON with --format json', async () => {
    const code = await planCommandWith(deps()).run(['--out', 'elsewhere', '--format', 'json', 'weather'], ctx());
    expect(code).toBe(0);
    const report = JSON.parse(out.join('')) as { outDir: string; stacks: { stack: string; dir: string; dependsOn: string[] }[]; bundles: { platform: string; dir: string }[] };
    expect(report.outDir).toBe('elsewhere');
    expect(report.stacks.map((s) => s.stack)).toEqual(['weather']);
    expect(existsSync(join(repo, 'elsewhere/weather/cdk.tf.json'))).toBe(true);
    expect(report.bundles.map((b) => [b.platform, b.dir])).toEqual([['weather', 'elsewhere/weather/bundle']]);
    expect(existsSync(join(repo, 'elsewhere/weather/bundle/compose.yaml'))).toBe(true);
  });

  it('refuses invalid declarations, naming the file and line', async () => {
    write('platforms/weather.yaml', GCP.replace('zone: europe-west1-b, ', ''));
    await expect(planCommandWith(deps()).run([], ctx())).rejects.toThrow(/the declarations are not valid.*\n\s+platforms\/weather\.yaml:\d+:\d+: /);
  });

  it('says how to make a missing SSH key', async () => {
    rmSync(join(repo, 'secrets/keys/weather.enc.yaml'));
    await expect(planCommandWith(deps()).run([], ctx())).rejects.toThrow(/myt keys generate weather/);
  });

  it('is listed by the CLI and has --help', async () => {
    const lines: string[] = [];
    const code = await runCli(['plan', '--help'], { ...ctx(), stdout: (t) => lines.push(t) });
    expect(code).toBe(0);
    expect(lines.join('')).toMatch(/^Usage: myt plan/);
  });
});

describe('myt apply (against a fake terraform: no provider download or cloud API here)', () => {
  it('applies the Space before its platform, each with only its own credentials in the environment', async () => {
    const code = await applyCommandWith(deps()).run([], ctx());
    expect(code).toBe(0);
    const seen = calls();
    const applies = seen.filter((c) => c.args[0] === 'apply');
    // Spaces first, then platforms by name
    expect(applies.map((c) => c.dir)).toEqual(['home-net', 'greenhouse', 'weather']);
    for (const c of seen) {
      expect(c.env.TF_IN_AUTOMATION).toBe('1');
      expect(c.env.UNRELATED_SECRET).toBeUndefined();
      if (c.dir === 'weather') {
        expect(c.env.GOOGLE_CREDENTIALS).toBe(CREDENTIALS['secrets/gcp.enc.yaml'].serviceAccountKey);
        expect(c.env.AWS_ACCESS_KEY_ID).toBeUndefined();
      } else {
        expect(c.env.AWS_ACCESS_KEY_ID).toBe(CREDENTIALS['secrets/aws.enc.yaml'].accessKeyId);
        expect(c.env.GOOGLE_CREDENTIALS).toBeUndefined();
      }
    }
    // the plan that was shown is the plan that was applied
    for (const a of applies) expect(a.args).toEqual(['apply', '-input=false', '-no-color', '-lock-timeout=5m', 'myt.tfplan']);
    expect(out.join('')).toContain('greenhouse: applied (2 added, 0 changed, 0 destroyed), public IP 203.0.113.9');
    expect(JSON.parse(readFileSync(join(repo, '.myt/out/greenhouse/outputs.json'), 'utf8'))).toEqual({ public_ip: '203.0.113.9' });
    // the VM's host private key reached each platform's Terraform through its environment only
    for (const c of seen) expect(c.env.TF_VAR_host_private_key).toBe(c.dir === 'home-net' ? undefined : HOST_PRIVATE_KEY);
    // no credential ever reached the disk
    for (const stack of ['home-net', 'greenhouse', 'weather']) {
      const json = readFileSync(join(repo, '.myt/out', stack, 'cdk.tf.json'), 'utf8');
      for (const secret of [...secretStrings(), HOST_PRIVATE_KEY]) expect(json).not.toContain(secret);
    }
  });

  it('gives a platform whose key file has no host key no host key variable, and notes it', async () => {
    write('platforms/legacy-site.yaml', GCP.replace('name: weather', 'name: legacy-site'));
    write('secrets/keys/legacy-site.enc.yaml', readFileSync(join(EXAMPLES, 'secrets/keys/weather.enc.yaml'), 'utf8'));
    expect(await applyCommandWith(deps()).run(['legacy-site'], ctx())).toBe(0);
    expect(calls().length).toBeGreaterThan(0);
    for (const c of calls()) expect(c.env.TF_VAR_host_private_key).toBeUndefined();
    expect(err.join('')).toContain('note: secrets/keys/legacy-site.enc.yaml has no host key');
  });

  it('stops at a failed apply, keeps what exists and says which stacks were not applied', async () => {
    write('fail-apply-greenhouse', '');
    const error = (await applyCommandWith(deps()).run([], ctx()).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/apply of stack greenhouse failed; nothing was rolled back or destroyed/);
    expect(error.message).toContain('aws_ebs_volume.data_volume\n  aws_security_group.firewall');
    expect(err.join('')).toContain('InsufficientInstanceCapacity');
    expect(out.join('')).toContain('Stopped: done: home-net; not done: greenhouse, weather.');
    expect(calls().filter((c) => c.dir === 'weather')).toEqual([]);
    expect(calls().some((c) => c.args.includes('destroy') || c.args.includes('-destroy'))).toBe(false);
  });

  it("prints Terraform's error once: as it ran, not again in the failure recap", async () => {
    write('fail-apply-greenhouse', '');
    const entry = { name: 'apply', summary: '', load: () => Promise.resolve(applyCommandWith(deps())) };
    expect(await runCli(['apply'], ctx(), [entry])).toBe(1);
    const printed = err.join('') + out.join('');
    expect(printed).toContain("Cause: terraform apply failed (exit 1) (Terraform's messages are above)");
    expect(printed.split('InsufficientInstanceCapacity').length - 1).toBe(1);
  });

  it('at a terminal asks before applying each stack, shown its summary first, and applies nothing without yes', async () => {
    answer = 'no';
    await expect(applyCommandWith(deps()).run(['home-net'], ctx(true))).rejects.toThrow(/stack home-net: not confirmed, so nothing was changed/);
    expect(prompts).toEqual(["Apply these changes to home-net? Only 'yes' applies them: "]);
    expect(err.join('')).toMatch(/home-net: 2 to add, 0 to change, 0 to destroy/);
    expect(calls().map((c) => c.args[0])).toEqual(['init', 'plan', 'show']);
    answer = 'yes';
    expect(await applyCommandWith(deps()).run([], ctx(true))).toBe(0);
    expect(prompts).toHaveLength(4);
    expect(calls().filter((c) => c.args[0] === 'apply').map((c) => c.dir)).toEqual(['home-net', 'greenhouse', 'weather']);
  });

  it('at a terminal with --yes applies without asking', async () => {
    expect(await applyCommandWith(deps()).run(['home-net', '--yes'], ctx(true))).toBe(0);
    expect(prompts).toEqual([]);
    expect(calls().some((c) => c.args[0] === 'apply')).toBe(true);
  });

  it('names the declared platforms and Spaces when asked for one that does not exist', async () => {
    await expect(applyCommandWith(deps()).run(['nope'], ctx())).rejects.toThrow("no platform or Space named 'nope' is declared under platforms/ (platforms: greenhouse, minimal, weather; Spaces: home-net)");
  });

  it('warns that local state is lost with a CI runner', async () => {
    const ci = { ...ctx(), env: { ...ctx().env, GITHUB_ACTIONS: 'true' } };
    expect(await applyCommandWith(deps()).run(['weather'], ci)).toBe(0);
    expect(err.join('')).toMatch(/warning: Terraform state is local \(\.myt\/state\/\) on a CI runner, and is lost with it/);
  });

  it('applies a Space alone when it is named', async () => {
    expect(await applyCommandWith(deps()).run(['home-net'], ctx())).toBe(0);
    expect(new Set(calls().map((c) => c.dir))).toEqual(new Set(['home-net']));
    expect(err.join('')).not.toMatch(/warning: Terraform state is local/);
  });

  it('says clearly when terraform is missing, before decrypting anything', async () => {
    const missing: InfraDeps = { ...deps(), findTerraform: () => { throw new MytError('neither terraform nor tofu was found on the PATH'); } };
    await expect(applyCommandWith(missing).run([], ctx())).rejects.toThrow(/neither terraform nor tofu/);
    expect(reads).toEqual([]);
  });

  it('refuses --timeout that is not a number of minutes', async () => {
    const code = await runCli(['apply', '--timeout', 'soon'], ctx());
    expect(code).toBe(2);
  });
});

describe('myt destroy', () => {
  it('refuses a platform that is not declared: a deleted file never destroys anything', async () => {
    await expect(destroyCommandWith(deps()).run(['ghost', '--confirm', 'ghost'], ctx())).rejects.toThrow(/no platform named 'ghost' is declared.*never destroys a platform because its file is gone/);
    expect(calls()).toEqual([]);
  });

  it('refuses a platform without spec.destroy: allow unless --force', async () => {
    write('platforms/greenhouse.yaml', AWS('deny'));
    await expect(destroyCommandWith(deps()).run(['greenhouse', '--confirm', 'greenhouse'], ctx())).rejects.toThrow(/does not allow destruction.*set 'spec.destroy: allow' in platforms\/greenhouse\.yaml/);
    expect(calls()).toEqual([]);
    expect(await destroyCommandWith(deps()).run(['greenhouse', '--confirm', 'greenhouse', '--force'], ctx())).toBe(0);
    expect(calls().some((c) => c.args[0] === 'apply')).toBe(true);
  });

  it('refuses without a terminal unless --confirm names the platform', async () => {
    await expect(destroyCommandWith(deps()).run(['greenhouse'], ctx(false))).rejects.toThrow(/not at a terminal.*--confirm greenhouse/);
    await expect(destroyCommandWith(deps()).run(['greenhouse', '--confirm', 'weather'], ctx(false))).rejects.toThrow(/is not the platform's name/);
    expect(calls()).toEqual([]);
  });

  it('at a terminal, shows the plan and destroys nothing unless the name is typed', async () => {
    answer = 'greenhose';
    await expect(destroyCommandWith(deps()).run(['greenhouse'], ctx(true))).rejects.toThrow(/not confirmed, so nothing was changed/);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatch(/Type the platform name to confirm/);
    expect(calls().map((c) => c.args[0])).toEqual(['init', 'plan', 'show']);
    expect(calls().find((c) => c.args[0] === 'plan')!.args).toContain('-destroy');
  });

  it('at a terminal, shows the plan summary once before asking for the name', async () => {
    answer = 'greenhouse';
    expect(await destroyCommandWith(deps()).run(['greenhouse'], ctx(true))).toBe(0);
    expect(err.join('').split('greenhouse: 0 to add, 0 to change, 2 to destroy').length - 1).toBe(1);
  });

  it('at a terminal, destroys the platform (not its Space) once the name is typed', async () => {
    answer = 'greenhouse';
    expect(await destroyCommandWith(deps()).run(['greenhouse'], ctx(true))).toBe(0);
    expect(new Set(calls().map((c) => c.dir))).toEqual(new Set(['greenhouse']));
    expect(calls().map((c) => c.args[0])).toEqual(['init', 'plan', 'show', 'apply']);
    // a destroy plan needs the stack's variables too
    for (const c of calls()) expect(c.env.TF_VAR_host_private_key).toBe(HOST_PRIVATE_KEY);
    // synthesized for destroy: the data volume's prevent_destroy is lifted
    const json = JSON.parse(readFileSync(join(repo, '.myt/out/greenhouse/cdk.tf.json'), 'utf8')) as { resource: { aws_ebs_volume: { data_volume: { lifecycle: unknown } } } };
    expect(json.resource.aws_ebs_volume.data_volume.lifecycle).toEqual({ prevent_destroy: false });
    expect(out.join('')).toContain('greenhouse: destroyed');
  });

  it('has nothing to destroy for an existing ssh server', async () => {
    await expect(destroyCommandWith(deps()).run(['minimal', '--confirm', 'minimal', '--force'], ctx())).rejects.toThrow(/existing server.*nothing to destroy/);
  });
});
