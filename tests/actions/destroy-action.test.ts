// The bundled destroy action run as the runner runs it (the deploy workflow's destroy job: a checkout
// of the commit before the deletion). Terraform cannot reach a cloud here, so a FAKE TERRAFORM
// (MYT_TERRAFORM, a script that records its calls and answers `plan -destroy` and `show -json` in
// Terraform's documented JSON plan format) stands in for it; the secrets are the shipped examples',
// decrypted for real with the public demo key.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runAction } from '../helpers/action-runner.js';
import { gitHistory, haveGit } from '../helpers/git-history.js';
import { describeNeeding } from '../helpers/needs.js';
import { tempRepo } from '../helpers/temp-repo.js';

const PROJECT = join(import.meta.dirname, '../..');
const copy = (f: string) => readFileSync(join(PROJECT, f), 'utf8');
const DEMO_KEY = copy('examples/demo.agekey');

const FAKE_TERRAFORM = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'terraform-calls.log'), JSON.stringify(args) + '\\n');
const cmd = args[0];
if (cmd === 'version') { console.log(JSON.stringify({ terraform_version: '1.11.4', platform: 'linux_amd64', provider_selections: {}, terraform_outdated: false })); process.exit(0); }
if (cmd === 'plan') { fs.writeFileSync(args.find((a) => a.startsWith('-out=')).slice(5), 'x'); process.exit(2); }
if (cmd === 'show') {
  const rc = (address, type) => ({ address, type, mode: 'managed', change: { actions: ['delete'] } });
  console.log(JSON.stringify({ format_version: '1.2', resource_changes: [rc('google_compute_instance.instance', 'google_compute_instance'), rc('google_compute_disk.data_volume', 'google_compute_disk')] }));
  process.exit(0);
}
process.exit(0);
`;

function history(destroy: 'allow' | 'deny') {
  const h = gitHistory({
    '.sops.yaml': copy('.sops.yaml'),
    '.gitignore': '.myt/\n',
    'platforms/weather.yaml': `${copy('platforms/weather.yaml')}  destroy: ${destroy}\n`,
    'secrets/gcp.enc.yaml': copy('secrets/gcp.enc.yaml'),
    'secrets/keys/weather.enc.yaml': copy('secrets/keys/weather.enc.yaml'),
  });
  const base = h.git('rev-parse', 'HEAD');
  const head = h.commit('delete weather', { 'platforms/weather.yaml': null });
  h.git('checkout', '-q', base); // the destroy job checks out the commit before the deletion
  const fake = join(tempRepo({}), 'fake-terraform');
  writeFileSync(fake, FAKE_TERRAFORM);
  chmodSync(fake, 0o755);
  const calls = () => (existsSync(join(fake, '..', 'terraform-calls.log')) ? readFileSync(join(fake, '..', 'terraform-calls.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]) : []);
  return { h, base, head, fake, calls };
}

describeNeeding({ what: 'git', present: haveGit }, 'the destroy action, bundled, with a fake Terraform', () => {
  it('destroys a deleted platform that opted in: a destroy plan, then its apply', async () => {
    const { h, head, fake, calls } = history('allow');
    const run = await runAction('destroy', { workspace: h.root, sha: head, inputs: { platform: 'weather' }, env: { MYT_TERRAFORM: fake, SOPS_AGE_KEY: DEMO_KEY } });
    expect(run.code, run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')).toBe(0);
    expect(run.outputs.status).toBe('destroyed');
    expect(run.summary).toContain('weather: destroyed (2 resources, its data volume included).');
    const commands = calls().map((a) => a[0]);
    expect(commands).toContain('init');
    expect(calls().find((a) => a[0] === 'plan')).toContain('-destroy');
    expect(commands.indexOf('apply')).toBeGreaterThan(commands.indexOf('plan'));
    // The decrypted service-account key never reaches the log.
    expect(run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::') && l.includes('BEGIN PRIVATE KEY'))).toEqual([]);
  }, 120_000);

  it('destroys nothing when the pushed commit declares the platform again', async () => {
    const { h, fake, calls } = history('allow');
    const again = h.git('rev-parse', 'HEAD'); // the checked-out commit declares it
    const run = await runAction('destroy', { workspace: h.root, sha: again, inputs: { platform: 'weather' }, env: { MYT_TERRAFORM: fake, SOPS_AGE_KEY: DEMO_KEY } });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('::error::platform weather is declared at');
    expect(calls()).toEqual([]);
  }, 60_000);

  it('destroys nothing when the platform did not set spec.destroy: allow', async () => {
    const { h, head, fake, calls } = history('deny');
    const run = await runAction('destroy', { workspace: h.root, sha: head, inputs: { platform: 'weather' }, env: { MYT_TERRAFORM: fake, SOPS_AGE_KEY: DEMO_KEY } });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("::error::platform weather does not allow destruction (spec.destroy is 'deny')");
    expect(calls()).toEqual([]);
  }, 60_000);
});
