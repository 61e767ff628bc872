import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Leaf } from './sops-tree.js';

/**
 * sops' value cipher: AES-256-GCM with a 32-byte random IV and a 16-byte tag, the value's path as
 * additional data, written `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`. Node's crypto does the AES.
 */

export const ENC_PREFIX = 'ENC[AES256_GCM,';
const ENC = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$/;
const IV_BYTES = 32;
const TAG_BYTES = 16;

export type ScalarLeaf = Exclude<Leaf, { kind: 'null' }>;

/** Thrown when a value or the MAC fails to decrypt; its message never holds the value. */
export class CipherError extends Error {}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-tripping digits, never an exponent. */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Object.is(n, -0)) return '-0';
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign = '', first = '', frac = '', expText = '0'] = m;
  const exp = Number(expText);
  const digits = first + frac;
  return exp >= 0 ? sign + digits + '0'.repeat(exp - frac.length) : `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

function parseGoFloat(text: string): number {
  if (text === '+Inf' || text === 'Inf' || text === '+inf' || text === 'inf') return Infinity;
  if (text === '-Inf' || text === '-inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  if (text.trim() === '' || Number.isNaN(n)) throw new CipherError('a float value does not parse');
  return n;
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** The bytes sops hashes for the MAC and encrypts for a scalar (bools title-cased, as sops does). */
export function leafBytes(leaf: ScalarLeaf): Buffer {
  switch (leaf.kind) {
    case 'str':
      return Buffer.from(leaf.value, 'utf8');
    case 'int':
      return Buffer.from(String(leaf.value));
    case 'float':
      return Buffer.from(goFloat(leaf.value));
    case 'bool':
      return Buffer.from(leaf.value ? 'True' : 'False');
  }
}

/** Encrypts one scalar; the empty string stays empty, as in sops. */
export function encryptLeaf(leaf: ScalarLeaf, key: Uint8Array, aad: string): string {
  if (leaf.kind === 'str' && leaf.value === '') return '';
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(leafBytes(leaf)), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${tag.toString('base64')},type:${leaf.kind}]`;
}

export function isEncrypted(value: string): boolean {
  return value.startsWith(ENC_PREFIX);
}

/**
 * Decrypts one `ENC[…]` value. Returns undefined for an encrypted comment (sops' type `comment`),
 * which carries no data. Throws CipherError when the value was altered or the key is wrong.
 */
export function decryptLeaf(text: string, key: Uint8Array, aad: string): ScalarLeaf | undefined {
  if (text === '') return { kind: 'str', value: '' };
  const m = ENC.exec(text);
  if (!m) throw new CipherError('a value is not in sops\' ENC[AES256_GCM,…] form');
  const [, data = '', ivText = '', tagText = '', type = ''] = m;
  const iv = Buffer.from(ivText, 'base64');
  const tag = Buffer.from(tagText, 'base64');
  if (iv.length === 0 || tag.length !== TAG_BYTES) throw new CipherError('a value has a malformed iv or tag');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]);
  } catch {
    throw new CipherError('authentication failed');
  }
  const value = plain.toString('utf8');
  switch (type) {
    // Newer sops encrypts a YAML timestamp as its RFC 3339 text, type `time`; its MAC bytes are that
    // same text, so reading it as a string keeps the MAC right.
    case 'str':
    case 'bytes':
    case 'time':
      return { kind: 'str', value };
    case 'int':
    case 'int64': {
      if (!/^[-+]?\d+$/.test(value)) throw new CipherError('an int value does not parse');
      const n = Number(value);
      if (!Number.isSafeInteger(n)) throw new CipherError('an int value is too large to keep exactly');
      return { kind: 'int', value: n };
    }
    case 'float':
      return { kind: 'float', value: parseGoFloat(value) };
    case 'bool':
      if (GO_TRUE.has(value)) return { kind: 'bool', value: true };
      if (GO_FALSE.has(value)) return { kind: 'bool', value: false };
      throw new CipherError('a bool value does not parse');
    case 'comment':
      return undefined;
    default:
      throw new CipherError(`unknown value type '${type}'`);
  }
}
