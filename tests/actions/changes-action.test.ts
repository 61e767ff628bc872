// The bundled changes action (actions/changes/dist/index.js) run as the runner runs it on a real
// git history: its GITHUB_OUTPUT is the deploy workflow's matrix.
import { expect, it } from 'vitest';
import { runAction } from '../helpers/action-runner.js';
import { awsPlatform, awsSpace, gitHistory, haveGit } from '../helpers/git-history.js';
import { describeNeeding } from '../helpers/needs.js';

const FILES = {
  'platforms/spaces/home-net.yaml': awsSpace('home-net'),
  'platforms/greenhouse.yaml': awsPlatform('greenhouse', { script: 'processors/greenhouse.ts' }),
  'platforms/weather.yaml': awsPlatform('weather'),
  'platforms/old.yaml': awsPlatform('old', { destroy: 'allow' }),
  'processors/greenhouse.ts': 'export default (m: unknown) => m;\n',
  'secrets/aws.enc.yaml': 'sops: {v: 1}\n',
  'secrets/rabbitmq.enc.yaml': 'sops: {v: 1}\n',
};

const push = (before: string, after: string) => ({ name: 'push', payload: { ref: 'refs/heads/main', before, after, repository: { full_name: 'octo/fleet', default_branch: 'main' } } });

describeNeeding({ what: 'git', present: haveGit }, 'the changes action, bundled', () => {
  it('outputs the deploy matrix, the platforms to destroy, and says what a deletion left running', async () => {
    const h = gitHistory(FILES);
    const before = h.git('rev-parse', 'HEAD');
    const after = h.commit('merge', {
      'processors/greenhouse.ts': 'export default () => null;\n',
      'platforms/factory.yaml': awsPlatform('factory'),
      'platforms/old.yaml': null,
      'platforms/weather.yaml': null,
    });
    const run = await runAction('changes', { workspace: h.root, event: push(before, after), sha: after });
    expect(run.code, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.matrix!)).toEqual({
      include: [
        { key: 'factory', deploy: 'factory', redeploy: '' },
        { key: 'greenhouse', deploy: '', redeploy: 'greenhouse' },
      ],
    });
    expect(run.outputs).toMatchObject({ any: 'true', 'any-destroy': 'true', base: before, head: after });
    expect(JSON.parse(run.outputs.destroy!)).toEqual({ include: [{ platform: 'old', file: 'platforms/old.yaml' }] });
    // The runner's format escapes ':' in a property as %3A.
    expect(run.stdout).toContain("::warning title=MyT%3A left running::weather: its file platforms/weather.yaml was deleted, but it did not set 'spec.destroy: allow'");
    expect(run.summary).toContain('⚠️ **old** was deleted and sets `spec.destroy: allow`: it is destroyed in this run.');
    expect(run.summary).toContain('- **greenhouse** (redeploy): script changed: processors/greenhouse.ts');
  }, 60_000);

  it('deploys the platforms named by hand (workflow_dispatch), and refuses a name that is not declared', async () => {
    const h = gitHistory(FILES);
    const head = h.git('rev-parse', 'HEAD');
    const dispatch = { name: 'workflow_dispatch', payload: { inputs: { platforms: 'weather' } } };
    const run = await runAction('changes', { workspace: h.root, event: dispatch, sha: head, inputs: { platforms: 'weather', action: 'redeploy' } });
    expect(run.code, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.matrix!)).toEqual({ include: [{ key: 'weather', deploy: '', redeploy: 'weather' }] });
    const bad = await runAction('changes', { workspace: h.root, event: dispatch, sha: head, inputs: { platforms: 'nope' } });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("::error::no platform named 'nope' is declared at");
    const evil = await runAction('changes', { workspace: h.root, event: dispatch, sha: head, inputs: { platforms: '$(id)' } });
    expect(evil.stdout).toContain("::error::input 'platforms': '$(id)' is not a platform name");
  }, 60_000);

  it('groups the matrix when told to use fewer jobs', async () => {
    const h = gitHistory(FILES);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('space', { 'platforms/spaces/home-net.yaml': awsSpace('home-net', 'eu-west-1b') });
    const run = await runAction('changes', { workspace: h.root, event: push(base, head), sha: head, inputs: { 'max-jobs': '1' } });
    expect(run.code, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.matrix!)).toEqual({ include: [{ key: 'group-0', deploy: 'greenhouse old weather', redeploy: '' }] });
  }, 60_000);
});

describeNeeding({ what: 'git', present: haveGit }, 'the changes action after a force push', () => {
  it('deploys every declared platform when the commit before the push is in no branch, and says why', async () => {
    const h = gitHistory(FILES);
    const head = h.git('rev-parse', 'HEAD');
    const gone = 'c'.repeat(40); // what a force push replaced: not in this clone
    const run = await runAction('changes', { workspace: h.root, event: push(gone, head), sha: head });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain(`::warning title=MyT%3A what changed::the commit before this push (${gone.slice(0, 12)}) is in no branch (a force push?)`);
    expect((JSON.parse(run.outputs.matrix!) as { include: { key: string }[] }).include.map((j) => j.key)).toEqual(['greenhouse', 'old', 'weather']);
    expect(run.outputs['any-destroy']).toBe('false');
  }, 60_000);
});
