import { relative, join } from 'node:path';
import type { Construct } from 'constructs';
import {
  DataTerraformRemoteStateGcs,
  DataTerraformRemoteStateLocal,
  DataTerraformRemoteStateS3,
  GcsBackend,
  LocalBackend,
  S3Backend,
  type TerraformRemoteState,
  type TerraformStack,
} from 'cdktf';
import type { ResolvedStateBackend } from '../config/repo-config.js';
import type { VersionRequirement } from './terraform/version.js';

/**
 * The oldest Terraform or OpenTofu the backend works with: S3's locking by lock file (use_lockfile)
 * came in Terraform 1.10 and OpenTofu 1.10. Written into each stack as required_version, and
 * checked before the first command.
 */
export function backendRequirement(backend: ResolvedStateBackend): VersionRequirement | undefined {
  return backend.backend === 's3' ? { minimum: '1.10.0', reason: "myt.yaml's s3 state backend locks state with a lock file (use_lockfile)" } : undefined;
}

/**
 * Where each stack keeps its state: one key per stack in the backend myt.yaml chose. Backend
 * blocks hold only locations, never credentials (those reach Terraform as environment variables).
 */
export interface StateLocation {
  readonly backend: ResolvedStateBackend;
  /** Absolute repository root (a local state path is relative to it). */
  readonly root: string;
  /** Absolute folder holding one working folder per stack (`<outDir>/<stack>/cdk.tf.json`). */
  readonly outDir: string;
}

/** The local state file of a stack, relative to the stack's working folder so the JSON does not embed this machine's paths. */
function localStatePath(at: StateLocation, stack: string): string {
  if (at.backend.backend !== 'local') throw new Error('not a local backend');
  return relative(join(at.outDir, stack), join(at.root, at.backend.path, `${stack}.tfstate`)).split('\\').join('/');
}

/** Configures the stack's backend: its own state key in the chosen backend. */
export function addBackend(stack: TerraformStack, at: StateLocation, name: string): void {
  const b = at.backend;
  switch (b.backend) {
    case 'local':
      new LocalBackend(stack, { path: localStatePath(at, name) });
      return;
    case 's3':
      new S3Backend(stack, { bucket: b.bucket, region: b.region, key: `${b.prefix}/${name}.tfstate`, encrypt: true });
      // S3-native locking (Terraform >= 1.10): no DynamoDB table to create first. cdktf 0.21 has no typed field for it.
      stack.addOverride('terraform.backend.s3.use_lockfile', true);
      stack.addOverride('terraform.required_version', `>= ${backendRequirement(b)!.minimum}`);
      return;
    case 'gcs':
      new GcsBackend(stack, { bucket: b.bucket, prefix: `${b.prefix}/${name}` }); // GCS locks state itself
      return;
  }
}

/** Reads another stack's outputs (a Platform reads its Space's) from the same backend. */
export function remoteState(scope: Construct, id: string, at: StateLocation, name: string): TerraformRemoteState {
  const b = at.backend;
  switch (b.backend) {
    case 'local':
      return new DataTerraformRemoteStateLocal(scope, id, { path: localStatePath(at, name) });
    case 's3':
      return new DataTerraformRemoteStateS3(scope, id, { bucket: b.bucket, region: b.region, key: `${b.prefix}/${name}.tfstate` });
    case 'gcs':
      return new DataTerraformRemoteStateGcs(scope, id, { bucket: b.bucket, prefix: `${b.prefix}/${name}` });
  }
}

/** The folder of local state files, when the backend is local. */
export function localStateDir(at: StateLocation): string | undefined {
  return at.backend.backend === 'local' ? join(at.root, at.backend.path) : undefined;
}
