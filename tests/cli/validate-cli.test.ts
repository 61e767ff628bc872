import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import type { CommandEntry } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/main.js';
import { SECRETS_NOT_DECRYPTED } from '../../src/validation/index.js';
import { runMyt } from '../helpers/cli.js';
import { SSH_PLATFORM, tempRepo } from '../helpers/temp-repo.js';

const SECRET = { 'secrets/ssh.enc.yaml': 'sops: {}\n' };
const PROJECT = join(import.meta.dirname, '../..');

describe('myt validate', () => {
  it('exits 0 and says so when everything is valid', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': SSH_PLATFORM });
    const run = await runMyt(['validate'], root);
    // No age key here: the secrets file is checked for its form only, and validate says so.
    expect(run).toEqual({ code: 0, stdout: 'all valid (1 file checked)\n', stderr: `note: ${SECRETS_NOT_DECRYPTED}\n` });
  });

  it('exits 1 with one FILE:LINE:COL line per problem and a summary', async () => {
    const root = tempRepo({
      ...SECRET,
      'platforms/solo.yaml': `${SSH_PLATFORM}  backups:\n    schedule: daily\n`,
      'platforms/other.yaml': SSH_PLATFORM,
    });
    const run = await runMyt(['validate'], join(root, 'platforms'));
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')).toEqual([
      "other.yaml:4:9: error: metadata.name: 'solo' is already the name of the Platform in platforms/solo.yaml:4; names must be unique across the repository",
      "solo.yaml:4:9: error: metadata.name: 'solo' is already the name of the Platform in platforms/other.yaml:4; names must be unique across the repository",
      "solo.yaml:14:15: error: spec.backups.schedule: 'daily' has 1 field; cron schedules here have five (minute hour day-of-month month day-of-week)",
      '3 problems in 2 files (2 files checked)',
      '',
    ]);
    expect(run.stderr).toBe(`note: ${SECRETS_NOT_DECRYPTED}\n`);
  });

  it('checks only the paths given, resolving references across the repository', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': SSH_PLATFORM, 'platforms/bad.yaml': '- x\n' });
    const good = await runMyt(['validate', 'platforms/solo.yaml'], root);
    expect(good.code).toBe(0);
    const bad = await runMyt(['validate', 'platforms'], root);
    expect(bad.code).toBe(1);
  });

  it('reports a path that does not exist as a problem in that file', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': SSH_PLATFORM });
    const run = await runMyt(['validate', 'platforms/nope.yaml'], root);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('platforms/nope.yaml:1:1: error: file not found');
  });

  it('writes machine-readable JSON with --format json', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': SSH_PLATFORM.replace('port', 'x').replace('user: myt', 'user: 42') });
    const run = await runMyt(['validate', '--format', 'json'], root);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      valid: false,
      files: ['platforms/solo.yaml'],
      problems: [{ file: 'platforms/solo.yaml', line: 9, column: 11, severity: 'error', message: 'spec.cloud.user: must be a Unix user name: lowercase letters, digits, \'_\' or \'-\', at most 32 characters' }],
    });
  });

  it('exits 2 on a usage error, naming the option', async () => {
    const root = tempRepo({});
    for (const args of [['validate', '--format', 'xml'], ['validate', '--colour']]) {
      const run = await runMyt(args, root);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^myt validate: .*(xml|colour)/);
    }
  });

  it('prints its help with --help and exits 0', async () => {
    const run = await runMyt(['validate', '--help'], tempRepo({}));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: myt validate');
    expect(run.stdout).toContain('--format text|json');
  });

  it('checks myt.yaml with the rest of the repository', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': SSH_PLATFORM, 'myt.yaml': 'state:\n  backend: s3\n  bucket: UPPER\n  region: eu-west-1\n' });
    const run = await runMyt(['validate'], root);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('myt.yaml:3:11: error: state.bucket: must be an S3 bucket name\n1 problem in 1 file (2 files checked)\n');
  });

  it('finds the repository root from a subfolder', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': SSH_PLATFORM, 'platforms/deep/er/.keep': '' });
    const run = await runMyt(['validate'], join(root, 'platforms/deep/er'));
    expect(run.stdout).toBe('all valid (1 file checked)\n');
  });
});

describe('myt', () => {
  it('lists its commands with --help', async () => {
    const run = await runMyt(['--help'], PROJECT);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Commands:\n {2}init {2,}make a new MyT repository.*\n {2}validate/);
  });

  it('exits 2 on an unknown command', async () => {
    const run = await runMyt(['frobnicate'], PROJECT);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
  });
});

describeNeeding({ what: 'a build (npm run build)', present: existsSync(join(PROJECT, 'dist/cli/main.js')) }, 'the installed bin', () => {
  it('runs `myt validate` as a process with the documented exit codes and no stack trace', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': '\u0000\u0001binary' });
    const bin = join(PROJECT, 'bin/myt.js');
    const failed = await promisify(execFile)(process.execPath, [bin, 'validate'], { cwd: root }).catch((e: unknown) => e as { code: number; stdout: string; stderr: string });
    expect(failed).toMatchObject({ code: 1, stderr: '' });
    expect((failed as { stdout: string }).stdout).toBe('platforms/solo.yaml:1:1: error: not a text file: expected UTF-8 YAML, found binary data\n1 problem in 1 file (1 file checked)\n');
  });
});

describe('failures', () => {
  it('never print a registered secret value, even when a library quotes it in an error', async () => {
    const { registerSecret, resetSecretRegistry } = await import('../../src/secrets/masking.js');
    registerSecret('hunter2-very-secret');
    // A command whose library throws with a decrypted value in its message.
    const leaky: CommandEntry = {
      name: 'leaky',
      summary: '',
      load: () => Promise.resolve({ name: 'leaky', help: '', run: () => Promise.reject(new Error('bad token hunter2-very-secret')) }),
    };
    try {
      let stderr = '';
      const code = await runCli(['leaky'], { cwd: PROJECT, env: {}, stdout: () => {}, stderr: (t) => void (stderr += t), interactive: false }, [leaky]);
      expect(code).toBe(1);
      expect(stderr).toContain('internal error: bad token ***');
      expect(stderr).not.toContain('hunter2');
    } finally {
      resetSecretRegistry();
    }
  });
});
