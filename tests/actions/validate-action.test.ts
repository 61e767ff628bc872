import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SSH_PLATFORM, tempRepo } from '../helpers/temp-repo.js';

// Runs the built action as GitHub's runner would: a process with GITHUB_* and INPUT_* variables,
// speaking workflow commands on stdout and writing Markdown to the GITHUB_STEP_SUMMARY file.
const MAIN = join(import.meta.dirname, '../../dist/actions/validate/main.js');
const SECRET = { 'secrets/ssh.enc.yaml': 'sops: {}\n' };

async function runAction(root: string, inputs: Record<string, string> = {}) {
  const summary = join(root, 'summary.md');
  writeFileSync(summary, '');
  const env = { PATH: process.env.PATH, GITHUB_WORKSPACE: root, GITHUB_STEP_SUMMARY: summary, ...inputs };
  const result = await promisify(execFile)(process.execPath, [MAIN], { env, cwd: root }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  return { ...result, summary: readFileSync(summary, 'utf8') };
}

describe.skipIf(!existsSync(MAIN))('the validate action (built by `npm run build`)', () => {
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
