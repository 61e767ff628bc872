import { createHash, randomBytes } from 'node:crypto';
import { unwrapDataKey, wrapDataKey } from './age-keys.js';
import { CipherError, decryptLeaf, encryptLeaf, isEncrypted, leafBytes, type ScalarLeaf } from './sops-cipher.js';
import { entry, toPlain, type MapTree, type Tree } from './sops-tree.js';

/**
 * SOPS documents: the `sops` metadata block, the data key wrapped for age recipients, values
 * encrypted one by one, and the MAC over the plaintext values in document order (SHA-512, upper-
 * case hex, encrypted with the data key and the lastmodified time as additional data).
 */

/** The sops version whose file layout this module writes. */
export const SOPS_FORMAT_VERSION = '3.9.4';
export const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted';
/** sops' fixed prefix for a MAC over encrypted values only (sha256("sops")). */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex');

/** Which values stay plaintext: at most one of these, as in sops and `.sops.yaml` creation rules. */
export interface CryptRules {
  readonly unencryptedSuffix?: string;
  readonly encryptedSuffix?: string;
  readonly unencryptedRegex?: string;
  readonly encryptedRegex?: string;
  readonly macOnlyEncrypted?: boolean;
}

export interface AgeStanza {
  readonly recipient: string;
  readonly enc: string;
}

export interface SopsMetadata {
  readonly age: readonly AgeStanza[];
  readonly lastmodified: string;
  readonly mac: string;
  readonly version: string;
  readonly rules: CryptRules;
  /** Key services other than age that also wrap the data key, by their names for people. */
  readonly otherWrappers: readonly string[];
  /** Why MyT's own reader cannot open the file at all (sops can), if it cannot. */
  readonly unsupported?: string;
}

export type SopsFailure = 'not-sops' | 'bad-metadata' | 'no-matching-key' | 'not-age' | 'tampered' | 'unsupported';

/** A reason a document cannot be opened; messages name key paths and recipients, never values. */
export class SopsError extends Error {
  constructor(
    readonly reason: SopsFailure,
    message: string,
  ) {
    super(message);
  }
}

const OTHER_WRAPPERS: readonly (readonly [string, string])[] = [
  ['kms', 'AWS KMS'],
  ['gcp_kms', 'GCP KMS'],
  ['azure_kv', 'Azure Key Vault'],
  ['hc_vault', 'HashiCorp Vault'],
  ['pgp', 'PGP'],
];

/** Whether a parsed document carries sops metadata at its top level. */
export function hasSopsMetadata(doc: MapTree): boolean {
  return entry(doc, 'sops')?.kind === 'map';
}

/** Reads and checks the `sops` block. */
export function readMetadata(doc: MapTree): SopsMetadata {
  const node = entry(doc, 'sops');
  if (node === undefined) throw new SopsError('not-sops', "it is not a SOPS file (there is no 'sops' metadata block)");
  if (node.kind !== 'map') throw new SopsError('bad-metadata', "its 'sops' metadata block is not a mapping");
  const meta = toPlain(node) as Record<string, unknown>;
  const text = (key: string): string | undefined => (typeof meta[key] === 'string' ? meta[key] : undefined);
  let groups: Record<string, unknown>[] = [meta];
  let unsupported: string | undefined;
  if (Array.isArray(meta.key_groups) && meta.key_groups.length > 0) {
    groups = meta.key_groups.filter((g): g is Record<string, unknown> => g !== null && typeof g === 'object');
    if (groups.length > 1) unsupported = `its data key is split over ${groups.length} key groups (Shamir secret sharing)`;
  }
  const age: AgeStanza[] = [];
  const others = new Set<string>();
  for (const group of groups) {
    for (const item of Array.isArray(group.age) ? (group.age as unknown[]) : []) {
      const a = item as Record<string, unknown> | null;
      if (a && typeof a.recipient === 'string' && typeof a.enc === 'string') age.push({ recipient: a.recipient, enc: a.enc });
      else throw new SopsError('bad-metadata', "an entry of 'sops.age' lacks its recipient or enc");
    }
    for (const [key, name] of OTHER_WRAPPERS) if (Array.isArray(group[key]) && group[key].length > 0) others.add(name);
  }
  const lastmodified = text('lastmodified');
  const mac = text('mac');
  if (lastmodified === undefined) throw new SopsError('bad-metadata', "its 'sops.lastmodified' is missing");
  if (mac === undefined || mac === '') throw new SopsError('bad-metadata', "its 'sops.mac' is missing: refusing a file whose integrity cannot be checked");
  if (age.length === 0 && others.size === 0) throw new SopsError('bad-metadata', 'it lists no key that wraps its data key');
  const rules: CryptRules = {
    unencryptedSuffix: text('unencrypted_suffix'),
    encryptedSuffix: text('encrypted_suffix'),
    unencryptedRegex: text('unencrypted_regex'),
    encryptedRegex: text('encrypted_regex'),
    macOnlyEncrypted: meta.mac_only_encrypted === true,
  };
  const ruleCount = [rules.unencryptedSuffix, rules.encryptedSuffix, rules.unencryptedRegex, rules.encryptedRegex].filter((r) => r).length;
  if (ruleCount > 1) throw new SopsError('bad-metadata', 'it sets more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex');
  if (text('encrypted_comment_regex') || text('unencrypted_comment_regex')) unsupported ??= 'it chooses encrypted values by comments (encrypted_comment_regex)';
  return {
    age,
    lastmodified,
    mac,
    version: text('version') ?? '',
    rules: ruleCount === 0 ? { ...rules, unencryptedSuffix: DEFAULT_UNENCRYPTED_SUFFIX } : rules,
    otherWrappers: [...others],
    unsupported,
  };
}

/** Go's regexp syntax, mostly: a leading (?i) becomes JavaScript's i flag. */
function goRegex(source: string): RegExp {
  const m = /^\(\?([imsU]+)\)/.exec(source);
  const flags = m?.[1]?.replace(/[^ims]/g, '') ?? '';
  return new RegExp(m ? source.slice(m[0].length) : source, `u${flags}`);
}

/** sops' shouldBeEncrypted for a value's path of map keys. */
export function shouldEncrypt(path: readonly string[], rules: CryptRules): boolean {
  let encrypted = true;
  if (rules.unencryptedSuffix && path.some((k) => k.endsWith(rules.unencryptedSuffix!))) encrypted = false;
  if (rules.encryptedSuffix) encrypted = path.some((k) => k.endsWith(rules.encryptedSuffix!));
  if (rules.unencryptedRegex) {
    const re = goRegex(rules.unencryptedRegex);
    if (path.some((k) => re.test(k))) encrypted = false;
  }
  if (rules.encryptedRegex) {
    const re = goRegex(rules.encryptedRegex);
    encrypted = path.some((k) => re.test(k));
  }
  return encrypted;
}

/** The additional data sops binds a value to: its map keys joined by ':' (list items add none). */
function aadOf(path: readonly string[]): string {
  return `${path.join(':')}:`;
}

/**
 * sops formats lastmodified with Go's time.RFC3339 before using it as additional data: whole
 * seconds, and 'Z' for a zero offset.
 */
export function macAad(lastmodified: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(lastmodified.trim());
  if (!m) throw new SopsError('bad-metadata', `its 'sops.lastmodified' is not an RFC 3339 time`);
  const zone = m[2] === '+00:00' || m[2] === '-00:00' ? 'Z' : m[2];
  return `${m[1]}${zone}`;
}

type LeafFn = (leaf: Tree, path: readonly string[]) => Tree;

function mapLeaves(tree: Tree, path: readonly string[], fn: LeafFn): Tree {
  switch (tree.kind) {
    case 'map':
      return { kind: 'map', entries: tree.entries.map(([k, v]) => [k, mapLeaves(v, [...path, k], fn)] as const) };
    case 'list':
      return { kind: 'list', items: tree.items.map((item) => mapLeaves(item, path, fn)) };
    case 'null':
      return tree; // sops neither encrypts nor hashes null
    default:
      return fn(tree, path);
  }
}

function pathName(path: readonly string[]): string {
  return path.length ? path.join('.') : '(top level)';
}

/**
 * Where a document holds something its MAC cannot cover, if anywhere: sops hashes nothing for an
 * empty string, a null, or an empty map or list, so one added by someone without the key could not
 * be told from one written with it. MyT neither writes nor accepts them.
 */
export function unauthenticatedValue(tree: Tree, path: readonly string[] = []): string | undefined {
  switch (tree.kind) {
    case 'map':
      if (tree.entries.length === 0) return `the value at ${pathName(path)} is an empty mapping`;
      for (const [k, v] of tree.entries) {
        if (path.length === 0 && k === 'sops') continue;
        const found = unauthenticatedValue(v, [...path, k]);
        if (found) return found;
      }
      return undefined;
    case 'list':
      if (tree.items.length === 0) return `the value at ${pathName(path)} is an empty list`;
      for (const item of tree.items) {
        const found = unauthenticatedValue(item, path);
        if (found) return found;
      }
      return undefined;
    case 'null':
      return `the value at ${pathName(path)} is null`;
    case 'str':
      return tree.value === '' ? `the value at ${pathName(path)} is an empty string` : undefined;
    default:
      return undefined;
  }
}

const NOT_COVERED = 'which SOPS leaves out of the MAC';

/** Decrypts the data values of a document (the `sops` block removed) and checks its MAC. */
export function decryptData(doc: MapTree, meta: SopsMetadata, dataKey: Uint8Array): MapTree {
  const unauthenticated = unauthenticatedValue(doc);
  if (unauthenticated) {
    throw new SopsError('tampered', `${unauthenticated}, ${NOT_COVERED}: nobody can tell whether it was added without the key, so the file is refused (give it a value or remove it)`);
  }
  const hash = createHash('sha512');
  if (meta.rules.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const data: MapTree = { kind: 'map', entries: doc.entries.filter(([k]) => k !== 'sops') };
  const out = mapLeaves(data, [], (leaf, path) => {
    const encrypted = shouldEncrypt(path, meta.rules);
    let plain: ScalarLeaf;
    if (encrypted) {
      if (leaf.kind !== 'str') throw new SopsError('tampered', `the value at ${pathName(path)} should be encrypted but is plain ${leaf.kind}: the file was altered`);
      if (leaf.value !== '' && !isEncrypted(leaf.value)) throw new SopsError('tampered', `the value at ${pathName(path)} should be encrypted but is plain text: the file was altered`);
      let result: ScalarLeaf | undefined;
      try {
        result = decryptLeaf(leaf.value, dataKey, aadOf(path));
      } catch (err) {
        const why = err instanceof CipherError ? err.message : 'it does not decrypt';
        throw new SopsError('tampered', `the value at ${pathName(path)} fails to decrypt (${why}): the file was altered, or its data key is not the one it was encrypted with`);
      }
      if (result === undefined) return { kind: 'null' };
      plain = result;
    } else {
      plain = leaf as ScalarLeaf;
    }
    if (!meta.rules.macOnlyEncrypted || encrypted) hash.update(leafBytes(plain));
    return plain;
  }) as MapTree;
  const computed = hash.digest('hex').toUpperCase();
  let stored: ScalarLeaf | undefined;
  try {
    stored = decryptLeaf(meta.mac, dataKey, macAad(meta.lastmodified));
  } catch (err) {
    if (err instanceof SopsError) throw err;
    throw new SopsError('tampered', "its MAC ('sops.mac') fails to decrypt: the MAC or lastmodified was altered");
  }
  if (stored?.kind !== 'str' || stored.value !== computed) {
    throw new SopsError('tampered', 'its MAC does not match its values: the file was altered after it was encrypted (edit secrets with `myt secrets edit`, not by hand)');
  }
  return out;
}

/** Unwraps the data key with any of the identities, or says which recipients the file needs. */
export async function unwrapWithAge(meta: SopsMetadata, identities: readonly string[], ours: readonly string[]): Promise<Uint8Array> {
  if (meta.age.length === 0) {
    throw new SopsError('not-age', `its data key is wrapped by ${meta.otherWrappers.join(', ')}, not age`);
  }
  // Try the stanzas made for our own recipients first; fall back to all (a renamed recipient line).
  const mine = meta.age.filter((s) => ours.includes(s.recipient));
  for (const stanza of [...mine, ...meta.age.filter((s) => !mine.includes(s))]) {
    const key = await unwrapDataKey(stanza.enc, identities);
    if (key !== undefined) {
      if (key.length !== 32) throw new SopsError('tampered', 'its data key is not 32 bytes long');
      return key;
    }
  }
  const wanted = meta.age.map((s) => s.recipient).join(', ');
  throw new SopsError(
    meta.otherWrappers.length ? 'not-age' : 'no-matching-key',
    `it is encrypted for the age recipient${meta.age.length > 1 ? 's' : ''} ${wanted}; the available key${ours.length === 1 ? ' is' : 's are'} for ${ours.join(', ') || 'nothing'}`,
  );
}

export interface EncryptOptions {
  readonly recipients: readonly string[];
  readonly rules?: CryptRules;
  readonly now?: Date;
  /** Re-encrypting a file opened for editing keeps its data key and wrapped keys, as `sops edit` does. */
  readonly reuse?: { readonly dataKey: Uint8Array; readonly age: readonly AgeStanza[] };
}

/** Encrypts plaintext data into a whole SOPS document, `sops` metadata block last. */
export async function encryptData(data: MapTree, opts: EncryptOptions): Promise<MapTree> {
  if (entry(data, 'sops') !== undefined) throw new SopsError('unsupported', "it already has a top-level 'sops' key: it is encrypted already");
  const unauthenticated = unauthenticatedValue(data);
  if (unauthenticated) throw new SopsError('unsupported', `${unauthenticated}, ${NOT_COVERED}: give it a value or remove it`);
  const rules = opts.rules && Object.values(opts.rules).some((r) => typeof r === 'string' && r) ? opts.rules : { ...opts.rules, unencryptedSuffix: DEFAULT_UNENCRYPTED_SUFFIX };
  const dataKey = opts.reuse?.dataKey ?? randomBytes(32);
  const hash = createHash('sha512');
  if (rules.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const encrypted = mapLeaves(data, [], (leaf, path) => {
    const plain = leaf as ScalarLeaf;
    const enc = shouldEncrypt(path, rules);
    if (!rules.macOnlyEncrypted || enc) hash.update(leafBytes(plain));
    return enc ? { kind: 'str', value: encryptLeaf(plain, dataKey, aadOf(path)) } : plain;
  }) as MapTree;
  const lastmodified = (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const mac = encryptLeaf({ kind: 'str', value: hash.digest('hex').toUpperCase() }, dataKey, lastmodified);
  const age = opts.reuse?.age ?? (await Promise.all(opts.recipients.map(async (recipient) => ({ recipient, enc: await wrapDataKey(dataKey, recipient) }))));
  if (age.length === 0) throw new SopsError('unsupported', 'no age recipient to encrypt for');
  const str = (value: string): Tree => ({ kind: 'str', value });
  const meta: [string, Tree][] = [
    ['age', ageTree(age)],
    ['lastmodified', str(lastmodified)],
    ['mac', str(mac)],
  ];
  if (rules.unencryptedSuffix) meta.push(['unencrypted_suffix', str(rules.unencryptedSuffix)]);
  if (rules.encryptedSuffix) meta.push(['encrypted_suffix', str(rules.encryptedSuffix)]);
  if (rules.unencryptedRegex) meta.push(['unencrypted_regex', str(rules.unencryptedRegex)]);
  if (rules.encryptedRegex) meta.push(['encrypted_regex', str(rules.encryptedRegex)]);
  if (rules.macOnlyEncrypted) meta.push(['mac_only_encrypted', { kind: 'bool', value: true }]);
  meta.push(['version', str(SOPS_FORMAT_VERSION)]);
  return { kind: 'map', entries: [...encrypted.entries, ['sops', { kind: 'map', entries: meta }]] };
}

function ageTree(age: readonly AgeStanza[]): Tree {
  const str = (value: string): Tree => ({ kind: 'str', value });
  return { kind: 'list', items: age.map((a) => ({ kind: 'map', entries: [['recipient', str(a.recipient)], ['enc', str(a.enc)]] })) };
}

/**
 * The encrypted document with its data key wrapped for other age recipients, as `sops updatekeys`
 * does: values, lastmodified and MAC are left as they are, so the MAC stays valid.
 */
export function withAgeStanzas(doc: MapTree, age: readonly AgeStanza[]): MapTree {
  const sops = entry(doc, 'sops');
  if (sops?.kind !== 'map') throw new SopsError('not-sops', "it is not a SOPS file (there is no 'sops' metadata block)");
  const entries = sops.entries.map(([k, v]) => [k, k === 'age' ? ageTree(age) : v] as const);
  const updated: MapTree = { kind: 'map', entries: entries.some(([k]) => k === 'age') ? entries : [['age', ageTree(age)], ...entries] };
  return { kind: 'map', entries: doc.entries.map(([k, v]) => [k, k === 'sops' ? updated : v] as const) };
}
