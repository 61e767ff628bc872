import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Repository } from '../config/repository.js';
import { MytError } from '../errors.js';
import { localStateDir, type StateLocation } from './backend.js';
import { readPlatformKeys } from './public-keys.js';
import { loadRepoConfig, type ResolvedRepoConfig } from '../config/repo-config.js';
import type { SecretsReader } from './secrets-reader.js';
import { buildStacks, platformsWithStacks, writeStacks, type SynthesizedStack } from './stacks.js';
import { validateRepository } from '../validation/index.js';

/** Where stacks are synthesized by default, one folder per stack. */
export const DEFAULT_OUT_DIR = '.myt/out';

export interface PrepareOptions {
  readonly root: string;
  /** Absolute, or relative to root. */
  readonly outDir: string;
  readonly readSecrets: SecretsReader;
  /** For SOPS keys (SOPS_AGE_KEY_FILE, ...). */
  readonly env: NodeJS.ProcessEnv;
  readonly only?: readonly string[];
  readonly forDestroy?: readonly string[];
}

export interface PreparedStacks {
  readonly repo: Repository;
  readonly config: ResolvedRepoConfig;
  readonly state: StateLocation;
  readonly stacks: SynthesizedStack[];
  /** Working folder of each stack, by name. */
  readonly folders: Map<string, string>;
  /** Stacks with local state that nothing declares any more (left running, never destroyed implicitly). */
  readonly orphans: string[];
  /** What a person should know before applying (a key file without a host key). */
  readonly notices: readonly string[];
}

/**
 * Validate (as `myt validate` does, with the same key: secrets files are decrypted in memory and
 * their fields checked), decrypt the platforms' public keys, synthesize and write each stack's
 * cdk.tf.json: the offline part every infrastructure command starts with. Refuses an invalid
 * repository.
 */
export async function prepareStacks(opts: PrepareOptions): Promise<PreparedStacks> {
  const repo = await validateRepository(opts.root, { env: opts.env });
  if (repo.problems.length) {
    const shown = repo.problems.slice(0, 20).map((p) => `  ${p.file}:${p.line}:${p.col}: ${p.message}`);
    const more = repo.problems.length > shown.length ? `\n  ... and ${repo.problems.length - shown.length} more` : '';
    throw new MytError(`the declarations are not valid (run 'myt validate'):\n${shown.join('\n')}${more}`);
  }
  const config = loadRepoConfig(opts.root);
  const outDir = resolve(opts.root, opts.outDir);
  const state: StateLocation = { backend: config.state, root: opts.root, outDir };
  const wanted = opts.only === undefined ? platformsWithStacks(repo.platforms) : platformsWithStacks(repo.platforms.filter((p) => opts.only!.includes(p.doc.metadata.name)));
  const { keys, notices } = await readPlatformKeys(opts.root, wanted, opts.readSecrets, opts.env);
  const stacks = buildStacks({ platforms: repo.platforms, spaces: repo.spaces, keys, state, only: opts.only, forDestroy: opts.forDestroy });
  const folders = writeStacks(outDir, stacks);
  const declared = new Set([...repo.platforms, ...repo.spaces].map((d) => d.doc.metadata.name));
  return { repo, config, state, stacks, folders, orphans: orphanedStates(state, declared), notices };
}

/**
 * Names of local state files whose Space or Platform is no longer declared. Only the local
 * backend can be listed without credentials; remote backends report nothing here.
 */
export function orphanedStates(state: StateLocation, declared: ReadonlySet<string>): string[] {
  const dir = localStateDir(state);
  if (dir === undefined) return [];
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.tfstate'))
    .map((f) => f.slice(0, -'.tfstate'.length))
    .filter((name) => !declared.has(name))
    .sort();
}

/** What to tell a person about orphaned state: it is left alone, and how to remove it on purpose. */
export function orphanNotice(name: string): string {
  return (
    `${name}: its Terraform state exists but nothing under platforms/ declares it. Its infrastructure is left running: ` +
    `MyT never destroys what a deleted file declared. To remove it, restore the file with 'spec.destroy: allow' and run 'myt destroy ${name}'.`
  );
}
