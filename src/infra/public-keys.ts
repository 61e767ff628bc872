import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Declared, Platform } from '../config/repository.js';
import { MytError } from '../errors.js';
import { platformKeyFile } from '../config/key-file.js';
import { secretField, type SecretsReader } from './secrets-reader.js';

/** One OpenSSH public key line: type, base64 body, optional comment (no line breaks). */
const OPENSSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

/**
 * Reads the SSH public key of each platform from its key file (made by `myt keys generate`).
 * Only the public half is kept: it goes into the Terraform JSON as the VM's login key.
 */
export async function readPublicKeys(
  root: string,
  platforms: readonly Declared<Platform>[],
  readSecrets: SecretsReader,
  env?: NodeJS.ProcessEnv,
): Promise<Map<string, string>> {
  // Each file is independent: decrypt them together.
  const entries = await Promise.all(platforms.map(async (p) => [p.doc.metadata.name, await readPublicKey(root, p, readSecrets, env)] as const));
  return new Map(entries);
}

async function readPublicKey(root: string, p: Declared<Platform>, readSecrets: SecretsReader, env: NodeJS.ProcessEnv | undefined): Promise<string> {
  const name = p.doc.metadata.name;
  const file = platformKeyFile(name);
  if (!existsSync(join(root, file))) {
    throw new MytError(`platform ${name} (${p.file}) has no SSH key yet: ${file} does not exist. Run 'myt keys generate ${name}' and commit the file.`);
  }
  const values = await readSecrets(root, file, { env });
  const key = secretField(values, file, 'publicKey', "the platform's OpenSSH public key; 'myt keys generate' writes it").trim();
  if (!OPENSSH_PUBLIC_KEY.test(key)) {
    throw new MytError(`${file}: field 'publicKey' is not an OpenSSH public key (expected one line such as 'ssh-ed25519 AAAA... comment')`);
  }
  return key;
}