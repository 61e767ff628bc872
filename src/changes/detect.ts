// What a commit range changed, per platform: the input of the pull-request plan and of the deploy
// matrix. Each platform is compared by what it is built from (its declaration, its Space, the
// secrets files it names, its script and the files the script imports, its packages' lock,
// myt.yaml), not by which files the diff lists: a renamed file is no change, and an edited Space
// changes every platform on it.
import { isDeepStrictEqual } from 'node:util';
import { lockFileOf, platformKeyFile, tlsCaFile } from '../config/key-file.js';
import { REPO_CONFIG_FILE } from '../config/repo-config.js';
import type { Platform } from '../config/repository.js';
import { MytError } from '../errors.js';
import { NO_COMMIT, readTree, resolveCommit } from './git-tree.js';
import { readSnapshot, scriptFiles, type ImportScanner, type Snapshot, type SnapshotEntry } from './snapshot.js';

/** deploy: infrastructure and VM; redeploy: only what runs on the VM (the processor) changed. */
export type DeployAction = 'deploy' | 'redeploy';

export interface PlatformChange {
  readonly name: string;
  readonly file: string;
  readonly provider: string;
  readonly action: DeployAction;
  /** Why, in plain words, one line each. */
  readonly reasons: string[];
  /** The processor's part of the change (script, packages, spec.processor), for the PR comment. */
  readonly processor: string[];
  /** The declaring file at the base, when it moved. */
  readonly movedFrom?: string;
}

export interface DeletedPlatform {
  readonly name: string;
  /** Its file at the base commit. */
  readonly file: string;
  readonly provider: string;
  /** It set `spec.destroy: allow` at the base: the deploy run may destroy it. */
  readonly optedIn: boolean;
  /** MyT created infrastructure for it (every provider but ssh). */
  readonly hasInfrastructure: boolean;
}

export interface ChangeSet {
  /** The commit compared with; undefined when there is none (a new branch): everything is new. */
  readonly base?: string;
  readonly head: string;
  readonly changed: PlatformChange[];
  readonly deleted: DeletedPlatform[];
  /** Platforms whose file moved and nothing else: nothing to do. */
  readonly moved: { readonly name: string; readonly from: string; readonly to: string }[];
  /** Platforms declared at the head that did not change. */
  readonly unchanged: string[];
}

export interface DetectOptions {
  readonly root: string;
  /** The base ref or commit; undefined, empty or all zeros (a new branch) means none. */
  readonly base?: string;
  readonly head: string;
  readonly scan?: ImportScanner;
}

/** The secrets files a declaration names: every string value that is a path under secrets/. */
function secretPaths(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string' && /^secrets\/[^\s]+$/.test(value)) out.add(value);
  else if (Array.isArray(value)) for (const v of value) secretPaths(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) secretPaths(v, out);
  return out;
}

interface Inputs {
  readonly entry: SnapshotEntry<Platform>;
  /** The declaration without spec.processor: what the infrastructure and the VM's setup are made from. */
  readonly declaration: unknown;
  readonly processor: Platform['spec']['processor'];
  readonly space?: { readonly name: string; readonly file: string; readonly doc: unknown };
  readonly secrets: Map<string, string | undefined>;
  readonly script: Map<string, string>;
  readonly lock?: string;
  readonly settings?: string;
}

async function inputsOf(root: string, snap: Snapshot, entry: SnapshotEntry<Platform>, scan?: ImportScanner): Promise<Inputs> {
  const doc = entry.doc;
  const name = doc.metadata.name;
  const { processor, ...rest } = doc.spec ?? ({} as Platform['spec']);
  const cloud = doc.spec?.cloud as { space?: unknown } | undefined;
  const spaceName = typeof cloud?.space === 'string' ? cloud.space : undefined;
  const spaceEntry = spaceName === undefined ? undefined : snap.spaces.get(spaceName);
  const files = secretPaths(doc);
  if (spaceEntry) secretPaths(spaceEntry.doc, files);
  for (const conventional of [platformKeyFile(name), tlsCaFile(name)]) if (snap.tree.has(conventional)) files.add(conventional);
  const secrets = new Map([...files].sort().map((f) => [f, snap.tree.get(f)] as const));
  const scriptPath = typeof processor?.script === 'string' ? processor.script : undefined;
  return {
    entry,
    declaration: { ...doc, spec: rest },
    processor,
    space: spaceName === undefined ? undefined : { name: spaceName, file: spaceEntry?.file ?? '', doc: spaceEntry?.doc },
    secrets,
    script: scriptPath === undefined ? new Map<string, string>() : await scriptFiles(root, snap, scriptPath, scan),
    lock: snap.tree.get(lockFileOf(entry.file, name)),
    settings: snap.tree.get(REPO_CONFIG_FILE),
  };
}

function differing(before: ReadonlyMap<string, string | undefined>, after: ReadonlyMap<string, string | undefined>): string[] {
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  return keys.filter((k) => before.get(k) !== after.get(k));
}

function packageChanges(before: Readonly<Record<string, string>> = {}, after: Readonly<Record<string, string>> = {}): string[] {
  const out: string[] = [];
  for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const [a, b] = [before[name], after[name]];
    if (a === b) continue;
    out.push(a === undefined ? `package ${name} ${b} added` : b === undefined ? `package ${name} ${a} removed` : `package ${name} ${a} → ${b}`);
  }
  return out;
}

/** Compares one platform's inputs at the base and the head; undefined when nothing it is built from changed. */
function compare(name: string, before: Inputs, after: Inputs): PlatformChange | undefined {
  const reasons: string[] = [];
  const processor: string[] = [];
  let infra = false;
  if (!isDeepStrictEqual(before.declaration, after.declaration)) {
    reasons.push(`${after.entry.file} changed`);
    infra = true;
  }
  // A different Space name is a change of the declaration, reported above.
  if (after.space && before.space?.name === after.space.name && !isDeepStrictEqual(before.space.doc, after.space.doc)) {
    reasons.push(`Space ${after.space.name} changed${after.space.file ? ` (${after.space.file})` : ''}`);
    infra = true;
  }
  const secrets = differing(before.secrets, after.secrets);
  if (secrets.length) {
    reasons.push(`secrets changed: ${secrets.join(', ')}`);
    infra = true;
  }
  if (before.settings !== after.settings) {
    reasons.push(`${REPO_CONFIG_FILE} changed (repository settings)`);
    infra = true;
  }
  if (!isDeepStrictEqual(before.processor, after.processor)) {
    processor.push(...packageChanges(before.processor?.packages, after.processor?.packages));
    // A redeploy uploads only the release's processor/ folder and refuses more (src/deploy/provision.ts).
    // timeoutMs and replicas live in compose.yaml (the processor's environment, its services), and so
    // does whether there is a script at all: those need a full deploy.
    const { packages: _a, script: scriptBefore, ...composeBefore } = before.processor ?? {};
    const { packages: _b, script: scriptAfter, ...composeAfter } = after.processor ?? {};
    if (!isDeepStrictEqual(composeBefore, composeAfter)) {
      reasons.push(`spec.processor changed in ${after.entry.file} (${[...new Set([...Object.keys(composeBefore), ...Object.keys(composeAfter)])].sort().join(', ')}: the VM's compose file changes)`);
      infra = true;
    }
    if ((scriptBefore === undefined) !== (scriptAfter === undefined)) {
      reasons.push(`a processing script was ${scriptAfter === undefined ? 'removed' : 'added'}: the VM's compose file changes`);
      infra = true;
    } else if (scriptBefore !== scriptAfter) processor.push(`spec.processor.script changed in ${after.entry.file}`);
  }
  const script = differing(before.script, after.script);
  if (script.length) processor.push(`script changed: ${script.join(', ')}`);
  if (before.lock !== after.lock) {
    processor.push(after.lock === undefined ? `package lock removed: ${lockFileOf(before.entry.file, name)}` : `package lock changed: ${lockFileOf(after.entry.file, name)}`);
  }
  if (!infra && processor.length === 0) return undefined;
  return {
    name,
    file: after.entry.file,
    provider: String(after.entry.doc.spec?.cloud?.provider ?? 'unknown'),
    action: infra ? 'deploy' : 'redeploy',
    reasons: [...reasons, ...processor],
    processor,
    ...(before.entry.file !== after.entry.file ? { movedFrom: before.entry.file } : {}),
  };
}

/**
 * The platforms a commit range changed, added, deleted or only moved. Refuses a head whose
 * declarations cannot be read: a platform in a broken file would look deleted.
 */
export async function detectChanges(opts: DetectOptions): Promise<ChangeSet> {
  const { root } = opts;
  const head = await resolveCommit(root, opts.head);
  const base = opts.base === undefined || opts.base === '' || NO_COMMIT.test(opts.base) ? undefined : await resolveCommit(root, opts.base);
  const after = await readSnapshot(root, await readTree(root, head));
  if (after.unreadable.length) {
    throw new MytError(`cannot tell what changed: these declarations at ${head.slice(0, 12)} cannot be read (run 'myt validate'):\n  ${after.unreadable.join('\n  ')}`);
  }
  const before = base === undefined ? undefined : await readSnapshot(root, await readTree(root, base));
  const changed: PlatformChange[] = [];
  const moved: ChangeSet['moved'] = [];
  const unchanged: string[] = [];
  for (const [name, entry] of [...after.platforms].sort(([a], [b]) => a.localeCompare(b))) {
    const old = before?.platforms.get(name);
    const provider = String(entry.doc.spec?.cloud?.provider ?? 'unknown');
    if (!old) {
      changed.push({ name, file: entry.file, provider, action: 'deploy', reasons: [base === undefined ? 'no earlier commit to compare with' : 'added'], processor: [] });
      continue;
    }
    const change = compare(name, await inputsOf(root, before!, old, opts.scan), await inputsOf(root, after, entry, opts.scan));
    if (change) changed.push(change);
    else if (old.file !== entry.file) moved.push({ name, from: old.file, to: entry.file });
    else unchanged.push(name);
  }
  const deleted: DeletedPlatform[] = [];
  for (const [name, entry] of [...(before?.platforms ?? [])].sort(([a], [b]) => a.localeCompare(b))) {
    if (after.platforms.has(name)) continue;
    const provider = String(entry.doc.spec?.cloud?.provider ?? 'unknown');
    deleted.push({ name, file: entry.file, provider, optedIn: entry.doc.spec?.destroy === 'allow', hasInfrastructure: provider !== 'ssh' });
  }
  return { ...(base === undefined ? {} : { base }), head, changed, deleted, moved, unchanged };
}

/** A ChangeSet naming platforms by hand (workflow_dispatch): each must be declared at the head. */
export async function requestedChanges(root: string, headRef: string, names: readonly string[], action: DeployAction = 'deploy'): Promise<ChangeSet> {
  const head = await resolveCommit(root, headRef);
  const snap = await readSnapshot(root, await readTree(root, head));
  const changed: PlatformChange[] = [];
  for (const name of [...new Set(names)]) {
    const entry = snap.platforms.get(name);
    if (!entry) {
      const known = [...snap.platforms.keys()].sort().join(', ') || 'none';
      throw new MytError(`no platform named '${name}' is declared at ${head.slice(0, 12)} (platforms: ${known})`);
    }
    changed.push({ name, file: entry.file, provider: String(entry.doc.spec?.cloud?.provider ?? 'unknown'), action, reasons: ['requested by hand (workflow_dispatch)'], processor: [] });
  }
  return { head, changed, deleted: [], moved: [], unchanged: [...snap.platforms.keys()].filter((n) => !names.includes(n)).sort() };
}

/** Whether a platform is declared at a commit (read from git, whatever is checked out). */
export async function declaredAt(root: string, ref: string, name: string): Promise<boolean> {
  const snap = await readSnapshot(root, await readTree(root, await resolveCommit(root, ref)));
  return snap.platforms.has(name);
}
