// What several deploy tests share: a platform of one engine deployed (with the stand-in docker) to
// the test's sshd, in the test user's home, and an open connection to it.
import { dataDirectories } from '../../src/bundle/compose.js';
import type { Engine } from '../../src/bundle/database.js';
import { renderConfigFiles } from '../../src/bundle/render.js';
import { generateSecrets, renderSecretFiles } from '../../src/bundle/secret-files.js';
import { resolvePlatform } from '../../src/config/defaults.js';
import { Host } from '../../src/deploy/host.js';
import { provision } from '../../src/deploy/provision.js';
import { SshSession } from '../../src/deploy/ssh.js';
import type { TestSshServer } from '../helpers/ssh-server.js';

/** Deploys a platform named `<prefix>-<engine>` (tables: m with field v) and runs `fn` on its host. */
export async function withDeployedPlatform<T>(server: TestSshServer, prefix: string, engine: Engine, fn: (host: Host) => Promise<T>): Promise<T> {
  const name = `${prefix}-${engine}`;
  const platform = resolvePlatform({
    apiVersion: 'myt/v1',
    kind: 'Platform',
    metadata: { name },
    spec: { cloud: { provider: 'ssh', host: '127.0.0.1', user: 'u', key: 'k.enc.yaml' }, database: engine === 'influxdb' ? { engine } : { engine, tables: { m: { v: 'int' } } } },
  });
  const session = await SshSession.connect({ host: server.host, port: server.port, user: server.user, privateKey: server.login.privateKey, hostKey: server.hostKey.publicKey });
  const host = new Host(session, { home: `${server.home}/opt/myt/${name}`, dataRoot: `${server.home}/data`, sudo: false, chown: false, fstab: `${server.home}/fstab` }, (s) => s);
  try {
    const generated = generateSecrets();
    await provision({
      host,
      platform: name,
      files: [...renderConfigFiles(platform), { path: 'processor/main.mjs', content: '' }],
      secretFiles: () => Promise.resolve(renderSecretFiles(platform, { generated })),
      dataDirs: dataDirectories(platform),
      processorServices: ['processor-0'],
      progress: () => undefined,
      waitSeconds: 10,
    });
    return await fn(host);
  } finally {
    session.dispose();
  }
}
