import { existsSync } from 'node:fs';
// Test helpers for infra: declarations as the config loader returns them, and a fake secrets
// reader standing in for src/secrets' readSecrets (contract: (root, repo-relative SOPS file) ->
// the decrypted mapping, in memory; it throws for a file it cannot read).
import type { Declared, Platform, Space } from '../../src/config/repository.js';
import type { StateLocation } from '../../src/infra/backend.js';
import type { SecretsReader } from '../../src/infra/secrets-reader.js';

export function declared<T extends Platform | Space>(doc: T, file = `platforms/${doc.metadata.name}.yaml`): Declared<T> {
  return { file, doc, positionOf: () => ({ line: 1, col: 1 }) };
}

export const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1ytTestKeyOnlyForMytUnitTests0000000000000 myt@test';
/** A VM host key pair as a key file holds it (not a real key: nothing here parses it). */
export const HOST_PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOnlyForMytUnitTests00000000000000 myt-host';
export const HOST_PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nFAKEHOSTKEYb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nNEVERINJSONb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';

/** Credential values no synthesized JSON may ever contain. */
export const CREDENTIALS = {
  'secrets/aws.enc.yaml': { accessKeyId: 'AKIAFAKEACCESSKEY0001', secretAccessKey: 'fake/secret+AWS/key/never-in-json' },
  'secrets/gcp.enc.yaml': { serviceAccountKey: JSON.stringify({ type: 'service_account', private_key: '-----BEGIN PRIVATE KEY-----FAKEGCPKEY' }) },
  'secrets/openstack.enc.yaml': { user: 'os-fake-user', password: 'os-fake-password-never-in-json' },
} as const;

export function secretStrings(): string[] {
  return Object.values(CREDENTIALS).flatMap((v) => Object.values(v));
}

/**
 * Fake readSecrets: files from the table above, plus each platform's key file, with a host key
 * pair unless the platform's name starts with 'legacy' (a key file made before host keys existed).
 * Records each read.
 */
export function fakeSecrets(reads: string[] = []): SecretsReader {
  return (_root, file) => {
    reads.push(file);
    const known = (CREDENTIALS as Record<string, Record<string, unknown>>)[file];
    if (known) return Promise.resolve({ ...known });
    if (/^secrets\/keys\/legacy[a-z0-9-]*\.enc\.yaml$/.test(file)) return Promise.resolve({ publicKey: PUBLIC_KEY, privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----FAKE' });
    if (/^secrets\/keys\/[a-z0-9-]+\.enc\.yaml$/.test(file)) {
      return Promise.resolve({ publicKey: PUBLIC_KEY, privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----FAKE', hostPublicKey: HOST_PUBLIC_KEY, hostPrivateKey: HOST_PRIVATE_KEY });
    }
    return Promise.reject(new Error(`fake secrets: no file ${file}`));
  };
}

export const LOCAL_STATE: StateLocation = { backend: { backend: 'local', path: '.myt/state' }, root: '/repo', outDir: '/repo/.myt/out' };

export const awsSpace = (overrides: Partial<Extract<Space['spec'], { provider: 'aws' }>> = {}): Space => ({
  apiVersion: 'myt/v1',
  kind: 'Space',
  metadata: { name: 'home-net' },
  spec: { provider: 'aws', region: 'eu-west-1', zone: 'eu-west-1a', credentials: 'secrets/aws.enc.yaml', ...overrides },
});

export const openstackSpace = (): Space => ({
  apiVersion: 'myt/v1',
  kind: 'Space',
  metadata: { name: 'lab-cloud' },
  spec: {
    provider: 'openstack',
    authUrl: 'https://keystone.example.org:5000/v3',
    tenant: 'iot-lab',
    zone: 'nova',
    externalNetwork: 'public',
    internalNetwork: 'iot-lab-net',
    securityGroup: 'iot-lab',
    credentials: 'secrets/openstack.enc.yaml',
  },
});

export function platform(name: string, cloud: Platform['spec']['cloud'], extra: Partial<Platform['spec']> = {}): Platform {
  return { apiVersion: 'myt/v1', kind: 'Platform', metadata: { name }, spec: { cloud, database: { engine: 'influxdb' }, ...extra } };
}

export const AWS_CLOUD: Platform['spec']['cloud'] = { provider: 'aws', space: 'home-net' };
export const GCP_CLOUD: Platform['spec']['cloud'] = { provider: 'gcp', project: 'myt-demo', region: 'europe-west1', zone: 'europe-west1-b', credentials: 'secrets/gcp.enc.yaml' };
export const OPENSTACK_CLOUD: Platform['spec']['cloud'] = { provider: 'openstack', space: 'lab-cloud', flavor: 'm1.small', image: 'Ubuntu 24.04' };
export const SSH_CLOUD: Platform['spec']['cloud'] = { provider: 'ssh', host: '127.0.0.1', user: 'myt', key: 'secrets/ssh.enc.yaml' };

/** The real Terraform CLI of this machine kind, which the runner's tests drive (built-in resources only). */
export const TERRAFORM = '/usr/local/bin/terraform';
/** What tests of the real Terraform CLI need (tests/helpers/needs.ts). */
export const TERRAFORM_NEED = { what: TERRAFORM, present: existsSync(TERRAFORM) };
