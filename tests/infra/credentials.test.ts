import { describe, expect, it } from 'vitest';
import { MytError } from '../../src/errors.js';
import { backendEnv, hostKeyEnv, mergeEnv, providerEnv } from '../../src/infra/credentials.js';
import { CREDENTIALS, fakeSecrets, HOST_PRIVATE_KEY } from './helpers.js';

const opts = (registered: string[] = []) => ({ root: '/repo', readSecrets: fakeSecrets(), registerSecret: (v: string) => void registered.push(v) });

describe('provider credentials as environment variables (fake secrets reader standing in for src/secrets)', () => {
  it('gives AWS its access key variables and registers them for masking', async () => {
    const registered: string[] = [];
    const env = await providerEnv({ provider: 'aws', file: 'secrets/aws.enc.yaml' }, opts(registered));
    expect(env).toEqual({ AWS_ACCESS_KEY_ID: 'AKIAFAKEACCESSKEY0001', AWS_SECRET_ACCESS_KEY: 'fake/secret+AWS/key/never-in-json' });
    expect(registered.sort()).toEqual(Object.values(env).sort());
  });

  it('gives GCP the service-account key as GOOGLE_CREDENTIALS', async () => {
    const env = await providerEnv({ provider: 'gcp', file: 'secrets/gcp.enc.yaml' }, opts());
    expect(env).toEqual({ GOOGLE_CREDENTIALS: CREDENTIALS['secrets/gcp.enc.yaml'].serviceAccountKey });
  });

  it('accepts a service-account key written as a YAML mapping', async () => {
    const reader = () => Promise.resolve({ serviceAccountKey: { type: 'service_account', project_id: 'p' } });
    const env = await providerEnv({ provider: 'gcp', file: 'secrets/gcp.enc.yaml' }, { root: '/repo', readSecrets: reader });
    expect(JSON.parse(env.GOOGLE_CREDENTIALS!)).toEqual({ type: 'service_account', project_id: 'p' });
  });

  it('gives OpenStack OS_USERNAME and OS_PASSWORD, with the Default Keystone domains unless the file names others', async () => {
    const registered: string[] = [];
    const env = await providerEnv({ provider: 'openstack', file: 'secrets/openstack.enc.yaml' }, opts(registered));
    expect(env).toEqual({ OS_USERNAME: 'os-fake-user', OS_PASSWORD: 'os-fake-password-never-in-json', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default' });
    expect(registered.sort()).toEqual(['os-fake-password-never-in-json', 'os-fake-user']);
    const reader = () => Promise.resolve({ user: 'u', password: 'p', userDomain: 'lab', projectDomain: 'lab-projects' });
    const custom = await providerEnv({ provider: 'openstack', file: 'secrets/openstack.enc.yaml' }, { root: '/repo', readSecrets: reader });
    expect(custom).toMatchObject({ OS_USER_DOMAIN_NAME: 'lab', OS_PROJECT_DOMAIN_NAME: 'lab-projects' });
  });

  it('names the file and the missing field, never a value', async () => {
    const reader = () => Promise.resolve({ accessKeyId: 'AKIAVISIBLE' });
    const err = await providerEnv({ provider: 'aws', file: 'secrets/aws.enc.yaml' }, { root: '/repo', readSecrets: reader }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MytError);
    expect((err as Error).message).toBe("secrets/aws.enc.yaml: field 'secretAccessKey' is missing or empty (an AWS access key: accessKeyId and secretAccessKey)");
  });

  it('refuses a service-account key that is not JSON without echoing it', async () => {
    const reader = () => Promise.resolve({ serviceAccountKey: 'not json s3cr3t' });
    const err = await providerEnv({ provider: 'gcp', file: 'secrets/gcp.enc.yaml' }, { root: '/repo', readSecrets: reader }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/is not a JSON service-account key/);
    expect((err as Error).message).not.toContain('s3cr3t');
  });
});

describe('state backend credentials', () => {
  it('needs none for local state', async () => {
    expect(await backendEnv({ backend: 'local', path: '.myt/state' }, opts(), {})).toEqual({});
  });

  it('gives GCS its own variable, so it never clashes with the Google provider', async () => {
    const env = await backendEnv({ backend: 'gcs', bucket: 'b', prefix: 'myt', credentials: 'secrets/gcp.enc.yaml' }, opts(), {});
    expect(Object.keys(env)).toEqual(['GOOGLE_BACKEND_CREDENTIALS']);
  });

  it("without credentials in myt.yaml, passes on the runner's own AWS identity only", async () => {
    const env = await backendEnv({ backend: 's3', bucket: 'b', region: 'eu-west-1', prefix: 'myt' }, opts(), { AWS_ROLE_ARN: 'arn:aws:iam::1:role/x', AWS_WEB_IDENTITY_TOKEN_FILE: '/t', OTHER: 'no' });
    expect(env).toEqual({ AWS_ROLE_ARN: 'arn:aws:iam::1:role/x', AWS_WEB_IDENTITY_TOKEN_FILE: '/t' });
  });

  it('refuses an S3 state key that differs from the AWS provider key, since both would be AWS_*', () => {
    expect(() => mergeEnv('greenhouse', { AWS_ACCESS_KEY_ID: 'A' }, { AWS_ACCESS_KEY_ID: 'B' })).toThrow(/stack greenhouse: the S3 state bucket and the AWS provider would both read AWS_ACCESS_KEY_ID/);
    expect(mergeEnv('greenhouse', { AWS_ACCESS_KEY_ID: 'A' }, { AWS_ACCESS_KEY_ID: 'A' })).toEqual({ AWS_ACCESS_KEY_ID: 'A' });
    expect(mergeEnv('weather', { GOOGLE_CREDENTIALS: 'g' }, { AWS_ACCESS_KEY_ID: 'B' })).toEqual({ GOOGLE_CREDENTIALS: 'g', AWS_ACCESS_KEY_ID: 'B' });
  });
});

describe("the VM's host private key as a Terraform variable (fake secrets reader standing in for src/secrets)", () => {
  it('is TF_VAR_host_private_key, registered for masking, read from the key file the stack names', async () => {
    const registered: string[] = [];
    expect(await hostKeyEnv('secrets/keys/zeta.enc.yaml', opts(registered))).toEqual({ TF_VAR_host_private_key: HOST_PRIVATE_KEY });
    expect(registered).toEqual([HOST_PRIVATE_KEY]);
  });

  it('is nothing for a stack without a host key', async () => {
    const reads: string[] = [];
    expect(await hostKeyEnv(undefined, { root: '/repo', readSecrets: fakeSecrets(reads) })).toEqual({});
    expect(reads).toEqual([]);
  });

  it('names the file and the field when the private half is missing', async () => {
    const reader = () => Promise.resolve({ hostPublicKey: 'ssh-ed25519 AAAA' });
    await expect(hostKeyEnv('secrets/keys/zeta.enc.yaml', { root: '/repo', readSecrets: reader })).rejects.toThrow(
      "secrets/keys/zeta.enc.yaml: field 'hostPrivateKey' is missing or empty (the VM's SSH host private key; 'myt keys generate' writes it)",
    );
  });
});
