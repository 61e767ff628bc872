// After `myt plan` on the shipped examples, no secret value is in any file it wrote or in its
// output. The examples are copied to a throw-away repository so every file plan writes can be found.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { decryptSops } from 'sops-age';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { parseIdentities } from '../../src/secrets/age-keys.js';
import { resetSecretRegistry } from '../../src/secrets/index.js';
import { cliContext } from './helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const COPIED = ['platforms', 'processors', 'secrets', 'templates', 'schemas', '.sops.yaml', 'myt.yaml'];
const DEMO_KEY_FILE = join(ROOT, 'examples/demo.agekey');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

/** Every secret string of the example secrets, decrypted independently (sops-age): leaves and their long lines. */
async function secretValues(): Promise<string[]> {
  const [identity] = parseIdentities(readFileSync(DEMO_KEY_FILE, 'utf8'));
  const values = new Set<string>();
  const visit = (v: unknown, key: string) => {
    if (typeof v === 'string') {
      if (key === 'publicKey' || key === 'hostPublicKey' || key === 'project_id' || key === 'client_email' || key === 'type' || key.endsWith('_uri')) return; // public identifiers
      for (const part of [v, ...v.split('\n')]) {
        const t = part.trim();
        if (t.length >= 8 && !/^-----(BEGIN|END) [A-Z ]+-----$/.test(t)) values.add(t);
      }
      if (v.trim().startsWith('{')) visit(JSON.parse(v), key);
    } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, k);
  };
  for (const file of filesUnder(join(ROOT, 'secrets'))) {
    visit(await decryptSops(readFileSync(file, 'utf8'), { secretKey: identity!, fileType: 'yaml' }), '');
  }
  return [...values];
}

let repo: string;
let before: Map<string, number>;
let output = '';
let written: string[] = [];
let secrets: string[] = [];

beforeAll(async () => {
  repo = mkdtempSync(join(tmpdir(), 'myt-plan-leak-'));
  mkdirSync(join(repo, '.git'));
  for (const entry of COPIED) if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(repo, entry), { recursive: true });
  before = new Map(filesUnder(repo).map((f) => [f, statSync(f).mtimeMs]));
  secrets = await secretValues();
  const env = { ...process.env, SOPS_AGE_KEY_FILE: DEMO_KEY_FILE, SOPS_AGE_KEY: '' };
  for (const args of [['plan'], ['plan', '--format', 'json']]) {
    const ctx = cliContext(repo, env);
    const code = await runCli(args, ctx);
    output += ctx.out.join('') + ctx.err.join('');
    expect(code, output).toBe(0);
  }
  written = filesUnder(repo).filter((f) => before.get(f) !== statSync(f).mtimeMs);
}, 120_000);

afterAll(() => {
  rmSync(repo, { recursive: true, force: true });
  resetSecretRegistry();
});

describe('myt plan on the examples', () => {
  it('decrypted the example secrets it needs (so the check below means something)', () => {
    expect(secrets.length).toBeGreaterThan(20);
    for (const known of ['wJalrXUtnFEMIdemoK7MDENGbPxRfiCYEXAMPLEKEY', 'demo-grafana-admin-7d3e91', 'demo-sensors-pw-4f9c2e']) expect(secrets).toContain(known);
    expect(written.some((f) => f.endsWith('cdk.tf.json'))).toBe(true);
    // The greenhouse VM's public keys came out of secrets/keys/greenhouse.enc.yaml into its stack's
    // cloud-init user data (without their comments), and the host private key as a variable only.
    const stack = readFileSync(written.find((f) => f.endsWith(join('greenhouse', 'cdk.tf.json')))!, 'utf8');
    expect(stack).toMatch(/\\"ssh_authorized_keys\\" = \[\\"ssh-ed25519 AAAA[A-Za-z0-9+/=]+\\"\]/);
    expect(stack).toMatch(/\\"ed25519_private\\" = var\.host_private_key, \\"ed25519_public\\" = \\"ssh-ed25519 AAAA[A-Za-z0-9+/=]+\\"/);
  });

  it('wrote no secret value into any file', () => {
    const leaks: string[] = [];
    for (const file of written) {
      const text = readFileSync(file, 'utf8');
      for (const s of secrets) if (text.includes(s)) leaks.push(`${relative(repo, file)} holds a value of length ${s.length}`);
    }
    expect(leaks).toEqual([]);
  });

  it('printed no secret value', () => {
    expect(output).toContain('Synthesized');
    expect(secrets.filter((s) => output.includes(s)).map((s) => `a value of length ${s.length}`)).toEqual([]);
  });
});
