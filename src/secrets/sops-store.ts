import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MAX_FILE_BYTES } from '../config/yaml-source.js';
import { MytError } from '../errors.js';
import { findAgeIdentities, recipientOf, type AgeIdentities } from './age-keys.js';
import { realSopsBinary, type SopsBinary } from './sops-binary.js';
import { creationRuleFor, matchingRule, SOPS_CONFIG } from './sops-config.js';
import { DEFAULT_UNENCRYPTED_SUFFIX, decryptData, encryptData, hasSopsMetadata, readMetadata, SopsError, unwrapWithAge, type AgeStanza, type CryptRules, type SopsMetadata } from './sops-file.js';
import { emitTree, formatOf, fromPlain, parseTree, TreeSyntaxError, type MapTree, type SopsFormat } from './sops-tree.js';

/**
 * Files on disk: opening a SOPS file into memory (with MyT's own age reader, or the sops program
 * for other key services) and writing encrypted files. Plaintext only ever exists in memory here.
 */

export interface StoreOptions {
  /** The repository the file belongs to and its path there: its `.sops.yaml` rule vouches for plaintext rules. */
  readonly repository?: { readonly root: string; readonly path: string | undefined };
  readonly env?: NodeJS.ProcessEnv;
  readonly sops?: SopsBinary;
  /** Already-found identities, so a command that opens many files searches once. */
  readonly identities?: AgeIdentities;
}

/** A decrypted file held in memory. */
export interface OpenedFile {
  readonly format: SopsFormat;
  readonly data: MapTree;
  /** Present when MyT's own reader opened it: what re-encrypting after an edit keeps, and the encrypted document. */
  readonly reuse?: { readonly dataKey: Uint8Array; readonly age: readonly AgeStanza[]; readonly meta: SopsMetadata; readonly doc: MapTree };
}

export function formatFor(label: string): SopsFormat {
  const format = formatOf(label);
  if (format === undefined) throw new MytError(`${label}: MyT reads and writes SOPS files in YAML (.yaml, .yml) or JSON (.json) only`);
  return format;
}

export async function readText(path: string, label: string): Promise<string> {
  try {
    // Secrets files are small; a huge one is a mistake or an attack, refused before it is read.
    if ((await stat(path)).size > MAX_FILE_BYTES) throw new MytError(`${label}: larger than 1 MiB, which no secrets file needs`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof MytError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new MytError(code === 'ENOENT' ? `${label}: no such file` : `${label}: cannot be read (${code ?? 'error'})`);
  }
}

export function parseFile(text: string, format: SopsFormat, label: string): MapTree {
  try {
    return parseTree(text, format);
  } catch (err) {
    if (err instanceof TreeSyntaxError) throw new MytError(`${label}: ${err.message}`);
    throw err;
  }
}

function noKeyMessage(label: string, ids: AgeIdentities): string {
  return (
    `${label}: no age private key to decrypt it with: set SOPS_AGE_KEY to the key (in GitHub Actions, the SOPS_AGE_KEY ` +
    `repository secret), or SOPS_AGE_KEY_FILE to a file holding it, or put it in ${ids.searched[ids.searched.length - 1] ?? '~/.config/sops/age/keys.txt'}`
  );
}

/** Opens an encrypted file into memory. Every failure is a MytError naming the file. */
export async function openSopsFile(path: string, label: string, opts: StoreOptions = {}): Promise<OpenedFile> {
  const env = opts.env ?? process.env;
  const format = formatFor(label);
  const doc = parseFile(await readText(path, label), format, label);
  let meta: SopsMetadata;
  try {
    meta = readMetadata(doc);
  } catch (err) {
    if (err instanceof SopsError) throw new MytError(`${label}: ${err.message}${err.reason === 'not-sops' ? ` (encrypt it with 'myt secrets encrypt ${label}')` : ''}`);
    throw err;
  }
  if (meta.unsupported !== undefined) return viaSopsBinary(path, label, format, meta.unsupported, env, opts.sops);
  if (meta.rules.macOnlyEncrypted) await requireRuleForMacOnly(label, meta, opts.repository);
  let ids: AgeIdentities;
  try {
    ids = opts.identities ?? (await findAgeIdentities(env));
  } catch (err) {
    throw err instanceof MytError ? new MytError(`${label}: ${err.message}`) : err;
  }
  if (ids.identities.length === 0 && meta.age.length > 0) throw new MytError(noKeyMessage(label, ids));
  try {
    const ours = await Promise.all(ids.identities.map(recipientOf));
    const dataKey = await unwrapWithAge(meta, ids.identities, ours);
    return { format, data: decryptData(doc, meta, dataKey), reuse: { dataKey, age: meta.age, meta, doc } };
  } catch (err) {
    if (err instanceof SopsError && err.reason === 'not-age') return viaSopsBinary(path, label, format, err.message, env, opts.sops);
    if (err instanceof SopsError) throw new MytError(`${label}: ${err.message}`);
    if (err instanceof MytError) throw new MytError(`${label}: ${err.message}`);
    throw err;
  }
}

/**
 * With mac_only_encrypted, values left in plain text are outside the MAC, and which ones are left
 * in plain text is said by the file's own metadata, which nothing authenticates: anyone could add
 * `users.evil_unencrypted: password`. So such a file is read only when the repository's
 * `.sops.yaml` rule for its path asks for exactly that.
 */
async function requireRuleForMacOnly(label: string, meta: SopsMetadata, repository: StoreOptions['repository']): Promise<void> {
  const rule = repository?.path === undefined ? undefined : await matchingRule(repository.root, repository.path);
  const plaintextRule = (r: CryptRules) => {
    const set = [r.unencryptedSuffix, r.encryptedSuffix, r.unencryptedRegex, r.encryptedRegex].some(Boolean);
    return JSON.stringify([set ? r.unencryptedSuffix : DEFAULT_UNENCRYPTED_SUFFIX, r.encryptedSuffix, r.unencryptedRegex, r.encryptedRegex]);
  };
  if (rule?.rules.macOnlyEncrypted && plaintextRule(rule.rules) === plaintextRule(meta.rules)) return;
  throw new MytError(
    `${label}: its metadata sets mac_only_encrypted, so the values it leaves in plain text are not covered by the MAC and anyone could add one; ` +
      `${rule ? `the ${SOPS_CONFIG} rule for it does not ask for that (with the same plain-text rule)` : `no ${SOPS_CONFIG} rule of the repository vouches for it`}, so it is refused`,
  );
}

async function viaSopsBinary(path: string, label: string, format: SopsFormat, why: string, env: NodeJS.ProcessEnv, binary: SopsBinary = realSopsBinary): Promise<OpenedFile> {
  const sops = binary.find(env);
  if (sops === undefined) {
    throw new MytError(`${label}: ${why}, which MyT's own reader does not open, and no 'sops' program is on PATH: install sops, or re-encrypt the file to an age recipient (sops updatekeys)`);
  }
  let out: string;
  try {
    out = await binary.decrypt(sops, path, env);
  } catch (err) {
    throw new MytError(`${label}: ${why}; handed to ${sops}, which failed: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(out);
  } catch {
    throw new MytError(`${label}: ${sops} did not print JSON when asked to decrypt it`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new MytError(`${label}: ${sops} printed something other than a mapping`);
  return { format, data: fromPlain(data) as MapTree };
}

/** Writes a file's new content atomically (a sibling temporary file, then rename): ciphertext only. */
export async function writeEncrypted(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
}

/** Encrypts in-memory data to the recipients `.sops.yaml` names for the file, returning the file text. */
export async function encryptForRepo(root: string, repoPath: string, data: MapTree, format: SopsFormat, now?: Date): Promise<string> {
  return (await encryptForRepoWithRule(root, repoPath, data, format, now)).text;
}

/** As encryptForRepo, also saying how many recipients the matching rule named. */
export async function encryptForRepoWithRule(root: string, repoPath: string, data: MapTree, format: SopsFormat, now?: Date): Promise<{ text: string; recipients: number }> {
  const rule = await creationRuleFor(root, repoPath);
  try {
    return { text: emitTree(await encryptData(data, { recipients: rule.recipients, rules: rule.rules, now }), format), recipients: rule.recipients.length };
  } catch (err) {
    if (err instanceof SopsError || err instanceof TreeSyntaxError) throw new MytError(`${repoPath}: ${err.message}`);
    throw err;
  }
}

/** Re-encrypts edited data with the file's own data key and recipients, as `sops edit` does. */
export async function reencrypt(opened: OpenedFile, data: MapTree, label: string, now?: Date): Promise<string> {
  if (!opened.reuse) throw new MytError(`${label}: it was opened by the sops program; edit it with 'sops edit'`);
  try {
    return emitTree(await encryptData(data, { recipients: [], reuse: opened.reuse, rules: opened.reuse.meta.rules, now }), opened.format);
  } catch (err) {
    if (err instanceof SopsError || err instanceof TreeSyntaxError) throw new MytError(`${label}: ${err.message}`);
    throw err;
  }
}

export { hasSopsMetadata };
