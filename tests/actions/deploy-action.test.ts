// The deploy action: in process with recorded side effects (the deploy library of src/deploy is
// tested against a real sshd in tests/deploy; here: which platforms get which call, in what order,
// the plan made again before a cloud platform is applied, and a grouped job that carries on past a
// failure), and bundled, run as the runner runs it, with a FAKE TERRAFORM (the cloud cannot be
// reached) whose plan would replace a data volume: the job stops before anything is applied.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as core from '@actions/core';
import { afterEach, expect, it } from 'vitest';
import { run } from '../../src/actions/deploy/run.js';
import type { Reporter } from '../../src/actions/report.js';
import type { DeployOptions, DeployResult } from '../../src/deploy/index.js';
import { summarizePlan } from '../../src/infra/terraform/plan-summary.js';
import { registerSecret, resetSecretRegistry } from '../../src/secrets/masking.js';
import { runAction } from '../helpers/action-runner.js';
import { awsPlatform, awsSpace, gitHistory, haveGit } from '../helpers/git-history.js';
import { describeNeeding } from '../helpers/needs.js';
import { tempRepo } from '../helpers/temp-repo.js';

afterEach(() => resetSecretRegistry());

const PROJECT = join(import.meta.dirname, '../..');
const copy = (f: string) => readFileSync(join(PROJECT, f), 'utf8');

const SSH = (name: string) => `apiVersion: myt/v1\nkind: Platform\nmetadata:\n  name: ${name}\nspec:\n  cloud:\n    provider: ssh\n    host: 127.0.0.1\n    user: myt\n    key: secrets/ssh.enc.yaml\n  database:\n    engine: influxdb\n`;

function recorder() {
  const lines: string[] = [];
  let summary = '';
  const summaryApi = {
    addHeading: (t: string) => ((summary += `# ${t}\n`), summaryApi),
    addRaw: (t: string) => ((summary += t), summaryApi),
    addTable: (rows: unknown[][]) => ((summary += JSON.stringify(rows)), summaryApi),
    write: () => Promise.resolve(summaryApi),
  };
  const reporter = {
    error: (m: string) => lines.push(`error: ${m}`),
    warning: (m: string) => lines.push(`warning: ${m}`),
    notice: (m: string) => lines.push(`notice: ${m}`),
    info: (m: string) => lines.push(m),
    setOutput: (n: string, v: unknown) => lines.push(`output ${n}=${String(v)}`),
    setFailed: (m: string) => lines.push(`failed: ${m}`),
    setSecret: () => undefined,
    summary: summaryApi,
  } as unknown as Reporter;
  return { reporter, lines, summary: () => summary };
}

const inputs = (values: Record<string, string>) => ({ getInput: (n: string) => values[n] ?? '', getMultilineInput: () => [] }) as unknown as Pick<typeof core, 'getInput' | 'getMultilineInput'>;

describeNeeding({ what: 'git', present: haveGit }, 'the deploy action', () => {
  it('plans each cloud platform again first, deploys, redeploys, and carries on past a failure', async () => {
    const h = gitHistory({
      'platforms/spaces/home-net.yaml': awsSpace('home-net'),
      'platforms/a.yaml': awsPlatform('a'),
      'platforms/b.yaml': awsPlatform('b'),
      'platforms/c.yaml': SSH('c'),
      'platforms/d.yaml': SSH('d'),
    });
    const sha = h.git('rev-parse', 'HEAD');
    const calls: string[] = [];
    const result = (o: DeployOptions, changed = true): DeployResult => ({ platform: o.platform, host: `myt@${o.platform}.example:22`, changed, summary: 'release r1 running' }) as DeployResult;
    const rec = recorder();
    registerSecret('very-secret-password');
    await run({
      env: { GITHUB_WORKSPACE: h.root, GITHUB_EVENT_NAME: 'push', GITHUB_REPOSITORY: 'octo/fleet', GITHUB_SHA: sha, GITHUB_ACTOR: 'alice' },
      reporter: rec.reporter,
      inputs: inputs({ deploy: 'a b c', redeploy: 'd' }),
      plan: (o) => {
        calls.push(`plan ${o.names.join(',')}`);
        const replace = o.names[0] === 'b';
        const summary = summarizePlan(
          { resource_changes: [{ address: 'aws_ebs_volume.data_volume', type: 'aws_ebs_volume', mode: 'managed', change: { actions: replace ? ['delete', 'create'] : ['update'] } }] },
          { dataVolumes: ['aws_ebs_volume.data_volume'], instances: ['aws_instance.instance'] },
        );
        return Promise.resolve(o.names.map((name) => ({ name, stacks: [{ stack: name, status: 'planned' as const, summary }] })));
      },
      deploy: (o) => {
        calls.push(`deploy ${o.platform} ${o.commit} ${o.actor}`);
        o.onProgress?.('connect: very-secret-password');
        if (o.platform === 'c') return Promise.reject(new Error('ssh: connection refused'));
        return Promise.resolve(result(o));
      },
      redeploy: (o) => {
        calls.push(`redeploy ${o.platform}`);
        return Promise.resolve(result(o, false));
      },
    });
    expect(calls).toEqual([`plan a`, `deploy a ${sha} alice`, 'plan b', `deploy c ${sha} alice`, 'redeploy d']);
    expect(rec.lines).toContain('error: b: stopped before applying anything: the plan made again from ' + sha.slice(0, 12) + " would lose data or the platform:\n  aws_ebs_volume.data_volume (the data volume) would be replaced: the database on it would be lost\nIf this is intended, a person applies it from a terminal: myt apply b --allow-data-loss");
    expect(rec.lines).toContain('error: c: ssh: connection refused');
    expect(rec.lines).toContain('output failed=["b","c"]');
    expect(rec.lines).toContain('failed: deploy failed for b, c');
    expect(rec.lines).toContain('[a] connect: ***');
    expect(rec.lines.join('\n')).not.toContain('very-secret-password');
    expect(rec.summary()).toContain('nothing changed: release r1 running (myt@d.example:22)');
  });

  it('bundled: stops a cloud platform whose plan, made again from the merged commit, would replace its data volume (fake Terraform)', async () => {
    const h = gitHistory({
      '.sops.yaml': copy('.sops.yaml'),
      '.gitignore': '.myt/\n',
      'platforms/weather.yaml': copy('platforms/weather.yaml'),
      'secrets/gcp.enc.yaml': copy('secrets/gcp.enc.yaml'),
      'secrets/keys/weather.enc.yaml': copy('secrets/keys/weather.enc.yaml'),
    });
    const sha = h.git('rev-parse', 'HEAD');
    const fake = join(tempRepo({}), 'terraform');
    writeFileSync(
      fake,
      `#!/usr/bin/env node
const fs = require('node:fs'); const path = require('node:path'); const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'calls.log'), JSON.stringify(args) + '\\n');
if (args[0] === 'version') { console.log(JSON.stringify({ terraform_version: '1.11.4', platform: 'linux_amd64', provider_selections: {}, terraform_outdated: false })); process.exit(0); }
if (args[0] === 'plan') { fs.writeFileSync(args.find((a) => a.startsWith('-out=')).slice(5), 'x'); process.exit(2); }
if (args[0] === 'show') { console.log(JSON.stringify({ format_version: '1.2', resource_changes: [{ address: 'google_compute_disk.data_volume', type: 'google_compute_disk', mode: 'managed', change: { actions: ['delete', 'create'], replace_paths: [['type']] } }] })); process.exit(0); }
if (args[0] === 'apply') process.exit(3);
process.exit(0);
`,
    );
    chmodSync(fake, 0o755);
    const result = await runAction('deploy', { workspace: h.root, sha, inputs: { deploy: 'weather', redeploy: '' }, env: { MYT_TERRAFORM: fake, SOPS_AGE_KEY: copy('examples/demo.agekey') } });
    const log = result.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    expect(result.code, log.join('\n')).toBe(1);
    expect(log.join('\n')).toContain(`weather: stopped before applying anything: the plan made again from ${sha.slice(0, 12)} would lose data or the platform:`);
    expect(log.join('\n')).toContain('google_compute_disk.data_volume (the data volume) would be replaced (forced by a change of type)');
    expect(readFileSync(join(fake, '..', 'calls.log'), 'utf8')).not.toContain('"apply"');
    expect(result.outputs.failed).toBe('["weather"]');
  }, 120_000);
});
