import semver from 'semver';
import { MytError } from '../../errors.js';
import type { TerraformBinary } from './find-binary.js';
import { runProcess, type SpawnFn } from './run-process.js';

export interface VersionCheckOptions {
  /** Terraform's whole environment (see terraformEnv): no credential is needed to ask its version. */
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly spawn?: SpawnFn;
}

/** A version the stacks need, and why (for the error). */
export interface VersionRequirement {
  readonly minimum: string;
  readonly reason: string;
}

/**
 * The version of the terraform or tofu binary, from `version -json` (both print `terraform_version`).
 * Asked before anything else, so an old binary is named up front rather than failing at `init`.
 */
export async function terraformVersion(binary: TerraformBinary, opts: VersionCheckOptions): Promise<string> {
  let result;
  try {
    result = await runProcess(binary.path, ['version', '-json'], { cwd: opts.cwd, env: opts.env, captureStdout: true, timeoutMs: 60_000, graceMs: 5_000, spawn: opts.spawn });
  } catch (err) {
    throw new MytError(`could not start ${binary.path}: ${(err as Error).message}`);
  }
  let version: unknown;
  try {
    version = (JSON.parse(result.stdout) as { terraform_version?: unknown }).terraform_version;
  } catch {
    version = undefined;
  }
  if (result.code !== 0 || typeof version !== 'string' || semver.coerce(version) === null) {
    throw new MytError(`${binary.path} version -json did not say its version (exit ${result.code}): is it Terraform or OpenTofu?`);
  }
  return version;
}

/** Refuses a binary older than the stacks need, naming what was found and where. */
export async function ensureTerraformVersion(binary: TerraformBinary, need: VersionRequirement | undefined, opts: VersionCheckOptions): Promise<void> {
  if (need === undefined) return;
  const found = await terraformVersion(binary, opts);
  if (semver.lt(semver.coerce(found)!, need.minimum)) {
    throw new MytError(
      `${need.reason}, which needs Terraform or OpenTofu ${need.minimum} or newer; found ${binary.flavor} ${found} (${binary.path}). ` +
        'Install a newer one, or set MYT_TERRAFORM to its path.',
    );
  }
}
