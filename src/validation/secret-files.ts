import type { Declared, Platform, Space } from '../config/declared.js';
import { platformKeyFile, tlsCaFile } from '../config/key-file.js';
import { problemAt, type Problem } from '../config/problem.js';
import { resolveRepoFile } from '../config/repo-path.js';
import type { PathSegment } from '../config/yaml-source.js';
import type { SecretUse } from '../secrets/shapes.js';

/**
 * How far secrets files were checked: 'contents' (decrypted with a key), 'form' (no age key found:
 * only that each is a SOPS file for the right recipients), or 'none' (no file is referenced).
 */
export type SecretsChecked = 'contents' | 'form' | 'none';

/**
 * Each referenced secrets file that exists is a SOPS file for the recipients .sops.yaml names and,
 * when `env` holds an age key, decrypts to the fields its use needs (src/secrets). Reported at the
 * referencing field; files are checked once. A missing file is reported by the format's checks.
 * A key setting that names no key (SOPS_AGE_KEY_FILE of an empty file) is an error for the whole
 * run, thrown once, as decryption would throw it.
 */
export async function checkSecretFiles(
  root: string,
  platforms: readonly Declared<Platform>[],
  spaces: readonly Declared<Space>[],
  env: NodeJS.ProcessEnv,
): Promise<{ problems: Problem[]; checked: SecretsChecked }> {
  const refs: [Declared<Platform | Space>, PathSegment[], string, SecretUse][] = [];
  for (const p of platforms) {
    const { cloud, broker, grafana } = p.doc.spec;
    if (cloud.provider === 'gcp') refs.push([p, ['spec', 'cloud', 'credentials'], cloud.credentials, 'gcp']);
    if (cloud.provider === 'ssh') refs.push([p, ['spec', 'cloud', 'key'], cloud.key, 'ssh-key']);
    else refs.push([p, ['metadata', 'name'], platformKeyFile(p.doc.metadata.name), 'ssh-key']);
    if (broker?.users !== undefined) refs.push([p, ['spec', 'broker', 'users'], broker.users, 'broker-users']);
    if (grafana?.credentials !== undefined) refs.push([p, ['spec', 'grafana', 'credentials'], grafana.credentials, 'grafana']);
    if (broker?.tls === true) refs.push([p, ['spec', 'broker', 'tls'], tlsCaFile(p.doc.metadata.name), 'tls-ca']);
  }
  for (const s of spaces) refs.push([s, ['spec', 'credentials'], s.doc.spec.credentials, s.doc.spec.provider]);
  const present = refs.filter(([, , file]) => resolveRepoFile(root, file).ok);
  if (present.length === 0) return { problems: [], checked: 'none' };
  const { checkSecretFile, findAgeIdentities } = await import('../secrets/index.js'); // loaded only when there is something to check
  const checked = (await findAgeIdentities(env)).identities.length > 0 ? 'contents' : 'form';
  const problems: Problem[] = [];
  const verdicts = new Map<string, Promise<string[]>>();
  for (const [d, path, file, use] of present) {
    const key = `${use}:${file}`;
    if (!verdicts.has(key)) verdicts.set(key, checkSecretFile(root, file, use, env));
    for (const problem of await verdicts.get(key)!) {
      problems.push(problemAt(d.file, d.positionOf(path), path[0] === 'metadata' ? problem : `${path.join('.')}: ${problem}`));
    }
  }
  return { problems, checked };
}

/** What a person is told when secrets files were checked without a key. */
export const SECRETS_NOT_DECRYPTED =
  'no age key was found (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt), so the contents of the secrets files were not checked: only that each is a SOPS file for the recipients .sops.yaml names';
