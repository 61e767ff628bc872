// Terraform state and saved plans hold secrets in plain text: what MyT does so they stay private.
// Against the real Terraform CLI on terraform_data stacks (built in: no provider download), and
// real git for what a repository would track.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeNeeding } from '../helpers/needs.js';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PLAN_FILE } from '../../src/infra/apply-stack.js';
import { runStacks } from '../../src/infra/run-stacks.js';
import type { SynthesizedStack } from '../../src/infra/stacks.js';
import { protectLocalState, refuseTrackedState } from '../../src/infra/state-guard.js';
import { terraformEnv, TerraformRunner } from '../../src/infra/terraform/runner.js';
import { fakeSecrets, TERRAFORM, TERRAFORM_NEED } from './helpers.js';

const LOCAL = { backend: 'local', path: '.myt/state' } as const;

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'myt-state-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describeNeeding(TERRAFORM_NEED, 'files Terraform writes for MyT (real Terraform CLI)', () => {
  const dir = () => join(base, 'out', 'test');
  const write = (input: string) =>
    writeFileSync(
      join(dir(), 'cdk.tf.json'),
      JSON.stringify({ terraform: { backend: { local: { path: '../../state/test.tfstate' } } }, resource: { terraform_data: { instance: { input } } } }),
    );

  function runner(parentEnv: NodeJS.ProcessEnv = process.env) {
    mkdirSync(dir(), { recursive: true });
    write('x');
    return new TerraformRunner({ binary: { path: TERRAFORM, flavor: 'terraform' }, dir: dir(), env: terraformEnv(parentEnv, {}), log: () => {} });
  }

  it('state, its backup and the saved plan are readable by their owner only (0600)', async () => {
    const r = runner();
    await r.init();
    await r.plan(PLAN_FILE);
    expect(mode(join(base, 'out', 'test', PLAN_FILE))).toBe('600');
    await r.apply(PLAN_FILE);
    write('y'); // a change, so the second apply keeps a backup of the first state
    await r.plan(PLAN_FILE);
    await r.apply(PLAN_FILE);
    expect(mode(join(base, 'state', 'test.tfstate'))).toBe('600');
    expect(mode(join(base, 'state', 'test.tfstate.backup'))).toBe('600');
  });

  it('gets no TF_LOG / TF_LOG_PATH from our environment unless MYT_TF_LOG=1 asks: its debug log is not masked', async () => {
    const log = join(base, 'terraform-debug.log');
    await runner({ ...process.env, TF_LOG: 'TRACE', TF_LOG_PATH: log }).init();
    expect(existsSync(log)).toBe(false);
    await runner({ ...process.env, TF_LOG: 'TRACE', TF_LOG_PATH: log, MYT_TF_LOG: '1' }).init();
    expect(existsSync(log)).toBe(true);
  });
});

const haveGit = ['/usr/bin/git', '/bin/git', '/usr/local/bin/git'].some(existsSync);

describeNeeding({ what: 'git', present: haveGit }, 'a local state folder', () => {
  it('is refused when git would track it, and accepted once it is ignored', () => {
    execFileSync('git', ['init', '-q', base]);
    expect(() => refuseTrackedState(base, LOCAL, ['greenhouse'])).toThrow(
      /^Terraform state would be tracked by git: \.myt\/state\/greenhouse\.tfstate is not ignored .* Add '\.myt\/state\/' to \.gitignore/,
    );
    writeFileSync(join(base, '.gitignore'), '.myt/\n');
    expect(() => refuseTrackedState(base, LOCAL, ['greenhouse'])).not.toThrow();
    // A state file committed before the ignore rule is tracked all the same.
    mkdirSync(join(base, '.myt/state'), { recursive: true });
    writeFileSync(join(base, '.myt/state/greenhouse.tfstate'), '{}');
    execFileSync('git', ['-C', base, 'add', '-f', '.myt/state/greenhouse.tfstate']);
    expect(() => refuseTrackedState(base, LOCAL, ['greenhouse'])).toThrow(/would be tracked by git/);
  });

  it('stops apply before Terraform runs when git would track it', async () => {
    execFileSync('git', ['init', '-q', base]);
    const stack: SynthesizedStack = {
      name: 'home-net',
      kind: 'aws-space',
      file: 'platforms/spaces/home-net.yaml',
      dependsOn: [],
      credentials: { provider: 'aws', file: 'secrets/aws.enc.yaml' },
      protects: { dataVolumes: [], instances: [] },
      json: {},
      synthMs: 0,
    };
    const reads: string[] = [];
    const run = runStacks({
      root: base,
      stacks: [stack],
      folders: new Map([['home-net', join(base, '.myt/out/home-net')]]),
      backend: LOCAL,
      binary: { path: join(base, 'no-terraform-here'), flavor: 'terraform' },
      secrets: { readSecrets: fakeSecrets(reads), registerSecret: () => {}, maskSecrets: (t) => t },
      env: {},
      log: () => {},
    });
    await expect(run).rejects.toThrow(/^Terraform state would be tracked by git: \.myt\/state\/home-net\.tfstate is not ignored/);
    expect(reads).toEqual([]);
  });

  it('outside a git work tree is left to the user', () => {
    expect(() => refuseTrackedState(base, LOCAL, ['greenhouse'])).not.toThrow();
  });

  it('is made owner-only, with state files an older run left 0644 made 0600', () => {
    mkdirSync(join(base, '.myt/state'), { recursive: true, mode: 0o755 });
    writeFileSync(join(base, '.myt/state/old.tfstate'), '{}', { mode: 0o644 });
    protectLocalState(base, LOCAL);
    expect(mode(join(base, '.myt/state'))).toBe('700');
    expect(mode(join(base, '.myt/state/old.tfstate'))).toBe('600');
  });
});
