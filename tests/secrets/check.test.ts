// checkSecretFile: what `myt validate` learns about a referenced secrets file, with and without a key.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkSecretFile, generateSshKeyPair, resetSecretRegistry, type SecretUse } from '../../src/secrets/index.js';
import { writeNewSecrets } from '../../src/secrets/operations.js';
import { shapeProblems } from '../../src/secrets/shapes.js';
import { sshKeyProblems } from '../../src/secrets/ssh-keys.js';
import type { AgeKeyPair } from '../../src/secrets/age-keys.js';
import { envWithKey, keyPair, tempRepo, type TempRepo } from './helpers.js';

let key: AgeKeyPair;
let repo: TempRepo;
beforeAll(async () => {
  key = await keyPair();
});
afterEach(() => {
  repo?.remove();
  resetSecretRegistry();
});

const pem = '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAfake\n-----END PRIVATE KEY-----\n';
const ssh = generateSshKeyPair('test');
const other = generateSshKeyPair('other');
const host = generateSshKeyPair('host');

const GOOD: Record<SecretUse, Record<string, unknown>> = {
  aws: { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  gcp: { serviceAccountKey: JSON.stringify({ type: 'service_account', project_id: 'p-1', client_email: 'x@p-1.iam.gserviceaccount.com', private_key: pem }) },
  openstack: { user: 'lab-user', password: 'lab-password-value', authUrl: 'https://keystone.example.org:5000/v3' },
  'broker-users': { users: { 'sensor-1': 'sensor-password-1', dashboard: 'dashboard-password' } },
  grafana: { adminPassword: 'grafana-admin-password' },
  'ssh-key': { privateKey: ssh.privateKey, publicKey: ssh.publicKey, hostPrivateKey: host.privateKey, hostPublicKey: host.publicKey },
  'tls-ca': { caCertificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', caKey: pem },
};

describe('secret shapes', () => {
  it.each(Object.entries(GOOD))('a well-formed %s file has no problem', (use, data) => {
    expect(shapeProblems(use as SecretUse, data)).toEqual([]);
  });

  it.each([
    ['aws', { accessKeyId: 'AKIAEXAMPLE000000001' }, ["field 'secretAccessKey' is missing (the AWS secret access key)"]],
    ['aws', { accessKeyId: 'not-a-key-id', secretAccessKey: 'x' }, ["field 'accessKeyId' does not look like an AWS access key id (AKIA… or ASIA…, capitals and digits)"]],
    ['gcp', { serviceAccountKey: '{"type":"service_account"}' }, ["field 'serviceAccountKey' lacks 'client_email'", "field 'serviceAccountKey' lacks 'private_key'", "field 'serviceAccountKey' lacks 'project_id'"]],
    ['gcp', { serviceAccountKey: 'not json' }, ["field 'serviceAccountKey' is text but not JSON (paste the whole key file)"]],
    ['gcp', { serviceAccountKey: { project_id: 'p', client_email: 'e', private_key: pem } }, []],
    ['openstack', { user: 'u', password: '', authUrl: 'ftp://x' }, ["field 'password' must be a non-empty string (the OpenStack password)", "field 'authUrl' must be an http(s) URL (the Keystone endpoint)"]],
    ['broker-users', { users: { 'bad name!': 'long-enough-pw', ok: 'short' } }, ["broker user name 'bad name!' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", "the password of broker user 'ok' must be a string of at least 8 characters"]],
    ['broker-users', { users: [] }, ["field 'users' must be a mapping of user name to password"]],
    ['grafana', { adminPassword: 'admin' }, ["field 'adminPassword' is Grafana's default; choose another"]],
    ['broker-users', { users: { 'myt-processor': 'long-enough-pw' } }, ["broker user name 'myt-processor' is the processor's own user: choose another"]],
    ['tls-ca', { caCertificate: 'x', caKey: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----' }, ["field 'caCertificate' must be a PEM certificate ('myt tls init' writes it)", "field 'caKey' must be a PEM private key ('myt tls init' writes it)"]],
    ['ssh-key', { privateKey: ssh.privateKey, publicKey: other.publicKey }, ["fields 'publicKey' and 'privateKey' are not one key pair"]],
    // A file made before host keys existed (and an ssh platform's key) has the login pair only.
    ['ssh-key', { privateKey: ssh.privateKey, publicKey: ssh.publicKey }, []],
    ['ssh-key', { privateKey: ssh.privateKey, publicKey: ssh.publicKey, hostPrivateKey: host.privateKey }, ["field 'hostPublicKey' must be one line 'ssh-ed25519 AAAA… [comment]'"]],
    ['ssh-key', { privateKey: ssh.privateKey, publicKey: ssh.publicKey, hostPrivateKey: host.privateKey, hostPublicKey: other.publicKey }, ["fields 'hostPublicKey' and 'hostPrivateKey' are not one key pair"]],
    ['ssh-key', { privateKey: ssh.privateKey, publicKey: ssh.publicKey, hostPrivateKey: ssh.privateKey, hostPublicKey: ssh.publicKey }, ["fields 'hostPublicKey' and 'publicKey' are the same key: the host key must be a pair of its own"]],
    ['ssh-key', { privateKey: 'nope', publicKey: 'ssh-rsa AAAA' }, ["field 'privateKey' must be an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----)", "field 'publicKey' must be one line 'ssh-ed25519 AAAA… [comment]'"]],
  ] as const)('%s %j gives the problems listed', (use, data, problems) => {
    expect(shapeProblems(use, data as Record<string, unknown>)).toEqual(problems);
  });

  it('never quotes a value in a problem', () => {
    const problems = shapeProblems('aws', { accessKeyId: 'secret-looking-id-value', secretAccessKey: 42 });
    expect(problems.length).toBe(2);
    for (const p of problems) expect(p).not.toContain('secret-looking-id-value');
  });
});

describe('generateSshKeyPair', () => {
  it('only hands out pairs that parse (ssh2 alone makes a broken one about 1 time in 128)', () => {
    // 2000 draws: with the broken pairs let through, this passes with a chance of about 1 in 6 million.
    const broken = Array.from({ length: 2000 }, () => generateSshKeyPair('t')).filter((p) => sshKeyProblems(p.privateKey, p.publicKey).length > 0);
    expect(broken).toEqual([]);
  });
});

describe('checkSecretFile', () => {
  it('reports a missing file and a plaintext file', async () => {
    repo = tempRepo([key.recipient]);
    repo.write('secrets/plain.enc.yaml', 'adminPassword: plain-text-password\n');
    expect(await checkSecretFile(repo.root, 'secrets/none.enc.yaml', 'grafana', envWithKey(undefined))).toEqual(["secrets/none.enc.yaml: 'secrets/none.enc.yaml' does not exist in the repository"]);
    expect(await checkSecretFile(repo.root, 'secrets/plain.enc.yaml', 'grafana', envWithKey(undefined))).toEqual([
      "secrets/plain.enc.yaml: it is not encrypted (no 'sops' metadata): run 'myt secrets encrypt secrets/plain.enc.yaml' before committing it",
    ]);
  });

  it('without a key checks only that the file is a SOPS file, not its fields', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/g.enc.yaml', { wrongField: 'x-value-here' });
    expect(await checkSecretFile(repo.root, 'secrets/g.enc.yaml', 'grafana', envWithKey(undefined, { HOME: '/nonexistent' }))).toEqual([]);
  });

  it('with a key decrypts and checks the fields the use needs', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/g.enc.yaml', { wrongField: 'x-value-here' });
    await writeNewSecrets(repo.root, 'secrets/ok.enc.yaml', GOOD.grafana);
    expect(await checkSecretFile(repo.root, 'secrets/g.enc.yaml', 'grafana', envWithKey(key.identity))).toEqual([
      "secrets/g.enc.yaml: field 'adminPassword' is missing (the password of Grafana's admin user)",
    ]);
    expect(await checkSecretFile(repo.root, 'secrets/ok.enc.yaml', 'grafana', envWithKey(key.identity))).toEqual([]);
  });

  it('with a key that is not a recipient says so, naming the recipient', async () => {
    repo = tempRepo([key.recipient]);
    await writeNewSecrets(repo.root, 'secrets/ok.enc.yaml', GOOD.grafana);
    const stranger = await keyPair();
    const [problem, ...rest] = await checkSecretFile(repo.root, 'secrets/ok.enc.yaml', 'grafana', envWithKey(stranger.identity));
    expect(rest).toEqual([]);
    expect(problem).toBe(`secrets/ok.enc.yaml: it is encrypted for the age recipient ${key.recipient}; the available key is for ${stranger.recipient}`);
  });

  it('reports a file that is not YAML without quoting it', async () => {
    repo = tempRepo([key.recipient]);
    repo.write('secrets/broken.enc.yaml', 'password: [unclosed-secret-value\n');
    const problems = await checkSecretFile(repo.root, 'secrets/broken.enc.yaml', 'grafana', envWithKey(key.identity));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^secrets\/broken\.enc\.yaml: not valid YAML at line \d+/);
    expect(problems[0]).not.toContain('unclosed-secret-value');
  });
});
