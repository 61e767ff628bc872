import type { Declared, Platform, Space } from '../config/declared.js';
import { platformKeyFile } from '../config/key-file.js';
import { problemAt, type Problem } from '../config/problem.js';
import { resolveRepoFile } from '../config/repo-path.js';
import type { PathSegment } from '../config/yaml-source.js';
import type { SecretUse } from '../secrets/shapes.js';

/**
 * Each referenced secrets file that exists is a SOPS file for the recipients .sops.yaml names and,
 * when `env` holds an age key, decrypts to the fields its use needs (src/secrets). Reported at the
 * referencing field; files are checked once. A missing file is reported by the format's checks.
 */
export async function checkSecretFiles(root: string, platforms: readonly Declared<Platform>[], spaces: readonly Declared<Space>[], env: NodeJS.ProcessEnv): Promise<Problem[]> {
  const refs: [Declared<Platform | Space>, PathSegment[], string, SecretUse][] = [];
  for (const p of platforms) {
    const { cloud, broker, grafana } = p.doc.spec;
    if (cloud.provider === 'gcp') refs.push([p, ['spec', 'cloud', 'credentials'], cloud.credentials, 'gcp']);
    if (cloud.provider === 'ssh') refs.push([p, ['spec', 'cloud', 'key'], cloud.key, 'ssh-key']);
    else refs.push([p, ['metadata', 'name'], platformKeyFile(p.doc.metadata.name), 'ssh-key']);
    if (broker?.users !== undefined) refs.push([p, ['spec', 'broker', 'users'], broker.users, 'broker-users']);
    if (grafana?.credentials !== undefined) refs.push([p, ['spec', 'grafana', 'credentials'], grafana.credentials, 'grafana']);
  }
  for (const s of spaces) refs.push([s, ['spec', 'credentials'], s.doc.spec.credentials, s.doc.spec.provider]);
  const present = refs.filter(([, , file]) => resolveRepoFile(root, file).ok);
  if (present.length === 0) return [];
  const { checkSecretFile } = await import('../secrets/index.js'); // loaded only when there is something to check
  const problems: Problem[] = [];
  const verdicts = new Map<string, Promise<string[]>>();
  for (const [d, path, file, use] of present) {
    const key = `${use}:${file}`;
    if (!verdicts.has(key)) verdicts.set(key, checkSecretFile(root, file, use, env));
    for (const problem of await verdicts.get(key)!) {
      problems.push(problemAt(d.file, d.positionOf(path), path[0] === 'metadata' ? problem : `${path.join('.')}: ${problem}`));
    }
  }
  return problems;
}
