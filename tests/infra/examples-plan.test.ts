// `myt plan` on the shipped examples, with the real secrets library decrypting the example SOPS
// files in memory (the README's offline demo: SOPS_AGE_KEY_FILE=examples/demo.agekey npx myt plan).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeNeeding } from '../helpers/needs.js';
import { planCommand } from '../../src/cli/commands/plan.js';
import { readSecrets } from '../../src/secrets/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const AGE_KEY = join(ROOT, 'examples/demo.agekey');
const haveKey = existsSync(AGE_KEY);
const env = { SOPS_AGE_KEY_FILE: AGE_KEY, PATH: process.env.PATH };

/** Every string leaf of a decrypted secrets file. */
function leaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(leaves);
  return [];
}

describeNeeding({ what: 'examples/demo.agekey', present: haveKey }, 'myt plan on the shipped examples', () => {
  const out = mkdtempSync(join(tmpdir(), 'myt-examples-plan-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes a stack for every Space and cloud platform, offline, with no credential in any file', async () => {
    const stdout: string[] = [];
    const code = await planCommand.run(['--root', ROOT, '--out', out], { cwd: ROOT, env, stdout: (t) => stdout.push(t), stderr: () => {}, interactive: false });
    expect(code).toBe(0);
    // A stack per Space and cloud platform; every platform, the ssh one (minimal) too, also gets a bundle.
    expect(readdirSync(out).sort()).toEqual(['factory', 'fleet', 'greenhouse', 'home-net', 'minimal', 'weather']);
    expect(readdirSync(join(out, 'minimal'))).toEqual(['bundle']);
    const credentialFiles = ['secrets/aws.enc.yaml', 'secrets/gcp.enc.yaml', 'secrets/openstack.enc.yaml'];
    const secrets = (await Promise.all(credentialFiles.map((f) => readSecrets(ROOT, f, { env })))).flatMap(leaves).filter((s) => s.length >= 8);
    expect(secrets.length).toBeGreaterThan(3);
    // the private halves of every platform's login and host keys, whole and line by line
    for (const platform of ['factory', 'fleet', 'greenhouse', 'weather']) {
      const keys = await readSecrets(ROOT, `secrets/keys/${platform}.enc.yaml`, { env });
      for (const field of ['privateKey', 'hostPrivateKey']) {
        const text = keys[field] as string;
        expect(text, `${platform} ${field}`).toContain('PRIVATE KEY');
        secrets.push(text, ...text.split('\n').filter((l) => l.length > 20 && !l.includes('PRIVATE KEY')));
      }
      const json = JSON.parse(readFileSync(join(out, platform, 'cdk.tf.json'), 'utf8')) as { variable?: Record<string, { sensitive?: boolean }> };
      expect(json.variable?.host_private_key?.sensitive, `${platform} declares the host key variable`).toBe(true);
    }
    for (const stack of readdirSync(out).filter((d) => d !== 'minimal')) {
      const json = readFileSync(join(out, stack, 'cdk.tf.json'), 'utf8');
      for (const secret of secrets) expect(json.includes(secret), `a credential appears in ${stack}/cdk.tf.json`).toBe(false);
      expect(JSON.parse(json)).toHaveProperty(stack === 'home-net' ? 'output.subnet_id' : 'output.public_ip');
    }
    expect(stdout.join('')).toContain('minimal: an existing server');
  });
});
