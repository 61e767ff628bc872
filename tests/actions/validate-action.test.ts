import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decryptSops } from 'sops-age';
import { describe, expect, it } from 'vitest';
import { SSH_PLATFORM, tempRepo } from '../helpers/temp-repo.js';

// Runs the committed, bundled action (actions/validate/dist/index.js, what `uses:` runs) as GitHub's
// runner would: a process with GITHUB_* and INPUT_* variables, speaking workflow commands on stdout
// and writing Markdown to the GITHUB_STEP_SUMMARY file.
const MAIN = join(import.meta.dirname, '../../actions/validate/dist/index.js');
const SECRET = { 'secrets/ssh.enc.yaml': 'sops: {}\n' };

async function runAction(root: string, inputs: Record<string, string> = {}, main = MAIN) {
  const summary = join(mkdtempSync(join(tmpdir(), 'myt-summary-')), 'summary.md');
  writeFileSync(summary, '');
  // npm offline: the package check against the registry is tested with a stand-in (tests/validation).
  const env = { PATH: process.env.PATH, GITHUB_WORKSPACE: root, GITHUB_STEP_SUMMARY: summary, npm_config_offline: 'true', ...inputs };
  const result = await promisify(execFile)(process.execPath, [main], { env, cwd: root }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  return { ...result, summary: readFileSync(summary, 'utf8') };
}

describe('the validate action, bundled (actions/validate/dist/index.js)', () => {
  it('masks the age key and every decrypted value in the log, and checks the secrets with it', async () => {
    const project = join(import.meta.dirname, '../..');
    const key = readFileSync(join(project, 'examples/demo.agekey'), 'utf8');
    const run = await runAction(project, { SOPS_AGE_KEY: key });
    expect(run.code).toBe(0);
    const secretLine = key.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    const lines = run.stdout.split('\n');
    expect(lines).toContain(`::add-mask::${secretLine}`);
    // the key shows only in the runner's mask commands, and values were decrypted and masked too
    expect(lines.filter((l) => l.includes(secretLine)).every((l) => l.startsWith('::add-mask::'))).toBe(true);
    // Each value the action decrypted is handed to the runner: read here with sops-age, an
    // independent reader, so the list does not come from the code under test. (The key file alone
    // yields several mask lines: counting them proves nothing about the decrypted values.)
    const masked = new Set(lines.filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length)));
    const read = async (file: string) => (await decryptSops(readFileSync(join(project, file), 'utf8'), { secretKey: secretLine, fileType: 'yaml' })) as Record<string, unknown>;
    const aws = await read('secrets/aws.enc.yaml');
    const grafana = await read('secrets/grafana.enc.yaml');
    const broker = (await read('secrets/rabbitmq.enc.yaml')) as { users: Record<string, string> };
    const openstack = await read('secrets/openstack.enc.yaml');
    const decrypted = [aws.secretAccessKey, aws.accessKeyId, grafana.adminPassword, ...Object.values(broker.users), openstack.password];
    expect(decrypted).toHaveLength(6);
    for (const value of decrypted) expect(masked, 'a decrypted value was not masked').toContain(value);
  });

  it('annotates each problem on its file, line and column, summarises, and fails the step', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/p.yaml': SSH_PLATFORM.replace('engine: influxdb', 'engine: oracle') });
    const run = await runAction(root);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      "::error title=myt validate,file=platforms/p.yaml,line=12,col=13::spec.database.engine: must be one of: influxdb, mongodb, timescaledb, mysql (got 'oracle')",
    );
    expect(run.stdout).toContain('::error::1 problem(s) in the declarations');
    expect(run.summary).toContain('<td>platforms/p.yaml:12:13</td>');
  });

  it('escapes what the user wrote in the job summary, which is HTML', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/p.yaml': SSH_PLATFORM.replace('engine: influxdb', 'engine: "<img src=x onerror=alert(1)>"') });
    const run = await runAction(root);
    expect(run.code).toBe(1);
    expect(run.summary).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(run.summary).not.toContain('<img');
  });

  it('passes and says so when every declaration is valid', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/p.yaml': SSH_PLATFORM });
    const run = await runAction(root);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('all 1 declaration files are valid');
    expect(run.summary).toContain('All 1 declaration files are valid.');
  });

  it('checks only the paths input, and refuses a path outside the workspace', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/good.yaml': SSH_PLATFORM, 'platforms/bad.yaml': '- x\n' });
    expect((await runAction(root, { INPUT_PATHS: 'platforms/good.yaml' })).code).toBe(0);
    const outside = await runAction(root, { INPUT_PATHS: '../elsewhere.yaml' });
    expect(outside.code).toBe(1);
    expect(outside.stdout).toContain("::error::input 'paths': '../elsewhere.yaml' is outside the repository");
  });
});

describe('the validate action checks scripts with no npm ci (esbuild as WebAssembly, TypeScript bundled)', () => {
  it('reports a type error and a syntax error in processing scripts, on their lines', async () => {
    const platform = (name: string, script: string) => SSH_PLATFORM.replace('name: solo', `name: ${name}`).concat(`  processor:\n    script: ${script}\n`);
    const root = tempRepo({
      ...SECRET,
      'platforms/a.yaml': platform('typed', 'processors/typed.ts'),
      'platforms/b.yaml': platform('broken', 'processors/broken.ts'),
      'processors/typed.ts': 'export default (m: { data: { t: number } }) => {\n  const s: string = m.data.t;\n  return s;\n};\n',
      'processors/broken.ts': 'export default (m) => {\n  return m +;\n};\n',
    });
    const run = await runAction(root);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error title=myt validate,file=processors\/typed.ts,line=2,col=9::type error: Type 'number' is not assignable to type 'string'/);
    expect(run.stdout).toMatch(/::error title=myt validate,file=processors\/broken.ts,line=2,col=\d+::/);
  });
});

describe('the validate action away from this repository (as a user runner has it: no node_modules anywhere)', () => {
  it('runs from a copy of actions/ alone, and still checks scripts with esbuild and Node-typed TypeScript', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'myt-actions-copy-'));
    try {
      cpSync(join(import.meta.dirname, '../../actions'), join(copy, 'actions'), { recursive: true });
      // The runner checks out the action repository, whose package.json says "type": "module".
      writeFileSync(join(copy, 'package.json'), '{ "type": "module" }\n');
      const platform = SSH_PLATFORM.concat('  processor:\n    script: processors/s.ts\n');
      const root = tempRepo({
        ...SECRET,
        'platforms/p.yaml': platform,
        // Node's types are known: createHash(...).digest('hex') is a string, process.env exists.
        'processors/s.ts': "import { createHash } from 'node:crypto';\nexport default (m: { data: object }) => {\n  const n: number = createHash('sha1').update(process.env.X ?? '').digest('hex');\n  return { ...m, n };\n};\n",
      });
      const run = await runAction(root, {}, join(copy, 'actions/validate/dist/index.js'));
      expect(run.stderr).toBe('');
      expect(run.stdout).toContain("::error title=myt validate,file=processors/s.ts,line=3,col=9::type error: Type 'string' is not assignable to type 'number'. (TS2322)");
      expect(run.stdout.match(/::error title=myt validate/g)).toHaveLength(1);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 120_000);
});
