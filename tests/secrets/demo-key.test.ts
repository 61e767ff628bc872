import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_RECIPIENT } from '../../src/secrets/demo-key.js';
import { recipientOf } from '../../src/secrets/age-keys.js';
import { runMyt } from '../helpers/cli.js';
import { tempRepo } from '../helpers/temp-repo.js';

const PROJECT = join(import.meta.dirname, '../..');
const DEMO_KEY = readFileSync(join(PROJECT, 'examples/demo.agekey'), 'utf8');

/** A repository started from this one: the shipped .sops.yaml, which encrypts to the demo key. */
function repoFromExamples(): string {
  const root = tempRepo({ 'platforms/.keep': '' });
  copyFileSync(join(PROJECT, '.sops.yaml'), join(root, '.sops.yaml'));
  return root;
}

describe('the public demo key', () => {
  it('is the recipient of examples/demo.agekey and of the shipped .sops.yaml', async () => {
    const identity = DEMO_KEY.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    expect(await recipientOf(identity)).toBe(DEMO_RECIPIENT);
    expect(readFileSync(join(PROJECT, '.sops.yaml'), 'utf8')).toContain(DEMO_RECIPIENT);
  });

  it('makes keys generate refuse, and with --allow-demo-key warn that anyone can decrypt what it wrote', async () => {
    const root = repoFromExamples();
    const refused = await runMyt(['keys', 'generate', 'probe'], root, { SOPS_AGE_KEY: DEMO_KEY });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('it would be encrypted to the public DEMO key');
    const run = await runMyt(['keys', 'generate', 'probe', '--allow-demo-key'], root, { SOPS_AGE_KEY: DEMO_KEY });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('encrypts to the public DEMO key');
  });

  it('is replaced in .sops.yaml by secrets init, after which nothing warns', async () => {
    const root = repoFromExamples();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'myt-keys-')), 'keys.txt');
    const init = await runMyt(['secrets', 'init', '--key-file', keyFile], root, {});
    expect(init.code).toBe(0);
    expect(init.stdout + init.stderr).toContain('Replaced the public demo recipient');
    const config = readFileSync(join(root, '.sops.yaml'), 'utf8');
    expect(config).not.toContain(DEMO_RECIPIENT);
    const own = readFileSync(keyFile, 'utf8');
    const generated = await runMyt(['keys', 'generate', 'probe'], root, { SOPS_AGE_KEY: own });
    expect(generated.code).toBe(0);
    expect(generated.stderr).not.toContain('DEMO');
  });
});
