import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as age from 'age-encryption';
import { MytError } from '../errors.js';

/** The age private keys this process may use, and where they came from (named, never shown). */
export interface AgeIdentities {
  readonly identities: readonly string[];
  /** Human-readable names of the places searched that held keys, e.g. "SOPS_AGE_KEY". */
  readonly sources: readonly string[];
  /** Every place searched, for "no key found" messages. */
  readonly searched: readonly string[];
}

export type ReadText = (path: string) => Promise<string>;

const IDENTITY = /^AGE-SECRET-KEY-1[0-9A-Z]+$/;
const RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

export function isAgeRecipient(text: string): boolean {
  return RECIPIENT.test(text);
}

/** The age identities in a keys file's text: one per line, `#` comments and blank lines ignored. */
export function parseIdentities(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (IDENTITY.test(line)) out.push(line);
  }
  return out;
}

/** Where sops looks for the default keys file: $XDG_CONFIG_HOME/sops/age/keys.txt or ~/.config/…. */
export function defaultKeysFile(env: NodeJS.ProcessEnv): string | undefined {
  const config = env.XDG_CONFIG_HOME?.trim() || (env.HOME ? join(env.HOME, '.config') : undefined);
  return config === undefined ? undefined : join(config, 'sops', 'age', 'keys.txt');
}

/**
 * Finds age identities as sops does: the SOPS_AGE_KEY variable (the key text itself, possibly
 * several lines), the file named by SOPS_AGE_KEY_FILE, then the default keys.txt. Every source
 * found is used. A named file that cannot be read is an error; a missing default file is not.
 */
export async function findAgeIdentities(env: NodeJS.ProcessEnv, read: ReadText = (p) => readFile(p, 'utf8')): Promise<AgeIdentities> {
  const identities: string[] = [];
  const sources: string[] = [];
  const searched: string[] = ['SOPS_AGE_KEY'];
  const add = (found: string[], source: string) => {
    if (found.length === 0) return;
    sources.push(source);
    for (const id of found) if (!identities.includes(id)) identities.push(id);
  };
  if (env.SOPS_AGE_KEY?.trim()) {
    const found = parseIdentities(env.SOPS_AGE_KEY);
    if (found.length === 0) throw new MytError('SOPS_AGE_KEY is set but holds no age private key (a line starting AGE-SECRET-KEY-1)');
    add(found, 'SOPS_AGE_KEY');
  }
  const keyFile = env.SOPS_AGE_KEY_FILE?.trim();
  searched.push('SOPS_AGE_KEY_FILE');
  if (keyFile) {
    let text: string;
    try {
      text = await read(keyFile);
    } catch (err) {
      throw new MytError(`SOPS_AGE_KEY_FILE names ${keyFile}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
    const found = parseIdentities(text);
    // Named on purpose, so holding nothing is a mistake to report, not a file to pass over.
    if (found.length === 0) throw new MytError(`SOPS_AGE_KEY_FILE names ${keyFile}, which holds no age private key (a line starting AGE-SECRET-KEY-1)`);
    add(found, `SOPS_AGE_KEY_FILE (${keyFile})`);
  }
  const fallback = defaultKeysFile(env);
  if (fallback !== undefined) {
    searched.push(fallback);
    try {
      add(parseIdentities(await read(fallback)), fallback);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new MytError(`the age keys file ${fallback} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      }
    }
  }
  return { identities, sources, searched };
}

/** The variables that hold an age private key or say where one is (sops reads all of them). */
const KEY_VARIABLES = ['SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_CMD', 'SOPS_AGE_SSH_PRIVATE_KEY_FILE'];

/** An environment for a child process that has no business with the age key (an editor, npm). */
export function withoutAgeKeys(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !KEY_VARIABLES.includes(name)));
}

/** The public recipient (age1…) of an identity. */
export async function recipientOf(identity: string): Promise<string> {
  try {
    return await age.identityToRecipient(identity);
  } catch {
    throw new MytError('an age private key is malformed (it should be one line starting AGE-SECRET-KEY-1)');
  }
}

export interface AgeKeyPair {
  readonly identity: string;
  readonly recipient: string;
}

/** A new X25519 age key pair (the kind `age-keygen` makes and sops reads). */
export async function generateAgeKeyPair(): Promise<AgeKeyPair> {
  const identity = await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}

/** The text of a keys file as `age-keygen` writes it. */
export function keysFileText(pair: AgeKeyPair, created: Date): string {
  return `# created: ${created.toISOString().replace(/\.\d{3}Z$/, 'Z')}\n# public key: ${pair.recipient}\n${pair.identity}\n`;
}

/** Wraps a data key for age recipients: an armored age file, as sops stores in `sops.age[].enc`. */
export async function wrapDataKey(dataKey: Uint8Array, recipient: string): Promise<string> {
  const e = new age.Encrypter();
  e.addRecipient(recipient);
  return age.armor.encode(await e.encrypt(dataKey));
}

/** Unwraps a data key with any of the identities; undefined when none of them is a recipient. */
export async function unwrapDataKey(armored: string, identities: readonly string[]): Promise<Uint8Array | undefined> {
  let file: Uint8Array;
  try {
    file = age.armor.decode(armored.replace(/\\n/g, '\n'));
  } catch {
    throw new MytError('an age-wrapped data key is not a valid armored age file');
  }
  for (const identity of identities) {
    const d = new age.Decrypter();
    d.addIdentity(identity);
    try {
      return await d.decrypt(file, 'uint8array');
    } catch {
      // Not this identity's stanza (or a corrupted one): try the next key.
    }
  }
  return undefined;
}
