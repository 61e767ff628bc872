// The bundled plan action (actions/plan/dist/index.js) run as the runner runs it, on a real git
// history, against a STAND-IN for GitHub's REST API whose every request is checked against
// GitHub's OpenAPI description (tests/helpers/github-stand-in.ts). Platforms here are existing
// servers (cloud provider ssh): they need no cloud and no Terraform, so the action's whole path
// (changes, report, summary, comment) runs here; plans with replacements are tested on the report.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { gitHistory, haveGit } from '../helpers/git-history.js';
import { startGitHubStandIn, type GitHubStandIn } from '../helpers/github-stand-in.js';
import { runAction } from '../helpers/action-runner.js';
import { describeNeeding } from '../helpers/needs.js';
import { tempRepo } from '../helpers/temp-repo.js';

const PROJECT = join(import.meta.dirname, '../..');
const copy = (f: string) => readFileSync(join(PROJECT, f), 'utf8');

// A FAKE TERRAFORM (the cloud cannot be reached from tests): it answers `plan` with "changes" and
// `show -json` with Terraform's documented JSON plan format for a replaced GCP data volume, as in
// tests/infra/plan-summary.test.ts; it never applies.
const FAKE_TERRAFORM = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'calls.log'), JSON.stringify(args) + '\\n');
if (args[0] === 'version') { console.log(JSON.stringify({ terraform_version: '1.11.4', platform: 'linux_amd64', provider_selections: {}, terraform_outdated: false })); process.exit(0); }
if (args[0] === 'plan') { fs.writeFileSync(args.find((a) => a.startsWith('-out=')).slice(5), 'x'); process.exit(2); }
if (args[0] === 'show') {
  console.log(JSON.stringify({ format_version: '1.2', resource_changes: [
    { address: 'google_compute_disk.data_volume', type: 'google_compute_disk', mode: 'managed', change: { actions: ['delete', 'create'], replace_paths: [['type']] }, action_reason: 'replace_because_cannot_update' },
    { address: 'google_compute_firewall.firewall', type: 'google_compute_firewall', mode: 'managed', change: { actions: ['update'] } },
  ] }));
  process.exit(0);
}
if (args[0] === 'apply') process.exit(3);
process.exit(0);
`;


const ssh = (name: string, script?: string) =>
  [
    'apiVersion: myt/v1',
    'kind: Platform',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  cloud:',
    '    provider: ssh',
    '    host: 127.0.0.1',
    '    user: myt',
    '    key: secrets/ssh.enc.yaml',
    '  database:',
    '    engine: influxdb',
    ...(script ? ['  processor:', `    script: ${script}`] : []),
    '',
  ].join('\n');

const FILES = {
  'platforms/alpha.yaml': ssh('alpha', 'processors/alpha.ts'),
  'platforms/beta.yaml': ssh('beta'),
  'processors/alpha.ts': 'export default (m: unknown) => m;\n',
  'secrets/ssh.enc.yaml': 'sops: {}\n',
};

const pullRequest = (base: string, head: string, fork = false) => ({
  name: 'pull_request',
  payload: {
    action: 'synchronize',
    number: 7,
    pull_request: {
      number: 7,
      base: { sha: base, ref: 'main', repo: { full_name: 'octo/fleet' } },
      head: { sha: head, ref: 'feature', repo: { full_name: fork ? 'stranger/fleet' : 'octo/fleet', fork } },
    },
    repository: { full_name: 'octo/fleet', default_branch: 'main' },
  },
});

let github: GitHubStandIn;
beforeEach(async () => {
  github = await startGitHubStandIn();
});
afterEach(async () => {
  await github.close();
});

describeNeeding({ what: 'git', present: haveGit }, 'the plan action, bundled, against a stand-in for GitHub REST API', () => {
  it('writes the summary and one PR comment, found again by its marker and edited on the next push, never repeated', async () => {
    const h = gitHistory(FILES);
    const base = h.git('rev-parse', 'HEAD');
    const first = h.commit('script', { 'processors/alpha.ts': 'export default (m: unknown) => [m];\n' });
    const inputs = { 'github-token': 'ghs_standin_token', comment: 'true' };
    const one = await runAction('plan', { workspace: h.root, inputs, event: pullRequest(base, first), sha: first, apiUrl: github.url });
    expect(one.stderr).toBe('');
    expect(one.code, one.stdout).toBe(0);
    expect(one.summary).toContain('## MyT plan: 1 platform changed');
    expect(one.summary).toMatch(/\| alpha \| processor only \| unchanged \(processor only\) \| script changed: processors\/alpha.ts \|/);
    expect(one.outputs).toMatchObject({ planned: 'true', changed: '["alpha"]', dangerous: 'false' });
    expect(one.stdout).toContain('created the plan comment on pull request #7');
    expect(github.comments.get(7)).toHaveLength(1);
    const body = github.comments.get(7)![0]!.body;
    expect(body.startsWith('<!-- myt:plan -->\n')).toBe(true);
    expect(body).toContain('script changed: processors/alpha.ts');

    // Someone else's comment with the marker is not MyT's: it is left alone.
    github.comments.get(7)!.unshift({ id: 1, body: '<!-- myt:plan -->\nnot from MyT', user: { login: 'someone', type: 'User' } });
    const second = h.commit('beta', { 'platforms/beta.yaml': ssh('beta').replace('host: 127.0.0.1', 'host: 127.0.0.2') });
    const two = await runAction('plan', { workspace: h.root, inputs, event: pullRequest(base, second), sha: second, apiUrl: github.url });
    expect(two.code, two.stdout).toBe(0);
    expect(two.stdout).toContain('updated the plan comment on pull request #7');
    const comments = github.comments.get(7)!;
    expect(comments.map((c) => c.id)).toEqual([1, 1000]);
    expect(comments[0]!.body).toBe('<!-- myt:plan -->\nnot from MyT');
    expect(comments[1]!.body).toContain('## MyT plan: 2 platforms changed');
    expect(comments[1]!.body).toContain('| beta | infrastructure and VM | existing server (cloud provider ssh): no infrastructure | platforms/beta.yaml changed |');
    expect(comments[1]!.body).toContain('<details><summary>alpha</summary>\n\nProcessor: script changed: processors/alpha.ts');

    expect(github.violations).toEqual([]);
    expect(github.requests.map((r) => r.operationId)).toEqual(['issues/list-comments', 'issues/create-comment', 'issues/list-comments', 'issues/update-comment']);
    for (const r of github.requests) expect(r.authorization).toBe('token ghs_standin_token');
    // The token is handed to the runner's mask.
    expect(one.stdout).toContain('::add-mask::ghs_standin_token');
  }, 120_000);

  it('plans nothing for a pull request from a fork, and calls no GitHub API', async () => {
    const h = gitHistory(FILES);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('script', { 'processors/alpha.ts': 'export default () => null;\n' });
    const run = await runAction('plan', { workspace: h.root, inputs: { 'github-token': 't' }, event: pullRequest(base, head, true), sha: head, apiUrl: github.url });
    expect(run.code).toBe(0);
    expect(run.outputs.planned).toBe('false');
    expect(run.stdout).toContain('::notice::A pull request from a fork is validated only');
    expect(run.summary).toContain('Not planned: this pull request comes from a fork');
    expect(github.requests).toEqual([]);
  }, 60_000);

  it('tries again when GitHub answers 502, and the comment is still posted once', async () => {
    const h = gitHistory(FILES);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('script', { 'processors/alpha.ts': 'export default () => null;\n' });
    github.failNext.push(502);
    const run = await runAction('plan', { workspace: h.root, inputs: { 'github-token': 't' }, event: pullRequest(base, head), sha: head, apiUrl: github.url });
    expect(run.code, run.stdout).toBe(0);
    expect(github.requests.map((r) => r.operationId)).toEqual(['issues/list-comments', 'issues/list-comments', 'issues/create-comment']);
    expect(github.comments.get(7)).toHaveLength(1);
  }, 60_000);

  it('fails the step with a clear message, not a stack trace, when the base commit is not in the clone', async () => {
    const h = gitHistory(FILES);
    const head = h.git('rev-parse', 'HEAD');
    const run = await runAction('plan', { workspace: h.root, inputs: { 'github-token': 't' }, event: pullRequest('b'.repeat(40), head), sha: head, apiUrl: github.url });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`::error::commit ${'b'.repeat(40)} is not in this clone: check it out with its history (actions/checkout with fetch-depth: 0)`);
    expect(run.stdout).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('puts a replaced data volume in a loud alert outside the folded plan, in the comment and the summary (fake Terraform)', async () => {
    const h = gitHistory({
      '.sops.yaml': copy('.sops.yaml'),
      '.gitignore': '.myt/\n',
      'platforms/weather.yaml': copy('platforms/weather.yaml'),
      'secrets/gcp.enc.yaml': copy('secrets/gcp.enc.yaml'),
      'secrets/keys/weather.enc.yaml': copy('secrets/keys/weather.enc.yaml'),
    });
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('bigger disk', { 'platforms/weather.yaml': copy('platforms/weather.yaml').replace('sizeGb: 50', 'sizeGb: 60') });
    const fake = join(tempRepo({}), 'terraform');
    writeFileSync(fake, FAKE_TERRAFORM);
    chmodSync(fake, 0o755);
    const run = await runAction('plan', {
      workspace: h.root,
      inputs: { 'github-token': 't' },
      event: pullRequest(base, head),
      sha: head,
      apiUrl: github.url,
      env: { MYT_TERRAFORM: fake, SOPS_AGE_KEY: copy('examples/demo.agekey') },
    });
    const log = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    expect(run.code, log.join('\n')).toBe(0);
    expect(run.outputs.dangerous).toBe('true');
    // No myt.yaml: state would stay on the runner's disk, and the run says so.
    expect(log.some((l) => l.startsWith("::warning title=MyT plan::Terraform state is kept on the runner's disk"))).toBe(true);
    expect(log).toContain(
      '::warning title=MyT%3A this change would lose data or a platform::weather: google_compute_disk.data_volume (the data volume) would be replaced (forced by a change of type): the database on it would be lost',
    );
    const body = github.comments.get(7)![0]!.body;
    const alert = body.indexOf('> [!CAUTION]');
    expect(alert).toBeGreaterThan(0);
    expect(alert).toBeLessThan(body.indexOf('<details>'));
    expect(body).toContain('| weather | infrastructure and VM | 1 to add, 1 to change, 1 to destroy (1 replaced) | platforms/weather.yaml changed |');
    expect(run.summary).toContain('> - **weather**: google_compute_disk.data_volume (the data volume) would be replaced');
    // Nothing was applied, and no decrypted value reached the comment.
    const calls = readFileSync(join(fake, '..', 'calls.log'), 'utf8');
    expect(calls).not.toContain('"apply"');
    expect(body).not.toContain('PRIVATE KEY');
    expect(github.violations).toEqual([]);
  }, 120_000);
});
