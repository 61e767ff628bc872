// Event payloads the actions cannot use get a clear error naming what is missing, never a stack
// trace, and never a silent fallback that treats every platform as changed (a push with no
// 'before' used to deploy the whole fleet).
import type * as core from '@actions/core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { run as changes } from '../../src/actions/changes/run.js';
import { run as plan } from '../../src/actions/plan/run.js';
import type { Reporter } from '../../src/actions/report.js';
import { awsPlatform, gitHistory, haveGit } from '../helpers/git-history.js';
import { describeNeeding } from '../helpers/needs.js';

function recorder() {
  const said: string[] = [];
  const summaryApi = {
    addHeading: () => summaryApi,
    addRaw: () => summaryApi,
    addTable: () => summaryApi,
    write: () => Promise.resolve(summaryApi),
  };
  const reporter = {
    error: (m: string) => said.push(`error ${m}`),
    warning: (m: string) => said.push(`warning ${m}`),
    notice: (m: string) => said.push(`notice ${m}`),
    info: (m: string) => said.push(`info ${m}`),
    setOutput: (n: string, v: unknown) => said.push(`output ${n}=${String(v)}`),
    setFailed: (m: string) => said.push(`failed ${m}`),
    setSecret: () => undefined,
    summary: summaryApi,
  } as unknown as Reporter;
  return { reporter, said };
}

const noInputs = { getInput: () => '', getBooleanInput: () => false, getMultilineInput: () => [] } as unknown as Pick<typeof core, 'getInput' | 'getBooleanInput' | 'getMultilineInput'>;

function env(root: string, eventName: string, payload: string, sha: string): NodeJS.ProcessEnv {
  const file = join(mkdtempSync(join(tmpdir(), 'myt-event-')), 'event.json');
  writeFileSync(file, payload);
  return { PATH: process.env.PATH, GITHUB_WORKSPACE: root, GITHUB_REPOSITORY: 'octo/fleet', GITHUB_EVENT_NAME: eventName, GITHUB_EVENT_PATH: file, GITHUB_SHA: sha };
}

describeNeeding({ what: 'git', present: haveGit }, 'an event payload the actions cannot use', () => {
  const history = () => {
    const h = gitHistory({ 'platforms/a.yaml': awsPlatform('a'), 'platforms/b.yaml': awsPlatform('b'), 'secrets/aws.enc.yaml': 'sops: {v: 1}\n', 'secrets/rabbitmq.enc.yaml': 'sops: {v: 1}\n' });
    return { h, head: h.git('rev-parse', 'HEAD') };
  };

  it('a push without its before commit is refused, not taken for a new branch that deploys every platform', async () => {
    const { h, head } = history();
    const { reporter, said } = recorder();
    await changes({ env: env(h.root, 'push', JSON.stringify({ after: head }), head), reporter, inputs: noInputs });
    expect(said).toContain("failed the push event payload has no 'before' commit: MyT cannot tell what the push changed");
    expect(said.some((l) => l.startsWith('output matrix='))).toBe(false);
  });

  it('a pull request payload without its base commit is refused, not planned as all new', async () => {
    const { h, head } = history();
    const { reporter, said } = recorder();
    const payload = { pull_request: { number: 3, head: { sha: head, repo: { full_name: 'octo/fleet' } }, base: { repo: { full_name: 'octo/fleet' } } } };
    await changes({ env: env(h.root, 'pull_request', JSON.stringify(payload), head), reporter, inputs: noInputs });
    expect(said).toContain("failed the pull_request event payload has no pull_request.base.sha: MyT cannot tell what the pull request changed");
  });

  it('a payload that is not a JSON object is a clear error, not an internal one', async () => {
    const { h, head } = history();
    for (const text of ['null', '[]', '"x"']) {
      const { reporter, said } = recorder();
      await changes({ env: env(h.root, 'push', text, head), reporter, inputs: noInputs });
      expect(said.filter((l) => l.startsWith('failed '))).toEqual([expect.stringMatching(/^failed the event payload .*event\.json is not a JSON object$/)]);
    }
  });

  it('the plan action treats a pull request whose head repository it cannot read as a fork: not planned, no crash', async () => {
    const { h, head } = history();
    const { reporter, said } = recorder();
    const payload = { pull_request: { number: 3, base: { sha: head, repo: { full_name: 'octo/fleet' } } } };
    await plan({ env: env(h.root, 'pull_request', JSON.stringify(payload), head), reporter, inputs: noInputs });
    expect(said.filter((l) => l.startsWith('failed '))).toEqual([]);
    expect(said).toContain('output planned=false');
  });

  it('a pull request is compared with its merge commit\'s first parent, not a base.sha the base branch has moved past', async () => {
    const { h, head: stale } = history();
    h.git('checkout', '-q', '-b', 'feature');
    h.commit('change a', { 'platforms/a.yaml': awsPlatform('a').replace('sizeGb: 10', 'sizeGb: 20') });
    h.git('checkout', '-q', 'main');
    h.commit('meanwhile on main: change b', { 'platforms/b.yaml': awsPlatform('b').replace('sizeGb: 10', 'sizeGb: 30') });
    // The merge GitHub makes for the pull request: the base branch as it is now, first parent.
    h.git('-c', 'user.name=t', '-c', 'user.email=t@example.org', 'merge', '-q', '--no-ff', '-m', 'merge', 'feature');
    const merge = h.git('rev-parse', 'HEAD');
    const { reporter, said } = recorder();
    const payload = { pull_request: { number: 3, head: { sha: merge, repo: { full_name: 'octo/fleet' } }, base: { sha: stale, repo: { full_name: 'octo/fleet' } } } };
    await changes({ env: env(h.root, 'pull_request', JSON.stringify(payload), merge), reporter, inputs: noInputs });
    expect(said.filter((l) => l.startsWith('failed '))).toEqual([]);
    expect(said).toContain('output matrix={"include":[{"key":"a","deploy":"a","redeploy":""}]}');
  });
});
