import { resolveRepoFile } from '../config/repo-path.js';
import { MytError } from '../errors.js';
import { findAgeIdentities } from './age-keys.js';
import { registerLeaves } from './masking.js';
import { recipientsOf, recipientsProblem } from './recipients.js';
import { isPublicField, shapeProblems, type SecretUse } from './shapes.js';
import { matchingRule } from './sops-config.js';
import type { SopsBinary } from './sops-binary.js';
import { formatFor, hasSopsMetadata, openSopsFile, parseFile, readText } from './sops-store.js';
import { toPlain } from './sops-tree.js';

/**
 * The secrets library: SOPS files encrypted to age, decrypted in memory only. Everything other
 * parts of MyT use is exported from here.
 */

export { registerSecret, maskSecrets, enableActionsMasking, resetSecretRegistry } from './masking.js';
export { SECRET_USES, SHAPE_SUMMARY, type SecretUse } from './shapes.js';
export { findAgeIdentities, generateAgeKeyPair, recipientOf } from './age-keys.js';
export { generateSshKeyPair, type SshKeyPair } from './ssh-keys.js';
export type { SopsBinary } from './sops-binary.js';

export interface ReadSecretsOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The sops program, for files not wrapped for age; tests pass a fake. */
  readonly sops?: SopsBinary;
}

function resolveInRepo(root: string, file: string): string {
  const found = resolveRepoFile(root, file);
  if (!found.ok) throw new MytError(`${file}: ${found.message}`);
  return found.absolute;
}

/**
 * Decrypts a SOPS file of the repository in memory and returns its data. Every value except
 * public identifiers (a public key, a service account's e-mail) is registered for masking.
 * Throws a MytError naming the file, and never holding secret material, on any failure.
 */
export async function readSecrets(root: string, file: string, opts: ReadSecretsOptions = {}): Promise<Record<string, unknown>> {
  return decryptAndRegister(resolveInRepo(root, file), file, { ...opts, repository: { root, path: file } });
}

/** The one place a decrypted document is turned into plain data and its values registered for masking. */
async function decryptAndRegister(path: string, file: string, opts: Parameters<typeof openSopsFile>[2]): Promise<Record<string, unknown>> {
  const opened = await openSopsFile(path, file, opts);
  const data = toPlain(opened.data) as Record<string, unknown>;
  registerLeaves(data, isPublicField);
  return data;
}

/**
 * What is wrong with a secrets file for a use (empty when nothing is). Without an age key in
 * `env` it checks only that the file exists and is a SOPS file; with one, that it decrypts and
 * has the fields the use needs. Messages start with the file and never hold a secret value.
 */
export async function checkSecretFile(root: string, file: string, use: SecretUse, env: NodeJS.ProcessEnv = process.env, sops?: SopsBinary): Promise<string[]> {
  try {
    const path = resolveInRepo(root, file);
    const repository = { root, path: file };
    const doc = parseFile(await readText(path, file), formatFor(file), file);
    if (!hasSopsMetadata(doc)) return [`${file}: it is not encrypted (no 'sops' metadata): run 'myt secrets encrypt ${file}' before committing it`];
    // Recipients are public: whether they are the ones .sops.yaml names is known without a key.
    const rule = await matchingRule(root, file);
    const recipients = rule && recipientsProblem(file, recipientsOf(doc), rule);
    // Without a key, that is all that can be known; the rest of the metadata is read on decryption.
    const identities = await findAgeIdentities(env);
    if (recipients) {
      // Fixing the recipients comes first; a key that cannot open the file adds nothing to that.
      const data = identities.identities.length ? await decryptAndRegister(path, file, { env, identities, sops, repository }).catch(() => undefined) : undefined;
      return [`${file}: ${recipients}`, ...(data ? shapeProblems(use, data).map((p) => `${file}: ${p}`) : [])];
    }
    if (identities.identities.length === 0) return [];
    const data = await decryptAndRegister(path, file, { env, identities, sops, repository });
    return shapeProblems(use, data).map((p) => `${file}: ${p}`);
  } catch (err) {
    if (err instanceof MytError) return [err.message.startsWith(`${file}:`) ? err.message : `${file}: ${err.message}`];
    throw err;
  }
}
