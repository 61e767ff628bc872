import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSecretFile, readSecrets } from '../../src/secrets/index.js';

// A pull request can put any bytes in a secrets file; the validate action parses it even with no key.
function repoWith(content: string): string {
  const root = mkdtempSync(join(tmpdir(), 'myt-hostile-secret-'));
  writeFileSync(join(root, 'bad.enc.yaml'), content);
  return root;
}

const BOMB = ['a: &a [x, x, x, x, x, x, x, x, x]'];
for (let i = 1; i < 9; i++) BOMB.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);

describe('hostile secrets files are refused with a clear error', () => {
  it('an alias bomb, without a key', async () => {
    const root = repoWith(`${BOMB.join('\n')}\nsops: {}\n`);
    const problems = await checkSecretFile(root, 'bad.enc.yaml', 'aws', {});
    expect(problems.join('\n')).toMatch(/aliases .* are not supported in secrets files/);
  });

  it('a file over 1 MiB', async () => {
    const root = repoWith(`sops: {}\npad: "${'x'.repeat(1_100_000)}"\n`);
    await expect(readSecrets(root, 'bad.enc.yaml', { env: {} })).rejects.toThrow(/bad\.enc\.yaml: larger than 1 MiB/);
  });

  it('flow nesting deep enough to overflow the parser', async () => {
    const root = repoWith(`sops: {}\nx: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    const problems = await checkSecretFile(root, 'bad.enc.yaml', 'aws', {});
    expect(problems.join('\n')).toMatch(/nested more than 100 levels deep at line 2/);
  });
});
