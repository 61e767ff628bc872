import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Declared, Platform } from '../config/repository.js';
import { MytError } from '../errors.js';
import { platformKeyFile } from '../config/key-file.js';
import type { PlatformKeys } from './cloud-init.js';
import { secretField, type SecretsReader } from './secrets-reader.js';

/** One OpenSSH public key line: type, base64 body, optional comment (no line breaks). */
const OPENSSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,3})(?: [^\r\n]*)?$/;

/**
 * The type and base64 body of an OpenSSH public key line, without its comment (which could hold
 * any character), or undefined when the line is not one.
 */
export function openSshKeyBody(line: string): string | undefined {
  const match = OPENSSH_PUBLIC_KEY.exec(line.trim());
  return match ? `${match[1]} ${match[2]}` : undefined;
}

/** A platform's public keys, and a notice when its key file predates host keys. */
export interface ReadPlatformKeys {
  readonly keys: ReadonlyMap<string, PlatformKeys>;
  readonly notices: readonly string[];
}

/**
 * Reads the public keys of each platform from its key file (made by `myt keys generate`): the login
 * key and, when the file has one, the VM's host key. Only public halves are kept: they go into the
 * Terraform JSON (the host private key reaches Terraform at apply time, through its environment).
 */
export async function readPlatformKeys(root: string, platforms: readonly Declared<Platform>[], readSecrets: SecretsReader, env?: NodeJS.ProcessEnv): Promise<ReadPlatformKeys> {
  // Each file is independent: decrypt them together.
  const entries = await Promise.all(platforms.map(async (p) => [p.doc.metadata.name, await readKeys(root, p, readSecrets, env)] as const));
  const notices = entries
    .filter(([, keys]) => keys.hostPublicKey === undefined)
    .map(
      ([name]) =>
        `${platformKeyFile(name)} has no host key (hostPrivateKey, hostPublicKey): a VM created now makes its own, which the first connection cannot verify. ` +
        `Run 'myt keys generate ${name} --add-host-key' to add one; the login key stays.`,
    );
  return { keys: new Map(entries), notices };
}

async function readKeys(root: string, p: Declared<Platform>, readSecrets: SecretsReader, env: NodeJS.ProcessEnv | undefined): Promise<PlatformKeys> {
  const name = p.doc.metadata.name;
  const file = platformKeyFile(name);
  if (!existsSync(join(root, file))) {
    throw new MytError(`platform ${name} (${p.file}) has no SSH key yet: ${file} does not exist. Run 'myt keys generate ${name}' and commit the file.`);
  }
  const values = await readSecrets(root, file, { env });
  const publicKey = openSshKeyBody(secretField(values, file, 'publicKey', "the platform's OpenSSH public key; 'myt keys generate' writes it"));
  if (publicKey === undefined) throw new MytError(`${file}: field 'publicKey' is not an OpenSSH public key (expected one line such as 'ssh-ed25519 AAAA... comment')`);
  if (values.hostPublicKey === undefined) return { publicKey };
  const hostPublicKey = typeof values.hostPublicKey === 'string' ? openSshKeyBody(values.hostPublicKey) : undefined;
  if (hostPublicKey === undefined || !hostPublicKey.startsWith('ssh-ed25519 ')) {
    throw new MytError(`${file}: field 'hostPublicKey' is not an ed25519 OpenSSH public key (expected one line such as 'ssh-ed25519 AAAA...')`);
  }
  if (typeof values.hostPrivateKey !== 'string') throw new MytError(`${file}: field 'hostPrivateKey' is missing: the host key is a pair ('myt keys generate ${name} --force' makes new ones)`);
  return { publicKey, hostPublicKey };
}
