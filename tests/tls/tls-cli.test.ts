// `myt tls` and `myt validate` on a throw-away repository with its own age key: the CA is made once
// and kept encrypted, validate asks for it when broker.tls is true, devices get certificates from it.
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resetSecretRegistry } from '../../src/secrets/index.js';
import { runMyt } from '../helpers/cli.js';
import { SSH_PLATFORM } from '../helpers/temp-repo.js';
import { envWithKey, keyPair, tempRepo, type TempRepo } from '../secrets/helpers.js';

// The shared ssh platform, with its key where 'myt keys generate solo' writes it, and TLS on.
const PLATFORM = `${SSH_PLATFORM.replace('key: secrets/ssh.enc.yaml', 'key: secrets/keys/solo.enc.yaml')}  broker:
    tls: true
`;

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.remove();
  resetSecretRegistry();
});

async function setUp(): Promise<{ repo: TempRepo; env: NodeJS.ProcessEnv }> {
  const key = await keyPair();
  repo = tempRepo([key.recipient]);
  repo.write('platforms/solo.yaml', PLATFORM);
  const env = envWithKey(key.identity);
  expect((await runMyt(['keys', 'generate', 'solo'], repo.root, env)).code).toBe(0);
  return { repo, env };
}

describe('myt tls', () => {
  it('validate asks for the CA of a TLS platform; init makes it, encrypted; then validate passes', async () => {
    const { repo, env } = await setUp();
    const before = await runMyt(['validate'], repo.root, env);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain("platforms/solo.yaml:14:10: error: spec.broker.tls: platform 'solo' has no TLS CA at secrets/tls/solo.enc.yaml: run 'myt tls init solo'");

    const init = await runMyt(['tls', 'init', 'solo'], repo.root, env);
    expect(init.code).toBe(0);
    const ca = new X509Certificate(init.stdout);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=MyT solo CA');
    const stored = repo.read('secrets/tls/solo.enc.yaml');
    expect(stored).toMatch(/^caCertificate: ENC\[AES256_GCM,/m);
    expect(stored).toMatch(/^caKey: ENC\[AES256_GCM,/m);
    expect(stored).not.toContain('BEGIN CERTIFICATE');
    expect(stored).not.toContain('BEGIN PRIVATE KEY');

    expect(await runMyt(['validate'], repo.root, env)).toMatchObject({ code: 0 });
    expect((await runMyt(['tls', 'ca', 'solo'], repo.root, env)).stdout).toBe(init.stdout);
  });

  it('validate checks what the CA file holds when a key is there', async () => {
    const { repo, env } = await setUp();
    expect((await runMyt(['secrets', 'encrypt', repo.write('secrets/tls/solo.enc.yaml', 'caCertificate: nope\ncaKey: nope\n')], repo.root, env)).code).toBe(0);
    const r = await runMyt(['validate'], repo.root, env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("spec.broker.tls: secrets/tls/solo.enc.yaml: field 'caCertificate' must be a PEM certificate ('myt tls init' writes it)");
  });

  it('refuses to replace the CA without --force', async () => {
    const { repo, env } = await setUp();
    const first = await runMyt(['tls', 'init', 'solo'], repo.root, env);
    const again = await runMyt(['tls', 'init', 'solo'], repo.root, env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('secrets/tls/solo.enc.yaml exists already');
    expect((await runMyt(['tls', 'ca', 'solo'], repo.root, env)).stdout).toBe(first.stdout);
    const forced = await runMyt(['tls', 'init', 'solo', '--force'], repo.root, env);
    expect(forced.code).toBe(0);
    expect(forced.stdout).not.toBe(first.stdout);
  });

  it('client issues a device certificate from the CA, its key written with mode 0600', async () => {
    const { repo, env } = await setUp();
    const ca = new X509Certificate((await runMyt(['tls', 'init', 'solo'], repo.root, env)).stdout);
    const r = await runMyt(['tls', 'client', 'solo', 'sensor-1', '--out', 'devices', '--days', '30'], repo.root, env);
    expect(r.code).toBe(0);
    const dir = join(repo.root, 'devices');
    const cert = new X509Certificate(readFileSync(join(dir, 'sensor-1.crt')));
    expect(cert.subject).toBe('CN=sensor-1');
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(new Date(cert.validTo).getTime() - Date.now()).toBeLessThan(31 * 86_400_000);
    expect(statSync(join(dir, 'sensor-1.key')).mode & 0o777).toBe(0o600);
    expect(new X509Certificate(readFileSync(join(dir, 'ca.crt'))).fingerprint256).toBe(ca.fingerprint256);
  });

  it('says what is wrong with the command line', async () => {
    const { repo, env } = await setUp();
    expect(await runMyt(['tls', 'client', 'solo'], repo.root, env)).toMatchObject({ code: 2, stderr: expect.stringContaining('DEVICE is required') as unknown });
    expect(await runMyt(['tls', 'rotate', 'solo'], repo.root, env)).toMatchObject({ code: 2 });
    expect(await runMyt(['tls', 'init', 'nowhere'], repo.root, env)).toMatchObject({ code: 1, stderr: expect.stringContaining("no platform named 'nowhere'") as unknown });
    expect(await runMyt(['tls', 'ca', 'solo'], repo.root, env)).toMatchObject({ code: 1, stderr: expect.stringContaining("make the platform's CA with 'myt tls init solo'") as unknown });
  });
});
