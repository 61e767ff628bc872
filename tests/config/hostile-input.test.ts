import { randomBytes } from 'node:crypto';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/config/repository.js';
import { SSH_PLATFORM, tempRepo } from '../helpers/temp-repo.js';

const SECRET = { 'secrets/ssh.enc.yaml': 'sops: {}\n' };

async function problemsOf(files: Record<string, string | Uint8Array>) {
  const root = tempRepo({ ...SECRET, ...files });
  const started = performance.now();
  const repo = await loadRepository(root);
  return { problems: repo.problems, ms: performance.now() - started, root };
}

describe('hostile input gets one clear error, quickly', () => {
  it('refuses binary garbage as not text', async () => {
    const garbage = randomBytes(64 * 1024);
    garbage[10] = 0; // at least one NUL, as real binaries have
    const { problems } = await problemsOf({ 'platforms/blob.yaml': garbage });
    expect(problems).toEqual([{ file: 'platforms/blob.yaml', line: 1, col: 1, message: expect.stringContaining('not a text file') as string }]);
  });

  it('refuses invalid UTF-8 without a NUL byte as not text', async () => {
    const { problems } = await problemsOf({ 'platforms/latin1.yaml': Uint8Array.from([0x6b, 0x3a, 0x20, 0xe9, 0xff, 0x0a]) });
    expect(problems[0]?.message).toContain('not a text file');
  });

  it('refuses a 5 MB file by its size, before parsing it', async () => {
    const big = `${SSH_PLATFORM}${'# padding\n'.repeat(500_000)}`;
    const { problems } = await problemsOf({ 'platforms/big.yaml': big });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/file is 4\.8 MiB; a declaration may be at most 1 MiB/);
  });

  it('refuses a billion-laughs alias bomb', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const { problems } = await problemsOf({ 'platforms/bomb.yaml': `${levels.join('\n')}\n` });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toContain('alias');
  });

  it('refuses a script path that is a symbolic link leading out of the repository', async () => {
    const root = tempRepo({
      ...SECRET,
      'platforms/p.yaml': `${SSH_PLATFORM}  processor:\n    script: processors/link.ts\n`,
      'processors/.keep': '',
    });
    symlinkSync('/etc/hostname', join(root, 'processors/link.ts'));
    const repo = await loadRepository(root);
    expect(repo.problems).toHaveLength(1);
    expect(repo.problems[0]).toMatchObject({ file: 'platforms/p.yaml', line: 14 });
    expect(repo.problems[0]?.message).toContain('is a link that leads outside the repository');
  });
});

describe('links', () => {
  it('refuses a declaration under platforms/ that is a link to a file outside the repository', async () => {
    const outside = tempRepo({ 'secret-notes.yaml': SSH_PLATFORM });
    const root = tempRepo({ ...SECRET, 'platforms/.keep': '' });
    symlinkSync(join(outside, 'secret-notes.yaml'), join(root, 'platforms/linked.yaml'));
    const repo = await loadRepository(root);
    expect(repo.problems).toEqual([{ file: 'platforms/linked.yaml', line: 1, col: 1, message: "'platforms/linked.yaml' is a link that leads outside the repository" }]);
    expect(repo.platforms).toEqual([]);
  });
});

describe('every problem is reported, not just the first', () => {
  it('reports three independent schema problems in one file', async () => {
    const text = SSH_PLATFORM.replace('name: solo', 'name: Solo').replace('engine: influxdb', 'engine: influx') + '  destroy: always\n';
    const { problems } = await problemsOf({ 'platforms/p.yaml': text });
    expect(problems.map((p) => p.line)).toEqual([4, 12, 13]);
  });

  it('reports problems in several files, in file order', async () => {
    const { problems } = await problemsOf({
      'platforms/b.yaml': SSH_PLATFORM.replace('myt/v1', 'v0'),
      'platforms/a.yaml': '- a list\n',
      'platforms/nested/deeper/c.yml': SSH_PLATFORM.replace('solo', 'solo-c').replace('host: 127.0.0.1', 'host: "a b"'),
    });
    expect(problems.map((p) => `${p.file}:${p.line}`)).toEqual(['platforms/a.yaml:1', 'platforms/b.yaml:1', 'platforms/nested/deeper/c.yml:8']);
  });

  it('checks every document of a multi-document file', async () => {
    const two = `${SSH_PLATFORM}---\n${SSH_PLATFORM.replace('solo', 'duo').replace('user: myt', 'user: "Bad User"')}`;
    const { problems } = await problemsOf({ 'platforms/two.yaml': two });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 22, col: 11 });
  });
});

describe('nesting', () => {
  it('refuses flow nesting deeper than 100 levels before the parser recurses', async () => {
    const { problems } = await problemsOf({ 'platforms/deep.yaml': `key:\n  ${'['.repeat(200_000)}${']'.repeat(200_000)}\n` });
    expect(problems).toEqual([{ file: 'platforms/deep.yaml', line: 2, col: 103, message: expect.stringContaining('nesting is deeper than 100 levels') as string }]);
  });

  it('accepts brackets that balance within the limit', async () => {
    const { problems } = await problemsOf({ 'platforms/ok.yaml': `${SSH_PLATFORM}  processor:\n    packages: {${'"a": "^1.0.0"'}}\n` });
    expect(problems).toEqual([]);
  });
});
