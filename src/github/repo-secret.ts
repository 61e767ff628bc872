// Sets an Actions secret of a repository through GitHub's REST API: the value is sealed (libsodium's
// crypto_box_seal) with the repository's public key, as GitHub requires, and only the sealed value
// leaves this process.
import sodium from 'libsodium-wrappers';
import { MytError } from '../errors.js';
import { registerSecret } from '../secrets/masking.js';
import type { GitHub } from './client.js';

/** Secret names GitHub accepts: letters, digits and '_', not starting with a digit or GITHUB_. */
const SECRET_NAME = /^(?!GITHUB_)[A-Za-z_][A-Za-z0-9_]*$/;

/** The value sealed for a base64 Curve25519 public key, base64 as GitHub wants it. */
export async function sealForGitHub(value: string, publicKeyBase64: string): Promise<string> {
  await sodium.ready;
  const key = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL);
  return sodium.to_base64(sodium.crypto_box_seal(sodium.from_string(value), key), sodium.base64_variants.ORIGINAL);
}

export async function setRepositorySecret(github: GitHub, repo: { owner: string; repo: string }, name: string, value: string): Promise<'created' | 'updated'> {
  if (!SECRET_NAME.test(name)) throw new MytError(`'${name}' is not a name GitHub accepts for a secret`);
  registerSecret(value);
  const { data: key } = await github.rest.actions.getRepoPublicKey(repo);
  const encrypted_value = await sealForGitHub(value, key.key);
  const response = await github.rest.actions.createOrUpdateRepoSecret({ ...repo, secret_name: name, encrypted_value, key_id: key.key_id });
  return response.status === 201 ? 'created' : 'updated';
}

/** Whether the repository has an Actions secret of that name (GitHub never shows its value). */
export async function repositorySecretExists(github: GitHub, repo: { owner: string; repo: string }, name: string): Promise<boolean> {
  try {
    await github.rest.actions.getRepoSecret({ ...repo, secret_name: name });
    return true;
  } catch (err) {
    if ((err as { status?: unknown }).status === 404) return false;
    throw err;
  }
}
