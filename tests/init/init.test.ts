// `myt init`: a new repository that validates, whose workflows are valid and use MyT's actions by
// version, whose editor schema comments resolve inside it, which never commits MyT's working files,
// and whose SOPS_AGE_KEY secret is set through a STAND-IN for GitHub's REST API (checked against
// GitHub's OpenAPI description) when asked.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import sodium from 'libsodium-wrappers';
import { afterEach, describe, expect, it } from 'vitest';
import { deployWorkflow, pullRequestWorkflow } from '../../src/init/workflows.js';
import { resetSecretRegistry } from '../../src/secrets/masking.js';
import { actionProblems, workflowProblems } from '../helpers/actions-syntax.js';
import { runMyt } from '../helpers/cli.js';
import { haveGit } from '../helpers/git-history.js';
import { startGitHubStandIn } from '../helpers/github-stand-in.js';
import { describeNeeding } from '../helpers/needs.js';
import { tempRepo } from '../helpers/temp-repo.js';

const PROJECT = join(import.meta.dirname, '../..');
afterEach(() => resetSecretRegistry());

/** A home of its own, so the age key goes to <home>/.config/sops/age/keys.txt, outside the new repository. */
function home(): string {
  return mkdtempSync(join(tmpdir(), 'myt-home-'));
}

function filesOf(dir: string, under = ''): string[] {
  return readdirSync(join(dir, under), { withFileTypes: true })
    .filter((e) => !(under === '' && e.name === '.git'))
    .flatMap((e) => (e.isDirectory() ? filesOf(dir, join(under, e.name)) : [join(under, e.name)]))
    .sort();
}

describeNeeding({ what: 'git', present: haveGit }, 'myt init', () => {
  it('makes a repository whose own myt validate passes, with the files a new user needs', async () => {
    const parent = tempRepo({});
    const env = { HOME: home(), PATH: process.env.PATH };
    const made = await runMyt(['init', 'fleet'], parent, env);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const dir = join(parent, 'fleet');
    expect(filesOf(dir)).toEqual([
      '.github/workflows/deploy.yml',
      '.github/workflows/pull-request.yml',
      '.gitignore',
      '.sops.yaml',
      'examples/platform.yaml',
      'myt.yaml',
      'platforms/README.md',
      'processors/example.ts',
      'schemas/platform.schema.json',
      'schemas/repo.schema.json',
      'schemas/space.schema.json',
      'secrets/README.md',
    ]);
    expect(made.stdout).toContain("gh secret set SOPS_AGE_KEY");
    const keys = readFileSync(join(env.HOME, '.config/sops/age/keys.txt'), 'utf8');
    expect(keys).toMatch(/^AGE-SECRET-KEY-1/m);
    // The key is outside the repository, and .sops.yaml names its recipient.
    const recipient = /^# public key: (age1\S+)$/m.exec(keys)![1]!;
    expect(readFileSync(join(dir, '.sops.yaml'), 'utf8')).toContain(recipient);
    const validate = await runMyt(['validate', '--offline'], dir, { ...env, SOPS_AGE_KEY_FILE: join(env.HOME, '.config/sops/age/keys.txt') });
    expect(validate.stdout + validate.stderr).not.toContain('error');
    expect(validate.code).toBe(0);
  }, 120_000);

  it('writes an example platform that, copied into platforms/, myt validate accepts once its secrets exist', async () => {
    const parent = tempRepo({});
    await runMyt(['init', 'x'], parent, { HOME: home() });
    const dir = join(parent, 'x');
    writeFileSync(join(dir, 'platforms/greenhouse.yaml'), readFileSync(join(dir, 'examples/platform.yaml')));
    const run = await runMyt(['validate', '--offline', '--format', 'json'], dir, { HOME: home() });
    const problems = (JSON.parse(run.stdout) as { problems: { file: string; message: string }[] }).problems;
    // The only problems are the secrets the user still has to make, each saying how.
    expect(problems.map((p) => p.message)).toEqual([
      "platform 'greenhouse' has no SSH key at secrets/keys/greenhouse.enc.yaml: run 'myt keys generate greenhouse'",
      "spec.cloud.credentials: 'secrets/gcp.enc.yaml' does not exist in the repository",
    ]);
  }, 120_000);

  it('points every editor $schema comment at a file inside the new repository', async () => {
    const parent = tempRepo({});
    await runMyt(['init', 'x'], parent, { HOME: home() });
    const dir = join(parent, 'x');
    const withSchema = filesOf(dir).filter((f) => /\.ya?ml$/.test(f) && readFileSync(join(dir, f), 'utf8').includes('$schema='));
    expect(withSchema.sort()).toEqual(['examples/platform.yaml', 'myt.yaml']);
    for (const f of withSchema) {
      const target = /\$schema=(\S+)/.exec(readFileSync(join(dir, f), 'utf8'))![1]!;
      const path = resolve(dirname(join(dir, f)), target);
      expect(path.startsWith(dir), `${f} points outside the repository`).toBe(true);
      expect(existsSync(path), `${f}: ${target} does not exist`).toBe(true);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toHaveProperty('$schema', 'https://json-schema.org/draft/2020-12/schema');
    }
  }, 60_000);

  it('keeps Terraform state, plans and working files out of `git add -A`', async () => {
    const parent = tempRepo({});
    await runMyt(['init', 'x'], parent, { HOME: home() });
    const dir = join(parent, 'x');
    for (const f of ['.myt/out/greenhouse/terraform.tfstate', '.myt/state/greenhouse.tfstate', 'stray.tfstate', 'stray.tfstate.backup', 'p/myt.tfplan', '.terraform/providers/x']) {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      writeFileSync(join(dir, f), 'x');
    }
    execFileSync('git', ['-C', dir, 'add', '-A']);
    const staged = execFileSync('git', ['-C', dir, 'diff', '--cached', '--name-only'], { encoding: 'utf8' }).trim().split('\n');
    expect(staged).toContain('examples/platform.yaml');
    expect(staged.filter((f) => /tfstate|tfplan|\.myt\/|\.terraform\//.test(f))).toEqual([]);
  }, 60_000);

  it('writes workflows that pass the Actions validator and use MyT actions by version, never this repository\'s source', async () => {
    const parent = tempRepo({});
    await runMyt(['init', 'x', '--actions', 'acme/myt@v2'], parent, { HOME: home() });
    for (const f of ['pull-request.yml', 'deploy.yml']) {
      const text = readFileSync(join(parent, 'x/.github/workflows', f), 'utf8');
      expect(workflowProblems(text)).toEqual([]);
      const mine = [...text.matchAll(/uses: (\S+)/g)].map((m) => m[1]!).filter((u) => u.includes('myt'));
      expect(mine.length).toBeGreaterThan(0);
      for (const u of mine) expect(u).toMatch(/^acme\/myt\/actions\/(validate|changes|plan|deploy|destroy)@v2$/);
      expect(text).not.toContain('./actions');
    }
  }, 60_000);

  it('writes a loop that plans pull requests (never from forks) and deploys pushes to the chosen branch', async () => {
    const parent = tempRepo({});
    await runMyt(['init', 'x', '--branch', 'trunk'], parent, { HOME: home() });
    const pr = readFileSync(join(parent, 'x/.github/workflows/pull-request.yml'), 'utf8');
    const deploy = readFileSync(join(parent, 'x/.github/workflows/deploy.yml'), 'utf8');
    expect(pr).toContain("if: github.event_name == 'workflow_dispatch' || github.event.pull_request.head.repo.full_name == github.repository");
    expect(pr).toMatch(/permissions:\n {6}contents: read\n {6}pull-requests: write/);
    expect(deploy).toContain('  push:\n    branches: [trunk]\n  workflow_dispatch:');
    expect(deploy).toContain('      group: myt-deploy-${{ matrix.key }}\n      cancel-in-progress: false');
    expect(deploy).toContain('      matrix: ${{ fromJSON(needs.changes.outputs.matrix) }}');
  });

  it('never overwrites: with one of its files present, it writes nothing, not even a key', async () => {
    const dir = tempRepo({ 'examples/platform.yaml': 'mine\n', '.gitignore': 'mine\n' });
    const env = { HOME: home() };
    const run = await runMyt(['init'], dir, env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('myt init never overwrites, and these exist in');
    expect(run.stderr).toContain('examples/platform.yaml, .gitignore');
    expect(filesOf(dir)).toEqual(['.gitignore', 'examples/platform.yaml']);
    expect(readFileSync(join(dir, 'examples/platform.yaml'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(env.HOME, '.config/sops/age/keys.txt'))).toBe(false);
  });

  it('sets the SOPS_AGE_KEY secret with --github, sealed with the repository public key (stand-in for GitHub REST API)', async () => {
    const github = await startGitHubStandIn();
    try {
      await sodium.ready;
      const pair = sodium.crypto_box_keypair();
      github.keyPair = { publicKey: pair.publicKey, privateKey: pair.privateKey, keyId: '568250167242549743' };
      const parent = tempRepo({});
      const env = { HOME: home(), GITHUB_TOKEN: 'ghp_standin', GITHUB_API_URL: github.url };
      const run = await runMyt(['init', 'x', '--github', 'octo/fleet'], parent, env);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Set the SOPS_AGE_KEY secret of octo/fleet.');
      expect(github.violations).toEqual([]);
      expect(github.requests.map((r) => `${r.method} ${r.path} ${r.operationId}`)).toEqual([
        'GET /repos/octo/fleet/actions/secrets/SOPS_AGE_KEY actions/get-repo-secret',
        'GET /repos/octo/fleet/actions/secrets/public-key actions/get-repo-public-key',
        'PUT /repos/octo/fleet/actions/secrets/SOPS_AGE_KEY actions/create-or-update-repo-secret',
      ]);
      const stored = github.secrets.get('SOPS_AGE_KEY')!;
      expect(stored.key_id).toBe('568250167242549743');
      const opened = sodium.to_string(sodium.crypto_box_seal_open(sodium.from_base64(stored.encrypted_value, sodium.base64_variants.ORIGINAL), pair.publicKey, pair.privateKey));
      const key = readFileSync(join(env.HOME, '.config/sops/age/keys.txt'), 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
      expect(opened).toBe(key);
      // The private key is never printed.
      expect(run.stdout).not.toContain(key!);
    } finally {
      await github.close();
    }
  }, 60_000);

  it('never replaces an existing SOPS_AGE_KEY secret, and then writes nothing (stand-in for GitHub REST API)', async () => {
    const github = await startGitHubStandIn();
    try {
      await sodium.ready;
      const pair = sodium.crypto_box_keypair();
      github.keyPair = { publicKey: pair.publicKey, privateKey: pair.privateKey, keyId: '568250167242549743' };
      const before = { encrypted_value: 'c2VhbGVkIG9sZCBrZXk=', key_id: '568250167242549743' };
      github.secrets.set('SOPS_AGE_KEY', before);
      const parent = tempRepo({});
      const run = await runMyt(['init', 'x', '--github', 'octo/fleet'], parent, { HOME: home(), GITHUB_TOKEN: 'ghp_standin', GITHUB_API_URL: github.url });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('octo/fleet already has a SOPS_AGE_KEY secret, and myt init never replaces it');
      expect(github.secrets.get('SOPS_AGE_KEY')).toEqual(before);
      expect(github.requests.map((r) => r.operationId)).toEqual(['actions/get-repo-secret']);
      expect(existsSync(join(parent, 'x'))).toBe(false);
      expect(github.violations).toEqual([]);
    } finally {
      await github.close();
    }
  }, 60_000);

  it('refuses --github without a token before writing anything', async () => {
    const parent = tempRepo({});
    const run = await runMyt(['init', 'x', '--github', 'octo/fleet'], parent, { HOME: home() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--github needs a token in GITHUB_TOKEN or GH_TOKEN');
    expect(existsSync(join(parent, 'x'))).toBe(false);
  });
});

describe('this repository\'s workflows', () => {
  it('are the ones myt init writes, with the actions taken from this tree', () => {
    expect(readFileSync(join(PROJECT, '.github/workflows/pull-request.yml'), 'utf8')).toBe(pullRequestWorkflow({ kind: 'local' }));
    expect(readFileSync(join(PROJECT, '.github/workflows/deploy.yml'), 'utf8')).toBe(deployWorkflow({ kind: 'local' }));
  });

  it('use only actions that exist here, each a valid node24 action', () => {
    const used = new Set<string>();
    for (const f of ['pull-request.yml', 'deploy.yml']) for (const m of readFileSync(join(PROJECT, '.github/workflows', f), 'utf8').matchAll(/uses: \.\/actions\/(\S+)/g)) used.add(m[1]!);
    expect([...used].sort()).toEqual(['changes', 'deploy', 'destroy', 'plan', 'validate']);
    for (const name of used) {
      const file = join(PROJECT, 'actions', name, 'action.yml');
      expect(existsSync(file), `actions/${name}/action.yml is missing`).toBe(true);
      expect(actionProblems(readFileSync(file, 'utf8'))).toEqual([]);
    }
  });
});
