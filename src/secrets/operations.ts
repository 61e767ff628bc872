import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { MytError } from '../errors.js';
import { defaultKeysFile, generateAgeKeyPair, keysFileText, parseIdentities, recipientOf, withoutAgeKeys } from './age-keys.js';
import { registerLeaves } from './masking.js';
import { isPublicField } from './shapes.js';
import { platformKeyFile } from '../config/key-file.js';
import { isInsideRepository } from '../config/repo-path.js';
import { DEMO_RECIPIENT } from './demo-key.js';
import { recipientsProblem, refuseDemoKey } from './recipients.js';
import { unauthenticatedValue } from './sops-file.js';
import { creationRuleFor, matchingRule, SOPS_CONFIG, sopsConfigText } from './sops-config.js';
import { encryptForRepo, encryptForRepoWithRule, formatFor, hasSopsMetadata, openSopsFile, parseFile, readText, reencrypt, writeEncrypted, type StoreOptions } from './sops-store.js';
import { emitTree, fromPlain, toPlain, type MapTree } from './sops-tree.js';
import { withShmFile, DEFAULT_SHM } from './shm.js';
import { generateSshKeyPair } from './ssh-keys.js';

/** What `myt secrets` and `myt keys` do, without the command line around them. */

/** A file named on the command line: where it is, and its path inside the repository (if it is inside). */
export interface FileRef {
  readonly absolute: string;
  /** Relative to the repository root with '/' separators; undefined outside the repository. */
  readonly repoPath: string | undefined;
  /** How messages name it. */
  readonly label: string;
}

export function fileRef(root: string, cwd: string, written: string): FileRef {
  const absolute = isAbsolute(written) ? written : join(cwd, written);
  const rel = relative(root, absolute);
  const inside = rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
  return { absolute, repoPath: inside ? rel.split(sep).join('/') : undefined, label: inside ? rel.split(sep).join('/') : written };
}

export function inRepo(ref: FileRef): string {
  if (ref.repoPath === undefined) throw new MytError(`${ref.label}: it is outside the repository, so ${SOPS_CONFIG} has no rule for it`);
  return ref.repoPath;
}

/** Whether a command may encrypt to the public demo key (`--allow-demo-key`): only for demo data. */
export interface DemoKeyOption {
  readonly allowDemoKey?: boolean;
}

/** The recipients `.sops.yaml` names for a new file, refused when they include the demo key unless allowed. */
async function checkNewRecipients(root: string, repoPath: string, label: string, opts: DemoKeyOption): Promise<void> {
  refuseDemoKey(label, (await creationRuleFor(root, repoPath)).recipients, opts.allowDemoKey ?? false);
}

/** `myt secrets encrypt FILE`: encrypts a plaintext YAML/JSON file in place, like `sops -e -i`. */
export async function encryptInPlace(root: string, ref: FileRef, opts: DemoKeyOption & { readonly now?: Date } = {}): Promise<{ recipients: number }> {
  const repoPath = inRepo(ref);
  const format = formatFor(ref.label);
  const doc = parseFile(await readText(ref.absolute, ref.label), format, ref.label);
  if (hasSopsMetadata(doc)) throw new MytError(`${ref.label}: it is already encrypted (it has 'sops' metadata); use 'myt secrets edit ${ref.label}' to change it`);
  await checkNewRecipients(root, repoPath, ref.label, opts);
  registerLeaves(toPlain(doc), isPublicField);
  const { text, recipients } = await encryptForRepoWithRule(root, repoPath, doc, format, opts.now);
  await writeEncrypted(ref.absolute, text);
  return { recipients };
}

/** Writes data that only ever existed in memory as a new encrypted file of the repository. */
export async function writeNewSecrets(root: string, repoPath: string, data: Record<string, unknown>, now?: Date): Promise<void> {
  const format = formatFor(repoPath);
  registerLeaves(data, isPublicField);
  const text = await encryptForRepo(root, repoPath, fromPlain(data) as MapTree, format, now);
  const path = join(root, ...repoPath.split('/'));
  await mkdir(dirname(path), { recursive: true });
  await writeEncrypted(path, text);
}

/** `myt secrets decrypt FILE`: the plaintext, in the file's own format, as text in memory. */
export async function decryptToText(root: string, ref: FileRef, opts: StoreOptions = {}): Promise<string> {
  const opened = await openSopsFile(ref.absolute, ref.label, { ...opts, repository: { root, path: ref.repoPath } });
  registerLeaves(toPlain(opened.data), isPublicField);
  return emitTree(opened.data, opened.format);
}

/** Runs the user's editor on a file, with the environment given, and resolves with its exit code. */
export type EditorRunner = (command: readonly string[], file: string, env: NodeJS.ProcessEnv) => Promise<number>;

export const spawnEditor: EditorRunner = (command, file, env) =>
  new Promise((resolve, reject) => {
    const [program, ...args] = command;
    if (program === undefined) return reject(new MytError('no editor: set EDITOR'));
    const child = spawn(program, [...args, file], { stdio: 'inherit', env });
    child.on('error', (err) => reject(new MytError(`cannot start the editor '${program}': ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });

/** $VISUAL or $EDITOR split on spaces into a program and its arguments (no shell runs it), else vi. */
export function editorCommand(env: NodeJS.ProcessEnv): string[] {
  const text = env.VISUAL?.trim() || env.EDITOR?.trim() || 'vi';
  return text.split(/\s+/);
}

export interface EditOptions extends StoreOptions, DemoKeyOption {
  readonly runEditor?: EditorRunner;
  readonly shm?: string;
  readonly now?: Date;
  /** Told things worth knowing that do not stop the edit (recipients that differ from .sops.yaml). */
  readonly warn?: (text: string) => void;
  /**
   * Asked, with the reason, whether to reopen the editor on text that cannot be saved (it does not
   * parse, or holds a value SOPS cannot authenticate), as `sops edit` asks: the edit is kept until
   * the person gives up. Without it (nobody at a terminal) such an edit fails, the file unchanged.
   */
  readonly reopen?: (why: string) => Promise<boolean>;
}

export type EditResult = 'changed' | 'unchanged' | 'created';

/**
 * `myt secrets edit FILE`: decrypts into memory-backed storage, opens the editor, re-encrypts on
 * save (keeping the file's data key and recipients, as `sops edit` does), and scrubs the copy.
 * A file that does not exist yet is created with the recipients `.sops.yaml` names for it.
 */
export async function editSecrets(root: string, ref: FileRef, opts: EditOptions = {}): Promise<EditResult> {
  const env = opts.env ?? process.env;
  const format = formatFor(ref.label);
  const exists = existsSync(ref.absolute);
  const repoPath = exists ? ref.repoPath : inRepo(ref);
  const opened = exists ? await openSopsFile(ref.absolute, ref.label, { ...opts, repository: { root, path: ref.repoPath } }) : undefined;
  if (opened) registerLeaves(toPlain(opened.data), isPublicField);
  if (opened?.reuse) await checkEditedRecipients(root, ref, opened.reuse.age.map((a) => a.recipient), opts);
  else if (!opened) await checkNewRecipients(root, repoPath!, ref.label, opts);
  const before = opened ? emitTree(opened.data, format) : format === 'json' ? '{\n}\n' : '# key: value, one per line; nested maps and lists are fine\n{}\n';
  const runEditor = opts.runEditor ?? spawnEditor;
  return withShmFile(
    before,
    basename(ref.absolute),
    async (file) => {
      for (;;) {
        // The editor sees the plaintext it is given, never the key that decrypts every other file.
        const code = await runEditor(editorCommand(env), file.path, withoutAgeKeys(env));
        if (code !== 0) throw new MytError(`${ref.label}: the editor exited with status ${code}; the file is unchanged`);
        const after = file.read();
        if (after === before) return 'unchanged';
        let text: string;
        try {
          const data = parseFile(after, format, ref.label);
          if (hasSopsMetadata(data)) throw new MytError(`${ref.label}: the edited text has a top-level 'sops' key, which is reserved`);
          const unauthenticated = unauthenticatedValue(data);
          if (unauthenticated) throw new MytError(`${ref.label}: ${unauthenticated}, which SOPS leaves out of the MAC: give it a value or remove it`);
          registerLeaves(toPlain(data), isPublicField);
          text = opened ? await reencrypt(opened, data, ref.label, opts.now) : await encryptForRepo(root, repoPath!, data, format, opts.now);
        } catch (err) {
          if (!(err instanceof MytError)) throw err;
          // The edited text stays in the copy: reopening shows it again, to be fixed.
          if (!(await opts.reopen?.(err.message))) throw new MytError(`${err.message}; the file is unchanged`);
          continue;
        }
        await mkdir(dirname(ref.absolute), { recursive: true });
        await writeEncrypted(ref.absolute, text);
        return opened ? 'changed' : 'created';
      }
    },
    opts.shm ?? DEFAULT_SHM,
  );
}

/**
 * An edit keeps the file's recipients, as `sops edit` does: say when they are not the ones
 * `.sops.yaml` names, and refuse to re-encrypt to the public demo key unless allowed.
 */
async function checkEditedRecipients(root: string, ref: FileRef, recipients: readonly string[], opts: EditOptions): Promise<void> {
  const rule = ref.repoPath === undefined ? undefined : await matchingRule(root, ref.repoPath);
  const problem = rule && recipientsProblem(ref.label, recipients, rule);
  if (recipients.includes(DEMO_RECIPIENT) && !opts.allowDemoKey) {
    if (problem) throw new MytError(`${ref.label}: ${problem}`);
    refuseDemoKey(ref.label, recipients, false);
  }
  if (problem) opts.warn?.(`warning: ${ref.label}: ${problem}; this edit keeps the file's recipients\n`);
}

export interface InitResult {
  readonly recipient: string;
  readonly keyFile: string;
  /** Whether `.sops.yaml` was written (false when one was there already). */
  readonly wroteConfig: boolean;
  /** Whether the existing `.sops.yaml` named the demo recipient, now replaced by the new one. */
  readonly replacedDemo: boolean;
  /** The recipients the `.sops.yaml` rule for secrets/ names, after init. */
  readonly ruleRecipients: readonly string[];
  /**
   * Which key of the keys file GitHub needs (SOPS_AGE_KEY): the first one whose recipient the rule
   * names, by its place among the file's key lines (1-based); undefined when the file holds none.
   */
  readonly keyForGitHub?: { readonly recipient: string; readonly line: number };
}

/** Age recipients a `.sops.yaml` names anywhere (public keys: safe to read with a pattern). */
function recipientsIn(config: string): string[] {
  return [...new Set(config.match(/\bage1[02-9ac-hj-np-z]{58}\b/g) ?? [])];
}

export interface InitOptions {
  /** Where to append the private key; default: the keys file sops reads. */
  readonly keyFile?: string;
  /** Make a key even though `.sops.yaml` already names one of the repository's own. */
  readonly force?: boolean;
  readonly now?: Date;
}

/**
 * `myt secrets init`: a new age key pair. The private key is appended to the keys file sops reads
 * (0600), never to the repository; `.sops.yaml` gets a rule for secrets/ unless it exists, and the
 * public demo recipient is replaced. A repository whose `.sops.yaml` names a key of its own has
 * one already: a second key would decrypt nothing, so that needs `force`.
 */
export async function initSecrets(root: string, env: NodeJS.ProcessEnv, opts: InitOptions = {}): Promise<InitResult> {
  const target = opts.keyFile ?? defaultKeysFile(env);
  if (target === undefined) throw new MytError('cannot tell where to keep the private key (HOME is not set): pass --key-file PATH');
  if (isInsideRepository(root, target)) {
    throw new MytError(`${target} is inside the repository: keep the private key outside it (pass --key-file with a path elsewhere)`);
  }
  const configPath = join(root, SOPS_CONFIG);
  const own = existsSync(configPath) ? recipientsIn(await readFile(configPath, 'utf8')).filter((r) => r !== DEMO_RECIPIENT) : [];
  if (own.length > 0 && !opts.force) {
    throw new MytError(
      `${SOPS_CONFIG} already encrypts to ${own.join(', ')}: this repository has its key, and a new one would decrypt nothing. ` +
        `To let another person or machine in, add their recipient to ${SOPS_CONFIG} and run 'myt secrets updatekeys'; pass --force to make a new key anyway`,
    );
  }
  const now = opts.now ?? new Date();
  const pair = await generateAgeKeyPair();
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await appendFile(target, keysFileText(pair, now), { mode: 0o600 });
  const config = join(root, SOPS_CONFIG);
  const wroteConfig = !existsSync(config);
  if (wroteConfig) await writeFile(config, sopsConfigText([pair.recipient]));
  // A repository started from the examples encrypts to the public demo key: the new key takes its place.
  const existing = wroteConfig ? '' : await readFile(config, 'utf8');
  const replacedDemo = existing.includes(DEMO_RECIPIENT);
  if (replacedDemo) await writeFile(config, existing.split(DEMO_RECIPIENT).join(pair.recipient));
  const ruleRecipients = (await matchingRule(root, 'secrets/example.enc.yaml').catch(() => undefined))?.recipients ?? [];
  return { recipient: pair.recipient, keyFile: target, wroteConfig, replacedDemo, ruleRecipients, keyForGitHub: await keyFor(target, ruleRecipients) };
}

/** The first key of a keys file whose recipient is one of `recipients`, by its place among the file's key lines. */
async function keyFor(keysFile: string, recipients: readonly string[]): Promise<InitResult['keyForGitHub']> {
  const identities = parseIdentities(await readFile(keysFile, 'utf8'));
  for (const [i, identity] of identities.entries()) {
    const recipient = await recipientOf(identity);
    if (recipients.includes(recipient)) return { recipient, line: i + 1 };
  }
  return undefined;
}


export const KEY_NAME = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;

/**
 * `myt keys generate NAME`: two ed25519 key pairs made in memory and written straight into a SOPS
 * file: the VM's login key and its SSH host key (installed by cloud-init, so the first connection
 * can verify the VM).
 */
export async function generateKeys(
  root: string,
  name: string,
  force: boolean,
  opts: DemoKeyOption & { readonly now?: Date } = {},
): Promise<{ file: string; publicKey: string; hostPublicKey: string }> {
  const file = keyFileOf(name);
  if (!force && existsSync(join(root, file))) {
    throw new MytError(`${file} exists already: a new key would lock MyT out of a VM that trusts the old one. Pass --force to replace it`);
  }
  await checkNewRecipients(root, file, file, opts);
  const login = generateSshKeyPair(`myt-${name}`);
  const host = generateSshKeyPair(`myt-${name}-host`);
  await writeNewSecrets(root, file, { privateKey: login.privateKey, publicKey: login.publicKey, hostPrivateKey: host.privateKey, hostPublicKey: host.publicKey }, opts.now);
  return { file, publicKey: login.publicKey, hostPublicKey: host.publicKey };
}

/**
 * `myt keys generate NAME --add-host-key`: gives a key file made before host keys existed its host
 * key pair, keeping the login key (a VM trusts it) and the file's data key and recipients.
 */
export async function addHostKey(root: string, name: string, opts: StoreOptions & { now?: Date } = {}): Promise<{ file: string; hostPublicKey: string }> {
  const file = keyFileOf(name);
  const path = join(root, ...file.split('/'));
  if (!existsSync(path)) throw new MytError(`${file} does not exist: make the key pairs with 'myt keys generate ${name}'`);
  const opened = await openSopsFile(path, file, opts);
  const data = toPlain(opened.data) as Record<string, unknown>;
  registerLeaves(data, isPublicField);
  if (data.hostPrivateKey !== undefined || data.hostPublicKey !== undefined) {
    throw new MytError(`${file} has a host key already; 'myt keys generate ${name} --force' replaces both pairs`);
  }
  const host = generateSshKeyPair(`myt-${name}-host`);
  const next = fromPlain({ ...data, hostPrivateKey: host.privateKey, hostPublicKey: host.publicKey }) as MapTree;
  registerLeaves(toPlain(next), isPublicField);
  await writeEncrypted(path, await reencrypt(opened, next, file, opts.now));
  return { file, hostPublicKey: host.publicKey };
}

function keyFileOf(name: string): string {
  if (!KEY_NAME.test(name)) throw new MytError(`'${name}' is not a valid name: lowercase letters, digits and '-', starting with a letter (a platform's name)`);
  return platformKeyFile(name);
}
