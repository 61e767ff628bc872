import ssh2 from 'ssh2';

/** An SSH key pair in OpenSSH formats, as `myt keys generate` stores it (twice: login and host). */
export interface SshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` text, unencrypted (the SOPS file is the protection). */
  readonly privateKey: string;
  /** One line: `ssh-ed25519 AAAA… comment`. */
  readonly publicKey: string;
}

/**
 * A new ed25519 key pair, made by ssh2 (the SSH library node-ssh uses to reach the VM). ssh2 drops
 * a leading zero byte of the key (about 1 pair in 128: a 31-byte key that nothing can parse), so a
 * pair is only returned once it passes sshKeyProblems; the next draw is a fresh random key.
 */
export function generateSshKeyPair(comment: string): SshKeyPair {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    const made = { privateKey: pair.private, publicKey: pair.public.trim() };
    if (sshKeyProblems(made.privateKey, made.publicKey).length === 0) return made;
  }
  throw new Error('could not generate a valid ed25519 key pair');
}

/** The fields that hold one key pair in a key file (docs/secrets.md). */
export interface KeyPairFields {
  readonly privateKey: string;
  readonly publicKey: string;
}

/** The VM's login key pair. */
export const LOGIN_KEY_FIELDS: KeyPairFields = { privateKey: 'privateKey', publicKey: 'publicKey' };
/** The VM's SSH host key pair, which cloud-init installs so the first connection can verify it. */
export const HOST_KEY_FIELDS: KeyPairFields = { privateKey: 'hostPrivateKey', publicKey: 'hostPublicKey' };

/**
 * What is wrong with a stored key pair (field names only, never key material): the private key
 * must be an OpenSSH ed25519 key and the public key must be its own.
 */
export function sshKeyProblems(privateKey: unknown, publicKey: unknown, fields: KeyPairFields = LOGIN_KEY_FIELDS): string[] {
  const problems: string[] = [];
  if (typeof privateKey !== 'string' || !privateKey.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
    problems.push(`field '${fields.privateKey}' must be an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----)`);
  }
  if (typeof publicKey !== 'string' || !/^ssh-ed25519 [A-Za-z0-9+/=]+( .*)?$/.test(publicKey.trim())) {
    problems.push(`field '${fields.publicKey}' must be one line 'ssh-ed25519 AAAA… [comment]'`);
  }
  if (problems.length) return problems;
  const priv = ssh2.utils.parseKey(privateKey as string);
  if (priv instanceof Error || Array.isArray(priv) || !priv.isPrivateKey()) return [`field '${fields.privateKey}' does not parse as an unencrypted OpenSSH private key`];
  if (priv.type !== 'ssh-ed25519') return [`field '${fields.privateKey}' is a ${priv.type} key; MyT uses ed25519 (run 'myt keys generate')`];
  const pub = ssh2.utils.parseKey(publicKey as string);
  if (pub instanceof Error || Array.isArray(pub)) return [`field '${fields.publicKey}' does not parse as an SSH public key`];
  if (!pub.getPublicSSH().equals(priv.getPublicSSH())) return [`fields '${fields.publicKey}' and '${fields.privateKey}' are not one key pair`];
  return [];
}

/**
 * What is wrong with a platform's key file: its login pair, and its host pair when it has one (files
 * made before host keys existed have none; `myt keys generate NAME --add-host-key` adds it).
 */
export function platformKeyProblems(data: Record<string, unknown>): string[] {
  const problems = sshKeyProblems(data.privateKey, data.publicKey);
  if (data.hostPrivateKey === undefined && data.hostPublicKey === undefined) return problems;
  const host = sshKeyProblems(data.hostPrivateKey, data.hostPublicKey, HOST_KEY_FIELDS);
  problems.push(...host);
  if (!host.length && typeof data.publicKey === 'string' && sameKey(data.publicKey, data.hostPublicKey as string)) {
    problems.push("fields 'hostPublicKey' and 'publicKey' are the same key: the host key must be a pair of its own");
  }
  return problems;
}

function sameKey(a: string, b: string): boolean {
  return a.trim().split(/\s+/)[1] === b.trim().split(/\s+/)[1];
}
