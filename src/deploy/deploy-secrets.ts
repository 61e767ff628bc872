// The secret files of a deploy, made in memory: the generated passwords the host already keeps
// (generated.json) or new ones at the first deploy, the device users and Grafana's password from the
// repository's secrets files, and, with TLS, the broker's certificate for the host's address (the
// one on the host is kept while it is valid). Every value is registered for masking first.
import type { ResolvedPlatform } from '../config/defaults.js';
import { tlsCaFile } from '../config/key-file.js';
import { generateSecrets, parseGenerated, renderSecretFiles, type GeneratedSecrets } from '../bundle/secret-files.js';
import { secretsDir, type SecretFile } from '../bundle/layout.js';
import { rabbitmqTlsDir } from '../bundle/rabbitmq.js';
import { MytError } from '../errors.js';
import type { SecretsModule } from '../infra/secrets-reader.js';
import { serverCertificateFor } from '../tls/certificates.js';

export interface DeploySecretsInput {
  readonly root: string;
  readonly platform: ResolvedPlatform;
  /** The address devices use: the certificate is issued for it. */
  readonly address: string;
  readonly secrets: SecretsModule;
  readonly env: NodeJS.ProcessEnv;
  readonly progress: (line: string) => void;
}

export async function deploySecretFiles(input: DeploySecretsInput, readBack: (bundlePath: string) => Promise<string | undefined>): Promise<SecretFile[]> {
  const { platform, secrets, root, env } = input;
  const name = platform.metadata.name;
  const kept = await readBack(`${secretsDir(name)}/generated.json`);
  let generated: GeneratedSecrets;
  if (kept === undefined) {
    generated = generateSecrets();
    input.progress('secrets: first deploy, generating the internal passwords');
  } else generated = parseGenerated(kept);
  for (const v of Object.values(generated) as string[]) secrets.registerSecret(v);

  let brokerUsers: Record<string, string> | undefined;
  if (platform.spec.broker.users !== undefined) {
    const data = await secrets.readSecrets(root, platform.spec.broker.users, { env });
    const users = data.users;
    if (users === null || typeof users !== 'object' || Array.isArray(users)) throw new MytError(`${platform.spec.broker.users}: field 'users' must be a mapping of user name to password`);
    brokerUsers = {};
    for (const [user, pw] of Object.entries(users as Record<string, unknown>)) {
      if (typeof pw !== 'string' || pw === '') throw new MytError(`${platform.spec.broker.users}: the password of user '${user}' must be a non-empty string`);
      secrets.registerSecret(pw);
      brokerUsers[user] = pw;
    }
  }
  let grafanaAdminPassword: string | undefined;
  if (platform.spec.grafana.credentials !== undefined) {
    const data = await secrets.readSecrets(root, platform.spec.grafana.credentials, { env });
    if (typeof data.adminPassword !== 'string' || data.adminPassword === '') throw new MytError(`${platform.spec.grafana.credentials}: field 'adminPassword' is missing`);
    secrets.registerSecret(data.adminPassword);
    grafanaAdminPassword = data.adminPassword;
  }
  let tls: Parameters<typeof renderSecretFiles>[1]['tls'];
  if (platform.spec.broker.tls) {
    const file = tlsCaFile(name);
    const data = await secrets.readSecrets(root, file, { env });
    if (typeof data.caCertificate !== 'string' || typeof data.caKey !== 'string') throw new MytError(`${file}: it lacks caCertificate or caKey (make one with 'myt tls init ${name}')`);
    secrets.registerSecret(data.caKey);
    const dir = rabbitmqTlsDir(name);
    const [cert, key] = await Promise.all([readBack(`${dir}/server.pem`), readBack(`${dir}/server.key`)]);
    if (key) secrets.registerSecret(key);
    const server = await serverCertificateFor({ certificate: data.caCertificate, key: data.caKey }, input.address, cert && key ? { certificate: cert, key } : undefined);
    secrets.registerSecret(server.key);
    input.progress(server.issued ? `tls: issued the broker's certificate for ${input.address} (${server.reason})` : `tls: the broker's certificate for ${input.address} is kept`);
    tls = { caCertificate: data.caCertificate, server };
  }
  return renderSecretFiles(platform, { generated, brokerUsers, grafanaAdminPassword, tls });
}
