// The security properties of the GitOps workflows, read from their YAML (both forms: this
// repository's, with ./actions, and a user's, made by myt init): fork code never runs with a
// secret, no value from an event reaches a shell, each job's token has only what it needs, the
// token is not left in .git/config for later steps, and a running deploy is never cancelled.
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deployWorkflow, pullRequestWorkflow, PUBLISHED_ACTIONS, type ActionSource } from '../../src/init/workflows.js';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  jobs: Record<string, Job>;
}

const sources: [string, ActionSource][] = [
  ['this repository (./actions)', { kind: 'local' }],
  ['a user repository (published actions)', PUBLISHED_ACTIONS],
];

describe.each(sources)('the workflows of %s', (_label, source) => {
  const workflows: [string, Workflow][] = [
    ['pull-request.yml', parse(pullRequestWorkflow(source)) as Workflow],
    ['deploy.yml', parse(deployWorkflow(source)) as Workflow],
  ];

  it.each(workflows)('%s: never triggered where fork code gets secrets or a write token', (_f, w) => {
    expect(Object.keys(w.on)).not.toContain('pull_request_target');
    expect(Object.keys(w.on)).not.toContain('workflow_run');
    expect(Object.keys(w.on)).not.toContain('issue_comment');
  });

  it.each(workflows)('%s: no event value is written into a shell script', (_f, w) => {
    for (const job of Object.values(w.jobs)) for (const step of job.steps) expect(step.run ?? '').not.toContain('${{');
  });

  it.each(workflows)('%s: read-only token by default; only the plan job may write, and only to pull requests', (_f, w) => {
    expect(w.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(w.jobs)) {
      if (job.permissions === undefined) continue;
      expect(name).toBe('plan');
      expect(job.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    }
  });

  it.each(workflows)('%s: a secret is given only to the MyT step that needs it, never to a whole job', (_f, w) => {
    for (const job of Object.values(w.jobs)) {
      expect(JSON.stringify(job.env ?? {})).not.toContain('secrets.');
      for (const step of job.steps) {
        if (JSON.stringify(step).includes('secrets.')) expect(step.uses).toMatch(/actions\/(plan|deploy|destroy)/);
      }
    }
  });

  it.each(workflows)('%s: checkouts leave no token in .git/config for the steps after them', (_f, w) => {
    const checkouts = Object.values(w.jobs).flatMap((j) => j.steps.filter((s) => s.uses?.startsWith('actions/checkout@')));
    expect(checkouts.length).toBeGreaterThan(0);
    for (const c of checkouts) expect(c.with?.['persist-credentials']).toBe(false);
  });

  it('pull-request.yml: the job with the age key runs only on a same-repository pull request or by hand', () => {
    const [, pr] = workflows[0]!;
    const withSecrets = Object.entries(pr.jobs).filter(([, j]) => JSON.stringify(j).includes('secrets.'));
    expect(withSecrets.map(([n]) => n)).toEqual(['plan']);
    const condition = withSecrets[0]![1].if ?? '';
    expect(
      condition === "github.event_name == 'workflow_dispatch'" ||
        condition === "github.event_name == 'workflow_dispatch' || github.event.pull_request.head.repo.full_name == github.repository",
      condition,
    ).toBe(true);
  });

  it('deploy.yml: one deploy of a platform at a time, and a running one is never cancelled', () => {
    const [, deploy] = workflows[1]!;
    expect(deploy.concurrency?.['cancel-in-progress']).not.toBe(true);
    for (const name of ['deploy', 'destroy']) {
      const job = deploy.jobs[name]!;
      expect(job.concurrency?.group).toMatch(/^myt-deploy-\$\{\{ matrix\.(key|platform) \}\}$/);
      expect(job.concurrency?.['cancel-in-progress']).toBe(false);
    }
  });
});
