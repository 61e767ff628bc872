// The Terraform runner against the real Terraform CLI (/usr/local/bin/terraform), on stacks made
// of terraform_data resources: they are built in, so `init` needs no provider download.
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeNeeding, itNeeding } from '../helpers/needs.js';
import { goneWithin } from '../helpers/processes.js';
import { ApplyFailedError, OUTPUTS_FILE, PLAN_FILE, runStack } from '../../src/infra/apply-stack.js';
import type { SynthesizedStack } from '../../src/infra/stacks.js';
import { findTerraform } from '../../src/infra/terraform/find-binary.js';
import { summarizePlan } from '../../src/infra/terraform/plan-summary.js';
import { terraformEnv, TerraformError, TerraformRunner } from '../../src/infra/terraform/runner.js';
import { MytError } from '../../src/errors.js';
import { TERRAFORM, TERRAFORM_NEED } from './helpers.js';


type Json = Record<string, unknown>;

/** A stack of terraform_data resources named like a platform's: an instance and a data volume. */
function stackJson(
  opts: { volumeGeneration?: string; instanceInput?: string; instanceGeneration?: string; createBeforeDestroy?: boolean; failing?: boolean; sleepPidFile?: string } = {},
): Json {
  const instance: Json = { input: opts.instanceInput ?? '203.0.113.10' };
  if (opts.instanceGeneration) instance.triggers_replace = [opts.instanceGeneration];
  if (opts.createBeforeDestroy) instance.lifecycle = [{ create_before_destroy: true }];
  const resources: Json = {
    data_volume: { input: 'volume', triggers_replace: [opts.volumeGeneration ?? 'v1'] },
    instance,
  };
  if (opts.failing) {
    resources.broken = { input: 'x', depends_on: ['terraform_data.instance'], provisioner: [{ 'local-exec': { command: 'echo provisioning failed on purpose >&2; exit 3' } }] };
  }
  if (opts.sleepPidFile) {
    resources.slow = { input: 'x', provisioner: [{ 'local-exec': { command: `echo $$ > ${opts.sleepPidFile}; exec sleep 60` } }] };
  }
  return {
    terraform: { backend: { local: { path: '../state/test.tfstate' } } },
    resource: { terraform_data: resources },
    output: { public_ip: { value: '${terraform_data.instance.output}' } },
  };
}

function fakeStack(json: Json): SynthesizedStack {
  return {
    name: 'test',
    kind: 'aws-platform',
    file: 'platforms/test.yaml',
    dependsOn: [],
    credentials: { provider: 'aws', file: 'secrets/aws.enc.yaml' },
    protects: { dataVolumes: ['terraform_data.data_volume'], instances: ['terraform_data.instance'] },
    json,
    synthMs: 0,
  };
}


describeNeeding(TERRAFORM_NEED, 'Terraform runner against the real Terraform CLI', () => {
  let base: string;
  let dir: string;
  let lines: string[];
  const runner = (timeoutMs?: number, graceMs?: number) =>
    new TerraformRunner({
      binary: { path: TERRAFORM, flavor: 'terraform' },
      dir,
      env: terraformEnv(process.env, {}),
      log: (line) => lines.push(line),
      timeoutMs,
      graceMs,
    });
  const write = (json: Json) => writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify(json, null, 2));
  const stateFile = () => join(base, 'state', 'test.tfstate');

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'myt-tf-'));
    dir = join(base, 'test');
    mkdirSync(dir, { recursive: true });
    lines = [];
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('plans, summarises, applies exactly the saved plan and reads the outputs', async () => {
    write(stackJson());
    const result = await runStack(fakeStack(stackJson()), { dir, runner: runner(), log: (l) => lines.push(l) });
    expect(result.status).toBe('applied');
    expect(result.summary).toMatchObject({ add: 2, change: 0, destroy: 0, replaced: [], warnings: [], dangerous: false });
    expect(result.summary.changes.map((c) => `${c.action} ${c.address}`).sort()).toEqual(['create terraform_data.data_volume', 'create terraform_data.instance']);
    expect(result.outputs).toEqual({ public_ip: '203.0.113.10' });
    expect(JSON.parse(readFileSync(join(dir, OUTPUTS_FILE), 'utf8'))).toEqual({ public_ip: '203.0.113.10' });
    expect(existsSync(stateFile())).toBe(true);
    expect(existsSync(join(dir, PLAN_FILE))).toBe(false);
    // progress was streamed line by line, commands included
    expect(lines).toContain(`$ terraform apply -input=false -no-color -lock-timeout=5m ${PLAN_FILE}`);
    expect(lines.some((l) => l.includes('Apply complete! Resources: 2 added'))).toBe(true);
  });

  it('a second apply of an unchanged stack is a no-op', async () => {
    write(stackJson());
    await runStack(fakeStack(stackJson()), { dir, runner: runner(), log: () => {} });
    const stateBefore = readFileSync(stateFile(), 'utf8');
    lines = [];
    const again = await runStack(fakeStack(stackJson()), { dir, runner: runner(), log: (l) => lines.push(l) });
    expect(again.status).toBe('unchanged');
    expect(again.summary).toMatchObject({ add: 0, change: 0, destroy: 0 });
    expect(lines.some((l) => l.startsWith('$ terraform apply'))).toBe(false);
    expect(readFileSync(stateFile(), 'utf8')).toBe(stateBefore);
    expect(again.outputs).toEqual({ public_ip: '203.0.113.10' });
  });

  it('flags and refuses a plan that would replace the data volume, and applies it when allowed', async () => {
    write(stackJson());
    await runStack(fakeStack(stackJson()), { dir, runner: runner(), log: () => {} });
    const changed = stackJson({ volumeGeneration: 'v2' });
    write(changed);
    const refused = runStack(fakeStack(changed), { dir, runner: runner(), log: () => {} });
    await expect(refused).rejects.toThrow(/refusing to apply.*\n.*terraform_data\.data_volume \(the data volume\) would be replaced/);
    const allowed = await runStack(fakeStack(changed), { dir, runner: runner(), log: () => {}, allowDanger: true });
    expect(allowed.status).toBe('applied');
    expect(allowed.summary).toMatchObject({ add: 1, change: 0, destroy: 1, replaced: ['terraform_data.data_volume'], dangerous: true });
  });

  it.each([false, true])('refuses a plan that would replace the VM (create_before_destroy %s), and applies it when allowed', async (createBeforeDestroy) => {
    const first = stackJson({ instanceGeneration: 'key-1', createBeforeDestroy });
    write(first);
    await runStack(fakeStack(first), { dir, runner: runner(), log: () => {} });
    const rotated = stackJson({ instanceGeneration: 'key-2', createBeforeDestroy });
    write(rotated);
    const refused = runStack(fakeStack(rotated), { dir, runner: runner(), log: () => {} });
    await expect(refused).rejects.toThrow(/refusing to apply.*\n.*terraform_data\.instance \(the platform's VM\) would be replaced \(forced by a change of triggers_replace\)/);
    const allowed = await runStack(fakeStack(rotated), { dir, runner: runner(), log: () => {}, allowDanger: true });
    expect(allowed.summary).toMatchObject({ add: 1, destroy: 1, replaced: ['terraform_data.instance'], dangerous: true });
  });

  it('a failing apply keeps the state and reports what exists instead of destroying it', async () => {
    const failing = stackJson({ failing: true });
    write(failing);
    const error = await runStack(fakeStack(failing), { dir, runner: runner(), log: (l) => lines.push(l) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyFailedError);
    const failed = error as ApplyFailedError;
    expect(failed.existing).toEqual(expect.arrayContaining(['terraform_data.data_volume', 'terraform_data.instance']));
    expect(failed.message).toMatch(/nothing was rolled back or destroyed/);
    // Terraform's own message was streamed to the log as it ran; the error points there.
    expect(lines.some((l) => l.includes('provisioning failed on purpose'))).toBe(true);
    expect(failed.message).toMatch(/Cause: terraform apply failed \(exit 1\) \(Terraform's messages are above\)/);
    // the state still holds what was made, and nothing ran a destroy
    const state = JSON.parse(readFileSync(stateFile(), 'utf8')) as { resources: { name: string }[] };
    expect(state.resources.map((r) => r.name)).toEqual(expect.arrayContaining(['data_volume', 'instance']));
    expect(lines.some((l) => /destroy/i.test(l) && l.startsWith('$'))).toBe(false);
  });

  it('sees drift when the state is changed behind its back', async () => {
    write(stackJson());
    await runStack(fakeStack(stackJson()), { dir, runner: runner(), log: () => {} });
    // Someone edits the state: the instance's recorded input no longer matches the declaration.
    const state = JSON.parse(readFileSync(stateFile(), 'utf8')) as { serial: number; resources: { name: string; instances: { attributes: Json }[] }[] };
    const instance = state.resources.find((r) => r.name === 'instance')!;
    // terraform_data keeps its dynamic values as { value, type }
    instance.instances[0]!.attributes.input = { value: '198.51.100.7', type: 'string' };
    instance.instances[0]!.attributes.output = { value: '198.51.100.7', type: 'string' };
    state.serial += 1;
    writeFileSync(stateFile(), JSON.stringify(state));
    const r = runner();
    await r.init();
    const changed = await r.plan(PLAN_FILE);
    expect(changed).toBe(true);
    const summary = summarizePlan(await r.show(PLAN_FILE), fakeStack({}).protects);
    expect(summary.changes).toEqual([{ address: 'terraform_data.instance', action: 'update' }]);
    expect(summary.dangerous).toBe(false);
  });

  it('sees a resource removed from the state as one to create again', async () => {
    write(stackJson());
    await runStack(fakeStack(stackJson()), { dir, runner: runner(), log: () => {} });
    const state = JSON.parse(readFileSync(stateFile(), 'utf8')) as { serial: number; resources: { name: string }[] };
    state.resources = state.resources.filter((r) => r.name !== 'instance');
    state.serial += 1;
    writeFileSync(stateFile(), JSON.stringify(state));
    const r = runner();
    await r.init();
    expect(await r.plan(PLAN_FILE)).toBe(true);
    const summary = summarizePlan(await r.show(PLAN_FILE), fakeStack({}).protects);
    expect(summary.changes).toEqual([{ address: 'terraform_data.instance', action: 'create' }]);
  });

  it('plans and applies the destruction of a stack, flagging the loss of the VM and the data volume', async () => {
    write(stackJson());
    await runStack(fakeStack(stackJson()), { dir, runner: runner(), log: () => {} });
    const gone = await runStack(fakeStack(stackJson()), { dir, runner: runner(), log: () => {}, destroy: true, allowDanger: true });
    expect(gone.status).toBe('destroyed');
    expect(gone.summary.destroy).toBe(2);
    expect(gone.summary.warnings).toEqual([
      'terraform_data.data_volume (the data volume) would be destroyed: the database on it would be lost',
      "terraform_data.instance (the platform's VM) would be destroyed",
    ]);
    expect(await runner().stateList()).toEqual([]);
  });

  it('stops a command that runs past its timeout, with its whole process group', async () => {
    const pidFile = join(base, 'sleep.pid');
    const slow = stackJson({ sleepPidFile: pidFile });
    write(slow);
    const r = runner(4_000, 5_000);
    await r.init();
    await r.plan(PLAN_FILE);
    const started = Date.now();
    const error = await r.apply(PLAN_FILE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerraformError);
    expect((error as TerraformError).result.timedOut).toBe(true);
    expect((error as TerraformError).message).toMatch(/timed out after 4 s/);
    expect(Date.now() - started).toBeLessThan(25_000);
    // the provisioner's sleep, a grandchild, is gone too (bounded wait)
    expect(await goneWithin(Number(readFileSync(pidFile, 'utf8').trim()), 5_000)).toBe(true);
  });

  it('passes an interrupt on to Terraform, which stops with its whole process group', async () => {
    const pidFile = join(base, 'sleep.pid');
    write(stackJson({ sleepPidFile: pidFile }));
    const signals = new EventEmitter();
    const r = new TerraformRunner({ binary: { path: TERRAFORM, flavor: 'terraform' }, dir, env: terraformEnv(process.env, {}), log: (l) => lines.push(l), graceMs: 5_000, signals });
    await r.init();
    await r.plan(PLAN_FILE);
    const applying = r.apply(PLAN_FILE).catch((e: unknown) => e);
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((res) => setTimeout(res, 100));
    expect(existsSync(pidFile)).toBe(true);
    signals.emit('SIGINT');
    const error = (await applying) as TerraformError;
    expect(error).toBeInstanceOf(TerraformError);
    expect(error.result.interrupted).toBe(true);
    expect(error.message).toMatch(/terraform apply was interrupted and stopped/);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(await goneWithin(Number(readFileSync(pidFile, 'utf8').trim()), 5_000)).toBe(true);
  });

  it('masks secrets in streamed lines and in the error it raises', async () => {
    write({
      terraform: { backend: { local: { path: '../state/test.tfstate' } } },
      resource: { terraform_data: { leak: { input: 'x', provisioner: [{ 'local-exec': { command: 'echo token=hunter2-secret; echo denied for hunter2-secret >&2; exit 1' } }] } } },
    });
    const r = new TerraformRunner({
      binary: { path: TERRAFORM, flavor: 'terraform' },
      dir,
      env: terraformEnv(process.env, {}),
      log: (line) => lines.push(line),
      mask: (line) => line.split('hunter2-secret').join('***'),
    });
    await r.init();
    await r.plan(PLAN_FILE);
    const error = (await r.apply(PLAN_FILE).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TerraformError);
    // The error points at Terraform's messages, streamed above, and keeps their last lines, masked.
    expect(error.message).toBe("terraform apply failed (exit 1) (Terraform's messages are above)");
    expect((error as TerraformError).result.stderrTail.join('\n')).toContain('denied for ***');
    expect(lines.some((l) => l.includes('token=***'))).toBe(true);
    expect(lines.some((l) => l.includes('denied for ***'))).toBe(true);
    expect([error.message, ...lines, ...(error as TerraformError).result.stderrTail].join('\n')).not.toContain('hunter2-secret');
  });

  it('passes only the given environment to Terraform: credentials reach the child, other secrets do not', async () => {
    const printed = join(base, 'env.txt');
    write({
      terraform: { backend: { local: { path: '../state/test.tfstate' } } },
      resource: { terraform_data: { env: { input: 'x', provisioner: [{ 'local-exec': { command: `env > ${printed}` } }] } } },
    });
    const r = new TerraformRunner({
      binary: { path: TERRAFORM, flavor: 'terraform' },
      dir,
      env: terraformEnv({ ...process.env, UNRELATED_SECRET: 'do-not-pass' }, { AWS_ACCESS_KEY_ID: 'AKIAFAKEFORTEST' }),
      log: () => {},
    });
    await r.init();
    await r.plan(PLAN_FILE);
    await r.apply(PLAN_FILE);
    const env = readFileSync(printed, 'utf8');
    expect(env).toMatch(/^AWS_ACCESS_KEY_ID=AKIAFAKEFORTEST$/m);
    expect(env).toMatch(/^TF_IN_AUTOMATION=1$/m);
    expect(env).not.toMatch(/UNRELATED_SECRET/);
  });
});


describe('finding the Terraform CLI', () => {
  it('finds terraform on the PATH, else tofu', () => {
    const present = new Set(['/opt/b/tofu', '/opt/c/terraform']);
    expect(findTerraform({ PATH: '/opt/a:/opt/b:/opt/c' }, (p) => present.has(p))).toEqual({ path: '/opt/c/terraform', flavor: 'terraform' });
    expect(findTerraform({ PATH: '/opt/a:/opt/b' }, (p) => present.has(p))).toEqual({ path: '/opt/b/tofu', flavor: 'tofu' });
  });

  it('says clearly when neither terraform nor tofu is there', () => {
    expect(() => findTerraform({ PATH: '/nonexistent' })).toThrow(MytError);
    expect(() => findTerraform({ PATH: '/nonexistent' })).toThrow(/neither terraform nor tofu was found on the PATH: install Terraform/);
  });

  it('honours MYT_TERRAFORM, and refuses one that is not executable', () => {
    expect(findTerraform({ MYT_TERRAFORM: '/x/tofu-1.8', PATH: '' }, () => true)).toEqual({ path: '/x/tofu-1.8', flavor: 'tofu' });
    expect(() => findTerraform({ MYT_TERRAFORM: '/x/nothing', PATH: '' }, () => false)).toThrow(/MYT_TERRAFORM is set to '\/x\/nothing'/);
  });

  itNeeding(TERRAFORM_NEED, 'finds the real terraform of this machine', () => {
    expect(findTerraform({ PATH: '/usr/local/bin' })).toEqual({ path: TERRAFORM, flavor: 'terraform' });
  });
});
