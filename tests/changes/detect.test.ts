// Change detection on real git histories, each step a commit made here: what a pull request or a
// push changed, per platform, and the deploy matrix made from it.
import { expect, it } from 'vitest';
import { deployMatrix, detectChanges, leftRunning, toDestroy } from '../../src/changes/index.js';
import { awsPlatform, awsSpace, gitHistory, haveGit } from '../helpers/git-history.js';
import { runMyt } from '../helpers/cli.js';
import { describeNeeding } from '../helpers/needs.js';

const BASE = {
  'platforms/spaces/home-net.yaml': awsSpace('home-net'),
  'platforms/spaces/other-net.yaml': awsSpace('other-net'),
  'platforms/greenhouse.yaml': awsPlatform('greenhouse', { script: 'processors/greenhouse.ts', packages: { 'date-fns': '^3.6.0' } }),
  'platforms/greenhouse.lock.json': '{"lockfileVersion":3,"v":1}\n',
  'platforms/weather.yaml': awsPlatform('weather', { space: 'other-net' }),
  'processors/greenhouse.ts': "import { celsius } from './lib/units.js';\nexport default (m: unknown) => celsius(m);\n",
  'processors/lib/units.ts': 'export const celsius = (m: unknown) => m;\n',
  'processors/unrelated.ts': 'export default () => null;\n',
  'secrets/aws.enc.yaml': 'sops: {v: 1}\n',
  'secrets/rabbitmq.enc.yaml': 'sops: {v: 1}\n',
  'secrets/keys/greenhouse.enc.yaml': 'sops: {v: 1}\n',
  'README.md': 'hello\n',
};

const names = (list: readonly { name: string }[]) => list.map((p) => p.name);

describeNeeding({ what: 'git', present: haveGit }, 'change detection between two commits', () => {
  it('finds nothing to do when only files MyT does not read changed', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('docs', { 'README.md': 'changed\n', 'processors/unrelated.ts': 'export default () => 1;\n' });
    const c = await detectChanges({ root: h.root, base, head });
    expect(c).toMatchObject({ base, head, changed: [], deleted: [], moved: [] });
    expect(c.unchanged).toEqual(['greenhouse', 'weather']);
    expect(deployMatrix(c).include).toEqual([]);
  });

  it('deploys an added platform, and only it', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('add', { 'platforms/factory.yaml': awsPlatform('factory') });
    const c = await detectChanges({ root: h.root, base, head });
    expect(c.changed).toEqual([{ name: 'factory', file: 'platforms/factory.yaml', provider: 'aws', action: 'deploy', reasons: ['added'], processor: [] }]);
    expect(deployMatrix(c).include).toEqual([{ key: 'factory', deploy: 'factory', redeploy: '' }]);
  });

  it('redeploys (processor only) when only the script changed, or a file the script imports', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const edit = h.commit('script', { 'processors/greenhouse.ts': "import { celsius } from './lib/units.js';\nexport default (m: unknown) => celsius(m) ?? null;\n" });
    const c = await detectChanges({ root: h.root, base, head: edit });
    expect(c.changed).toEqual([
      expect.objectContaining({ name: 'greenhouse', action: 'redeploy', reasons: ['script changed: processors/greenhouse.ts'], processor: ['script changed: processors/greenhouse.ts'] }),
    ]);
    const helper = h.commit('helper', { 'processors/lib/units.ts': 'export const celsius = (m: unknown) => ({ m });\n' });
    const d = await detectChanges({ root: h.root, base: edit, head: helper });
    expect(d.changed.map((p) => [p.name, p.action, p.reasons])).toEqual([['greenhouse', 'redeploy', ['script changed: processors/lib/units.ts']]]);
    expect(deployMatrix(d).include).toEqual([{ key: 'greenhouse', deploy: '', redeploy: 'greenhouse' }]);
  });

  it('deploys every platform on a Space that changed, and none on another Space', async () => {
    const h = gitHistory({ ...BASE, 'platforms/factory.yaml': awsPlatform('factory') });
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('space', { 'platforms/spaces/home-net.yaml': awsSpace('home-net', 'eu-west-1b') });
    const c = await detectChanges({ root: h.root, base, head });
    expect(names(c.changed)).toEqual(['factory', 'greenhouse']);
    for (const p of c.changed) expect(p).toMatchObject({ action: 'deploy', reasons: ['Space home-net changed (platforms/spaces/home-net.yaml)'] });
    expect(c.unchanged).toEqual(['weather']);
  });

  it('deploys the platforms that use a secrets file that changed, directly or through their Space', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const own = h.commit('vm key', { 'secrets/keys/greenhouse.enc.yaml': 'sops: {v: 2}\n' });
    expect((await detectChanges({ root: h.root, base, head: own })).changed.map((p) => [p.name, p.action, p.reasons])).toEqual([
      ['greenhouse', 'deploy', ['secrets changed: secrets/keys/greenhouse.enc.yaml']],
    ]);
    const cloud = h.commit('cloud key', { 'secrets/aws.enc.yaml': 'sops: {v: 2}\n' });
    const c = await detectChanges({ root: h.root, base: own, head: cloud });
    expect(names(c.changed)).toEqual(['greenhouse', 'weather']);
    expect(c.changed[0]!.reasons).toEqual(['secrets changed: secrets/aws.enc.yaml']);
  });

  it('redeploys on a package bump, naming the package and its ranges, and on a new lock', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('bump', {
      'platforms/greenhouse.yaml': awsPlatform('greenhouse', { script: 'processors/greenhouse.ts', packages: { 'date-fns': '^3.7.0' } }),
      'platforms/greenhouse.lock.json': '{"lockfileVersion":3,"v":2}\n',
    });
    const c = await detectChanges({ root: h.root, base, head });
    expect(c.changed).toEqual([
      expect.objectContaining({ name: 'greenhouse', action: 'redeploy', processor: ['package date-fns ^3.6.0 → ^3.7.0', 'package lock changed: platforms/greenhouse.lock.json'] }),
    ]);
  });

  it('redeploys when the package lock is removed: the VM then installs from the ranges alone', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('unlock', { 'platforms/greenhouse.lock.json': null });
    const c = await detectChanges({ root: h.root, base, head });
    expect(c.changed).toEqual([expect.objectContaining({ name: 'greenhouse', action: 'redeploy', processor: ['package lock removed: platforms/greenhouse.lock.json'] })]);
  });

  it('deploys (not only redeploys) when a processor setting the VM\'s compose file holds changed: timeoutMs, a script added', async () => {
    // A redeploy uploads only processor/ and refuses anything more (src/deploy/provision.ts): these
    // change compose.yaml (the processor's environment, its services) and must be full deploys.
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const greenhouse = awsPlatform('greenhouse', { script: 'processors/greenhouse.ts', packages: { 'date-fns': '^3.6.0' } });
    const timeout = h.commit('timeout', { 'platforms/greenhouse.yaml': `${greenhouse}    timeoutMs: 9000\n` });
    const first = await detectChanges({ root: h.root, base, head: timeout });
    expect(first.changed).toEqual([expect.objectContaining({ name: 'greenhouse', action: 'deploy' })]);
    const added = h.commit('script for weather', { 'platforms/weather.yaml': awsPlatform('weather', { space: 'other-net', script: 'processors/unrelated.ts' }) });
    const second = await detectChanges({ root: h.root, base: timeout, head: added });
    expect(second.changed.map((c) => [c.name, c.action])).toEqual([['weather', 'deploy']]);
    expect(second.changed[0]!.reasons).toContain('a processing script was added: the VM\'s compose file changes');
  });

  it('deploys (not only redeploys) when the infrastructure part changed along with the script', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('both', {
      'platforms/greenhouse.yaml': awsPlatform('greenhouse', { script: 'processors/greenhouse.ts', packages: { 'date-fns': '^3.6.0' }, sizeGb: 20 }),
      'processors/greenhouse.ts': 'export default (m: unknown) => m;\n',
    });
    const [p] = (await detectChanges({ root: h.root, base, head })).changed;
    expect(p).toMatchObject({ name: 'greenhouse', action: 'deploy', reasons: ['platforms/greenhouse.yaml changed', 'script changed: processors/greenhouse.ts, processors/lib/units.ts'] });
  });

  it('reports a deleted platform, destroyed only when it opted in, and says what is left running', async () => {
    const h = gitHistory({ ...BASE, 'platforms/old.yaml': awsPlatform('old', { destroy: 'allow' }) });
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('delete', { 'platforms/old.yaml': null, 'platforms/weather.yaml': null });
    const c = await detectChanges({ root: h.root, base, head });
    expect(c.changed).toEqual([]);
    expect(c.deleted).toEqual([
      { name: 'old', file: 'platforms/old.yaml', provider: 'aws', optedIn: true, hasInfrastructure: true },
      { name: 'weather', file: 'platforms/weather.yaml', provider: 'aws', optedIn: false, hasInfrastructure: true },
    ]);
    expect(names(toDestroy(c.deleted))).toEqual(['old']);
    expect(leftRunning(c.deleted)).toEqual([expect.stringMatching(/^weather: its file platforms\/weather.yaml was deleted, but it did not set 'spec.destroy: allow'/)]);
  });

  it('treats a renamed file as no change, and a renamed platform as one deleted and one added', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const moved = h.move('move', 'platforms/weather.yaml', 'platforms/site/weather.yaml');
    const c = await detectChanges({ root: h.root, base, head: moved });
    expect(c).toMatchObject({ changed: [], deleted: [], moved: [{ name: 'weather', from: 'platforms/weather.yaml', to: 'platforms/site/weather.yaml' }] });
    const renamed = h.commit('rename', { 'platforms/site/weather.yaml': null, 'platforms/meteo.yaml': awsPlatform('meteo', { space: 'other-net' }) });
    const d = await detectChanges({ root: h.root, base: moved, head: renamed });
    expect(names(d.changed)).toEqual(['meteo']);
    expect(names(d.deleted)).toEqual(['weather']);
  });

  it('deploys everything when there is no base (a new branch: GitHub sends all zeros)', async () => {
    const h = gitHistory(BASE);
    const c = await detectChanges({ root: h.root, base: '0000000000000000000000000000000000000000', head: 'HEAD' });
    expect(c.base).toBeUndefined();
    expect(names(c.changed)).toEqual(['greenhouse', 'weather']);
  });

  it('refuses a head whose declarations cannot be read, rather than calling their platforms deleted', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('broken', { 'platforms/weather.yaml': 'kind: Platform\nmetadata: [\n' });
    await expect(detectChanges({ root: h.root, base, head })).rejects.toThrow(/platforms\/weather.yaml:\d+:\d+: invalid YAML/);
  });

  it('refuses a platform name the schema does not allow: it would be split into other platforms\' names in the deploy inputs', async () => {
    const h = gitHistory(BASE);
    const base = h.git('rev-parse', 'HEAD');
    const head = h.commit('bad name', { 'platforms/x.yaml': awsPlatform('x').replace('name: x', "name: 'weather greenhouse'") });
    await expect(detectChanges({ root: h.root, base, head })).rejects.toThrow("platforms/x.yaml: metadata.name 'weather greenhouse' is not a name");
  });

  it('refuses a ref git would read as an option, and a commit the clone does not have', async () => {
    const h = gitHistory(BASE);
    await expect(detectChanges({ root: h.root, base: '--output=/tmp/x', head: 'HEAD' })).rejects.toThrow("'--output=/tmp/x' is not a commit id or ref name");
    await expect(detectChanges({ root: h.root, base: 'a'.repeat(40), head: 'HEAD' })).rejects.toThrow(/is not in this clone: .*fetch-depth: 0/);
  });

  it('groups 1,000 changed platforms into at most 256 jobs, each platform once and always in the same group', async () => {
    const spaces = { 'platforms/spaces/home-net.yaml': awsSpace('home-net'), 'secrets/aws.enc.yaml': 'sops: {v: 1}\n', 'secrets/rabbitmq.enc.yaml': 'sops: {v: 1}\n' };
    const fleet = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`platforms/fleet/p${String(i).padStart(4, '0')}.yaml`, awsPlatform(`p${String(i).padStart(4, '0')}`)]));
    const h = gitHistory({ ...spaces, ...fleet });
    const base = h.git('rev-parse', 'HEAD');
    // One edit of the shared Space touches all 1,000.
    const head = h.commit('space', { 'platforms/spaces/home-net.yaml': awsSpace('home-net', 'eu-west-1c') });
    const c = await detectChanges({ root: h.root, base, head });
    expect(c.changed).toHaveLength(1000);
    const matrix = deployMatrix(c);
    expect(matrix.include.length).toBeLessThanOrEqual(256);
    expect(matrix.include.length).toBeGreaterThan(200); // spread out, not a few huge jobs
    const all = matrix.include.flatMap((j) => j.deploy.split(' '));
    expect(all.sort()).toEqual(c.changed.map((p) => p.name).sort());
    expect(Math.max(...matrix.include.map((j) => j.deploy.split(' ').length))).toBeLessThanOrEqual(12);
    // A smaller set over the limit puts each platform under the same key: runs never deploy one platform in two jobs at once.
    const keyOf = (m: typeof matrix) => new Map(m.include.flatMap((j) => j.deploy.split(' ').map((n) => [n, j.key] as const)));
    const half = keyOf(deployMatrix({ changed: c.changed.slice(0, 600) }));
    const full = keyOf(matrix);
    for (const [name, key] of half) expect(full.get(name)).toBe(key);
    // Up to the limit: one job per platform, keyed by its name.
    const small = deployMatrix({ changed: c.changed.slice(0, 256) });
    expect(small.include).toHaveLength(256);
    expect(small.include[0]).toEqual({ key: 'p0000', deploy: 'p0000', redeploy: '' });
  }, 120_000);
});

describeNeeding({ what: 'git', present: haveGit }, 'myt changes', () => {
  it('prints what a push would deploy, redeploy, destroy or leave running, and the matrix as JSON', async () => {
    const h = gitHistory({ ...BASE, 'platforms/old.yaml': awsPlatform('old', { destroy: 'allow' }) });
    const base = h.git('rev-parse', 'HEAD');
    h.commit('work', { 'processors/greenhouse.ts': 'export default () => null;\n', 'platforms/old.yaml': null, 'platforms/weather.yaml': null, 'platforms/factory.yaml': awsPlatform('factory') });
    const text = await runMyt(['changes', base], h.root);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n').slice(1)).toEqual([
      'deploy    factory: added',
      // The new script no longer imports its helper: both are part of what changed.
      'redeploy  greenhouse: script changed: processors/greenhouse.ts, processors/lib/units.ts',
      'destroy   old: its file platforms/old.yaml was deleted and it sets spec.destroy: allow',
      expect.stringMatching(/^left {6}weather: its file platforms\/weather.yaml was deleted, but it did not set 'spec.destroy: allow'/),
      '',
    ]);
    const json = await runMyt(['changes', base, 'HEAD', '--format', 'json'], h.root);
    const parsed = JSON.parse(json.stdout) as { matrix: { include: unknown[] }; destroy: string[] };
    expect(parsed.matrix.include).toEqual([
      { key: 'factory', deploy: 'factory', redeploy: '' },
      { key: 'greenhouse', deploy: '', redeploy: 'greenhouse' },
    ]);
    expect(parsed.destroy).toEqual(['old']);
    const bad = await runMyt(['changes', 'no-such-ref'], h.root);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("myt changes: error: commit no-such-ref is not in this clone: check it out with its history (actions/checkout with fetch-depth: 0)\n");
  });
});
