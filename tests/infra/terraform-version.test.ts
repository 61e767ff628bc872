// The version check before any Terraform command: against the real Terraform CLI here
// (/usr/local/bin/terraform, 1.10 or newer), and against stand-in scripts for an old OpenTofu and
// for a program that is not Terraform at all. The contract the stand-ins follow is Terraform's and
// OpenTofu's `version -json`: one JSON object whose `terraform_version` is the version.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeNeeding } from '../helpers/needs.js';
import { afterAll, expect, it } from 'vitest';
import { backendRequirement } from '../../src/infra/backend.js';
import { runStacks } from '../../src/infra/run-stacks.js';
import { terraformEnv } from '../../src/infra/terraform/runner.js';
import { ensureTerraformVersion, terraformVersion } from '../../src/infra/terraform/version.js';
import { MytError } from '../../src/errors.js';
import { fakeSecrets, TERRAFORM, TERRAFORM_NEED } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'myt-tf-version-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const S3 = { backend: 's3', bucket: 'myt-state', region: 'eu-west-1', prefix: 'myt' } as const;
const opts = { env: terraformEnv(process.env, {}), cwd: dir };

describeNeeding(TERRAFORM_NEED, 'terraform version check', () => {
  it('reads the real Terraform CLI version and lets it through for the S3 backend', async () => {
    const binary = { path: TERRAFORM, flavor: 'terraform' as const };
    expect(await terraformVersion(binary, opts)).toMatch(/^1\.\d+\.\d+/);
    await expect(ensureTerraformVersion(binary, backendRequirement(S3), opts)).resolves.toBeUndefined();
  });

  it('refuses a stand-in tofu 1.9.1 for the S3 backend up front, naming the version and the binary', async () => {
    const path = script('tofu', `echo '{"terraform_version":"1.9.1","platform":"linux_amd64","provider_selections":{}}'`);
    const error = await ensureTerraformVersion({ path, flavor: 'tofu' }, backendRequirement(S3), opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MytError);
    expect((error as Error).message).toBe(
      "myt.yaml's s3 state backend locks state with a lock file (use_lockfile), which needs Terraform or OpenTofu 1.10.0 or newer; " +
        `found tofu 1.9.1 (${path}). Install a newer one, or set MYT_TERRAFORM to its path.`,
    );
  });

  it('asks nothing of the binary when the backend needs no particular version', async () => {
    const path = script('never-run', 'exit 7');
    expect(backendRequirement({ backend: 'local', path: '.myt/state' })).toBeUndefined();
    await expect(ensureTerraformVersion({ path, flavor: 'terraform' }, backendRequirement({ backend: 'gcs', bucket: 'b', prefix: 'p' }), opts)).resolves.toBeUndefined();
  });

  it('says clearly when a stand-in program is not Terraform at all', async () => {
    const path = script('not-terraform', 'echo hello');
    await expect(terraformVersion({ path, flavor: 'terraform' }, opts)).rejects.toThrow(`${path} version -json did not say its version (exit 0): is it Terraform or OpenTofu?`);
  });

  it('stops myt apply before any secret is decrypted when the binary is too old for the S3 backend', async () => {
    const path = script('old-terraform', `echo '{"terraform_version":"1.5.7"}'`);
    const reads: string[] = [];
    const run = runStacks({
      root: dir,
      stacks: [],
      folders: new Map(),
      backend: { ...S3, credentials: 'secrets/aws.enc.yaml' },
      binary: { path, flavor: 'terraform' },
      secrets: { readSecrets: fakeSecrets(reads), registerSecret: () => {}, maskSecrets: (t) => t },
      env: { PATH: process.env.PATH },
      log: () => {},
    });
    await expect(run).rejects.toThrow(/found terraform 1\.5\.7/);
    expect(reads).toEqual([]);
  });
});
