// The shipped example secrets: real SOPS files, encrypted to the committed demo key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptSops } from 'sops-age';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIdentities } from '../../src/secrets/age-keys.js';
import { checkSecretFile, readSecrets, resetSecretRegistry, type SecretUse } from '../../src/secrets/index.js';

const ROOT = join(import.meta.dirname, '../..');
const DEMO_KEY_FILE = join(ROOT, 'examples/demo.agekey');
const demoKeyText = readFileSync(DEMO_KEY_FILE, 'utf8');
const [demoIdentity] = parseIdentities(demoKeyText);
const env = { SOPS_AGE_KEY_FILE: DEMO_KEY_FILE, PATH: '' };

const EXAMPLES: [string, SecretUse][] = [
  ['secrets/aws.enc.yaml', 'aws'],
  ['secrets/gcp.enc.yaml', 'gcp'],
  ['secrets/openstack.enc.yaml', 'openstack'],
  ['secrets/rabbitmq.enc.yaml', 'broker-users'],
  ['secrets/grafana.enc.yaml', 'grafana'],
  ['secrets/ssh.enc.yaml', 'ssh-key'],
  ['secrets/keys/greenhouse.enc.yaml', 'ssh-key'],
  ['secrets/keys/weather.enc.yaml', 'ssh-key'],
  ['secrets/keys/factory.enc.yaml', 'ssh-key'],
  ['secrets/keys/fleet.enc.yaml', 'ssh-key'],
];

afterEach(() => resetSecretRegistry());

describe('the demo key', () => {
  it('says plainly that it is a public demo key, never for real use', () => {
    expect(demoKeyText).toMatch(/DEMO age key: PUBLIC/);
    expect(demoKeyText).toMatch(/never encrypt a real secret to it/);
    expect(demoIdentity).toMatch(/^AGE-SECRET-KEY-1/);
  });

  it('is the recipient of the .sops.yaml rule for secrets/', () => {
    const recipient = /# public key: (age1[a-z0-9]+)/.exec(demoKeyText)![1]!;
    expect(readFileSync(join(ROOT, '.sops.yaml'), 'utf8')).toMatch(new RegExp(`path_regex: \\^secrets/\\n    age: ${recipient}\\n`));
  });
});

describe.each(EXAMPLES)('example %s', (file, use) => {
  it(`is encrypted, opens with the demo key (MyT and sops-age agree), and fits the ${use} shape`, async () => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    expect(text).toMatch(/\nsops:\n {4}age:\n/);
    const mine = await readSecrets(ROOT, file, { env });
    const independent = (await decryptSops(text, { secretKey: demoIdentity!, fileType: 'yaml' })) as unknown;
    expect(independent).toEqual(mine);
    expect(await checkSecretFile(ROOT, file, use, env)).toEqual([]);
  });
});
