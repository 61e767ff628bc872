import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Construct } from 'constructs';
import type { TerraformStack } from 'cdktf';
import { resolvePlatform, resolveSpace, type ResolvedPlatform, type ResolvedSpace } from '../config/defaults.js';
import type { Declared, Platform, Space } from '../config/repository.js';
import { MytError } from '../errors.js';
import { AwsPlatformStack } from './aws-platform.js';
import { AwsSpaceStack } from './aws-space.js';
import type { StateLocation } from './backend.js';
import { GcpPlatformStack } from './gcp-platform.js';
import { OpenstackPlatformStack } from './openstack-platform.js';
import { platformKeyFile } from '../config/key-file.js';
import type { PlatformKeys } from './cloud-init.js';
import type { ProtectedResources } from './platform-stack.js';

export type StackKind = 'aws-space' | 'aws-platform' | 'gcp-platform' | 'openstack-platform';

/** Which secrets file holds a stack's cloud credentials, and for which provider. */
export interface CredentialSource {
  readonly provider: 'aws' | 'gcp' | 'openstack';
  /** Repository-relative SOPS file. */
  readonly file: string;
}

/** One synthesized stack: its Terraform JSON and what MyT needs to run it safely. */
export interface SynthesizedStack {
  /** The stack (and working folder) name: the Space's or Platform's name. */
  readonly name: string;
  readonly kind: StackKind;
  /** The declaring file, repository-relative. */
  readonly file: string;
  /** Stacks that must be applied first (a platform's AWS Space). */
  readonly dependsOn: readonly string[];
  readonly credentials: CredentialSource;
  readonly protects: ProtectedResources;
  /**
   * The key file whose hostPrivateKey Terraform receives as TF_VAR_host_private_key, when the
   * stack installs a host key (see cloud-init.ts); never written into the JSON.
   */
  readonly hostKeyFile?: string;
  /** The cdk.tf.json content. Holds no credential (they reach Terraform as environment variables). */
  readonly json: Record<string, unknown>;
  /** How long synthesis took, in milliseconds. */
  readonly synthMs: number;
}

export interface BuildStacksInput {
  readonly platforms: readonly Declared<Platform>[];
  readonly spaces: readonly Declared<Space>[];
  /** The public keys of every platform that gets a stack. */
  readonly keys: ReadonlyMap<string, PlatformKeys>;
  readonly state: StateLocation;
  /** Only these platforms (and the Spaces they use) and Spaces; default: every declaration. */
  readonly only?: readonly string[];
  /** Synthesize these platforms for destruction (their data volume loses prevent_destroy). */
  readonly forDestroy?: readonly string[];
}

const NO_PROTECTED: ProtectedResources = { dataVolumes: [], instances: [] };

/** The platforms that get a stack: every one except existing servers reached over ssh. */
export function platformsWithStacks(platforms: readonly Declared<Platform>[]): Declared<Platform>[] {
  return platforms.filter((p) => p.doc.spec.cloud.provider !== 'ssh');
}

/**
 * Builds and synthesizes the stacks, Spaces first, then the platforms that use them, each in
 * declaration-name order so the output is stable. Nothing is written here (see writeStacks).
 */
export function buildStacks(input: BuildStacksInput): SynthesizedStack[] {
  const spaces = new Map(input.spaces.map((s) => [s.doc.metadata.name, s] as const));
  // Names in `only` may be Spaces too (apply just the network); the rest must be platforms.
  const chosen = choosePlatforms(input.platforms, input.only?.filter((n) => !spaces.has(n)), [...spaces.keys()]);
  const root = new Root();
  const out: SynthesizedStack[] = [];

  const wantedSpaces = new Set<string>();
  for (const p of chosen) if (p.doc.spec.cloud.provider === 'aws') wantedSpaces.add(p.doc.spec.cloud.space);
  const awsSpaces = [...spaces.values()]
    .filter((s) => s.doc.spec.provider === 'aws' && (input.only === undefined || wantedSpaces.has(s.doc.metadata.name) || input.only.includes(s.doc.metadata.name)))
    .sort(byName);
  for (const s of awsSpaces) {
    const space = resolveSpace(s.doc);
    if (space.spec.provider !== 'aws') continue;
    const spec = space.spec;
    out.push(synth(s, 'aws-space', [], { provider: 'aws', file: spec.credentials }, NO_PROTECTED, undefined, () => new AwsSpaceStack(root, { name: s.doc.metadata.name, spec, state: input.state })));
  }

  for (const p of chosen.sort(byName)) {
    const platform = resolvePlatform(p.doc);
    const name = platform.metadata.name;
    const keys = input.keys.get(name);
    if (keys === undefined) throw new MytError(`platform ${name} (${p.file}): no SSH public key was given for it`);
    const base = { platform, keys, state: input.state, forDestroy: input.forDestroy?.includes(name) ?? false };
    const hostKeyFile = keys.hostPublicKey === undefined ? undefined : platformKeyFile(name);
    const cloud = platform.spec.cloud;
    switch (cloud.provider) {
      case 'aws': {
        const space = spaceOf(spaces, p, cloud.space, 'aws');
        if (space.spec.provider !== 'aws') break;
        const spaceSpec = space.spec;
        let stack: AwsPlatformStack | undefined;
        out.push(
          synth(p, 'aws-platform', [cloud.space], { provider: 'aws', file: spaceSpec.credentials }, () => stack!.protects, hostKeyFile, () => {
            stack = new AwsPlatformStack(root, { ...base, space: { name: cloud.space, spec: spaceSpec } });
            return stack;
          }),
        );
        break;
      }
      case 'gcp': {
        let stack: GcpPlatformStack | undefined;
        out.push(synth(p, 'gcp-platform', [], { provider: 'gcp', file: cloud.credentials }, () => stack!.protects, hostKeyFile, () => (stack = new GcpPlatformStack(root, base))));
        break;
      }
      case 'openstack': {
        const space = spaceOf(spaces, p, cloud.space, 'openstack');
        if (space.spec.provider !== 'openstack') break;
        const spaceSpec = space.spec;
        let stack: OpenstackPlatformStack | undefined;
        out.push(
          synth(p, 'openstack-platform', [], { provider: 'openstack', file: spaceSpec.credentials }, () => stack!.protects, hostKeyFile, () => {
            stack = new OpenstackPlatformStack(root, { ...base, space: { name: cloud.space, spec: spaceSpec } });
            return stack;
          }),
        );
        break;
      }
      case 'ssh':
        break; // an existing server: nothing to create
    }
  }
  return out;
}

function choosePlatforms(platforms: readonly Declared<Platform>[], only: readonly string[] | undefined, spaceNames: readonly string[]): Declared<Platform>[] {
  const withStacks = platformsWithStacks(platforms);
  if (only === undefined) return withStacks;
  return only.map((name) => {
    const found = platforms.find((p) => p.doc.metadata.name === name);
    if (!found) {
      const known = platforms.map((p) => p.doc.metadata.name).join(', ') || 'none';
      throw new MytError(`no platform or Space named '${name}' is declared under platforms/ (platforms: ${known}; Spaces: ${spaceNames.join(', ') || 'none'})`);
    }
    if (found.doc.spec.cloud.provider === 'ssh') throw new MytError(`platform ${name} is an existing server (cloud provider ssh): it has no infrastructure to plan or apply`);
    return found;
  });
}

function spaceOf(spaces: ReadonlyMap<string, Declared<Space>>, p: Declared<Platform>, name: string, provider: 'aws' | 'openstack'): ResolvedSpace {
  const found = spaces.get(name);
  if (!found || found.doc.spec.provider !== provider) {
    throw new MytError(`${p.file}: spec.cloud.space: no ${provider} Space named '${name}' (run 'myt validate')`);
  }
  return resolveSpace(found.doc);
}

function synth(
  declared: Declared<Platform | Space>,
  kind: StackKind,
  dependsOn: string[],
  credentials: CredentialSource,
  protects: ProtectedResources | (() => ProtectedResources),
  hostKeyFile: string | undefined,
  make: () => TerraformStack,
): SynthesizedStack {
  const started = performance.now();
  const stack = make();
  const json = synthesizeStack(stack);
  return {
    name: declared.doc.metadata.name,
    kind,
    file: declared.file,
    dependsOn,
    credentials,
    protects: typeof protects === 'function' ? protects() : protects,
    ...(hostKeyFile === undefined ? {} : { hostKeyFile }),
    json,
    synthMs: performance.now() - started,
  };
}

/** A stack's Terraform JSON, in memory: what cdktf's App.synth() writes, without touching the disk. */
export function synthesizeStack(stack: TerraformStack): Record<string, unknown> {
  stack.prepareStack(); // adds what cross-stack references need, and a default backend (ours is always set)
  stack.runAllValidations();
  return stack.toTerraform() as Record<string, unknown>;
}

/** Writes each stack to `<outDir>/<name>/cdk.tf.json`; returns the folders, by stack name. */
export function writeStacks(outDir: string, stacks: readonly SynthesizedStack[]): Map<string, string> {
  const folders = new Map<string, string>();
  for (const s of stacks) {
    const dir = join(outDir, s.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cdk.tf.json'), `${JSON.stringify(s.json, null, 2)}\n`);
    folders.set(s.name, dir);
  }
  return folders;
}

/** The construct tree's root, standing in for cdktf's App, whose constructor creates an output folder on disk. */
class Root extends Construct {
  constructor() {
    super(undefined as unknown as Construct, '');
    this.node.setContext('cdktfVersion', CDKTF_VERSION);
  }
}

function byName(a: Declared<Platform | Space>, b: Declared<Platform | Space>): number {
  return a.doc.metadata.name.localeCompare(b.doc.metadata.name);
}

// Recorded in each stack's metadata, as cdktf's App does.
const CDKTF_VERSION = (createRequire(import.meta.url)('cdktf/package.json') as { version: string }).version;

export type { ResolvedPlatform, ResolvedSpace };
