// The plan report (PR comment and job summary): loud alerts outside every folded section, plans
// folded and cut under GitHub's 65,536-character limit, every text through the secrets mask.
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeSet, PlatformChange } from '../../src/changes/index.js';
import { COMMENT_LIMIT, planReport, type PlatformPlan } from '../../src/actions/plan-report.js';
import { summarizePlan, type TerraformPlanJson } from '../../src/infra/terraform/plan-summary.js';
import { registerSecret, resetSecretRegistry } from '../../src/secrets/masking.js';

afterEach(() => resetSecretRegistry());

const protects = { dataVolumes: ['aws_ebs_volume.data_volume'], instances: ['aws_instance.instance'] };
// The shape `terraform show -json` gives a replacement (see tests/infra/plan-summary.test.ts).
const replaceVolume: TerraformPlanJson = {
  format_version: '1.2',
  resource_changes: [
    { address: 'aws_ebs_volume.data_volume', type: 'aws_ebs_volume', mode: 'managed', change: { actions: ['delete', 'create'], replace_paths: [['availability_zone']] } },
    { address: 'aws_eip.address', type: 'aws_eip', mode: 'managed', change: { actions: ['create'] } },
  ],
};
const change = (name: string, extra: Partial<PlatformChange> = {}): PlatformChange => ({ name, file: `platforms/${name}.yaml`, provider: 'aws', action: 'deploy', reasons: [`platforms/${name}.yaml changed`], processor: [], ...extra });
const changes = (changed: PlatformChange[], deleted: ChangeSet['deleted'] = []): ChangeSet => ({ base: 'a'.repeat(40), head: 'b'.repeat(40), changed, deleted, moved: [], unchanged: [] });

describe('the plan report', () => {
  it('puts a replaced data volume and a destroyed platform in a loud alert, before and outside every folded section', () => {
    const plans: PlatformPlan[] = [{ name: 'greenhouse', stacks: [{ stack: 'greenhouse', status: 'planned', summary: summarizePlan(replaceVolume, protects) }] }];
    const text = planReport({
      changes: changes([change('greenhouse')], [{ name: 'old', file: 'platforms/old.yaml', provider: 'aws', optedIn: true, hasInfrastructure: true }]),
      plans,
      commit: 'c'.repeat(40),
    });
    const alert = text.indexOf('> [!CAUTION]');
    expect(alert).toBeGreaterThan(-1);
    expect(alert).toBeLessThan(text.indexOf('<details>'));
    expect(text).toContain('> - **greenhouse**: aws_ebs_volume.data_volume (the data volume) would be replaced (forced by a change of availability_zone): the database on it would be lost');
    expect(text).toContain('> - **old**: its file platforms/old.yaml is deleted and it sets `spec.destroy: allow`: merging **destroys the platform and its data volume**');
    expect(text).toContain('| greenhouse | infrastructure and VM | 2 to add, 0 to change, 1 to destroy (1 replaced) | platforms/greenhouse.yaml changed |');
    expect(text).toContain('-/+ aws_ebs_volume.data_volume  (replaced)');
  });

  it('stays under the comment limit with a thousand long plans: the table first, plans while they fit, then says what was cut', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `p${String(i).padStart(4, '0')}`);
    const big: TerraformPlanJson = { resource_changes: Array.from({ length: 40 }, (_, i) => ({ address: `aws_instance.n${i}`, type: 'aws_instance', mode: 'managed' as const, change: { actions: ['update'] } })) };
    const plans = many.map((name) => ({ name, stacks: [{ stack: name, status: 'planned' as const, summary: summarizePlan(big, protects) }] }));
    const text = planReport({ changes: changes(many.map((n) => change(n))), plans, commit: 'c'.repeat(40), runUrl: 'https://github.com/o/r/actions/runs/1' });
    expect(text.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(text).toContain('| p0000 |');
    expect(text).toMatch(/… \d+ platform plans cut to stay under GitHub's limit of 65,536 characters: the \[run's job summary\]\(https:\/\/github.com\/o\/r\/actions\/runs\/1\) has them\./);
    // Every <details> that was started is closed: a cut never leaves broken markup.
    expect(text.split('<details>').length).toBe(text.split('</details>').length);
  });

  it('keeps every alert even when the table must be cut', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `platform-with-a-long-name-${i}`);
    const plans = many.slice(0, 3).map((name) => ({ name, stacks: [{ stack: name, status: 'planned' as const, summary: summarizePlan(replaceVolume, protects) }] }));
    const text = planReport({ changes: changes(many.map((n) => change(n, { reasons: ['x'.repeat(60)] }))), plans, commit: 'c'.repeat(40) });
    expect(text.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    for (const p of plans) expect(text).toContain(`> - **${p.name}**: aws_ebs_volume.data_volume (the data volume) would be replaced`);
    expect(text).toMatch(/… and \d+ more platforms \(cut to stay under GitHub's comment limit\)/);
  });

  it('masks every registered secret, wherever it appears (a value the provider does not mark sensitive)', () => {
    registerSecret('hunter2-very-secret');
    const plans: PlatformPlan[] = [{ name: 'greenhouse', stacks: [], error: 'Error: invalid password hunter2-very-secret for user admin' }];
    const text = planReport({ changes: changes([change('greenhouse', { reasons: ['secret hunter2-very-secret in a reason'] })]), plans, commit: 'c'.repeat(40) });
    expect(text).not.toContain('hunter2-very-secret');
    expect(text).toContain('invalid password *** for user admin');
  });

  it('escapes markup from file names, and no plan text can close its code fence', () => {
    const plans: PlatformPlan[] = [{ name: 'greenhouse', stacks: [], error: 'boom ```\n</details><img src=x>' }];
    const text = planReport({ changes: changes([change('greenhouse', { reasons: ['platforms/<img src=x onerror=alert(1)>.yaml changed'] })]), plans, commit: 'c'.repeat(40) });
    expect(text).toContain('platforms/&lt;img src=x onerror=alert(1)&gt;.yaml changed');
    expect(text).toContain('````text\nboom ```\n</details><img src=x>\n````');
  });

  it("shows what was planned before a failure (the Space) and then the failure", () => {
    const space = summarizePlan({ resource_changes: [{ address: 'aws_vpc.vpc', type: 'aws_vpc', mode: 'managed', change: { actions: ['create'] } }] }, { dataVolumes: [], instances: [] });
    const plans: PlatformPlan[] = [{ name: 'greenhouse', stacks: [{ stack: 'home-net', status: 'planned', summary: space }], error: 'Error: Unable to find remote state' }];
    const text = planReport({ changes: changes([change('greenhouse')]), plans, commit: 'c'.repeat(40) });
    expect(text).toContain('| greenhouse | infrastructure and VM | plan failed |');
    expect(text).toContain('```text\nhome-net: 1 to add, 0 to change, 0 to destroy\n  +   aws_vpc.vpc\n```\n\nThe plan failed:\n\n```text\nError: Unable to find remote state\n```');
  });
});
