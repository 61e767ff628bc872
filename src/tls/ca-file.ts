// The platform's CA in the repository: secrets/tls/<platform>.enc.yaml (fields caCertificate and
// caKey), encrypted with the project's own SOPS code like every other secrets file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tlsCaFile } from '../config/key-file.js';
import { MytError } from '../errors.js';
import { readSecrets } from '../secrets/index.js';
import { writeNewSecrets } from '../secrets/operations.js';
import { createCa, type KeyPairPem } from './certificates.js';

const PLATFORM_NAME = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;

/** `myt tls init`: a new CA, straight into its encrypted file. Refuses to replace one unless `force`. */
export async function initCa(root: string, platform: string, force: boolean, now?: Date): Promise<{ file: string; certificate: string }> {
  if (!PLATFORM_NAME.test(platform)) throw new MytError(`'${platform}' is not a platform name (lowercase letters, digits and '-')`);
  const file = tlsCaFile(platform);
  if (!force && existsSync(join(root, file))) {
    throw new MytError(`${file} exists already: a new CA would make every device certificate and every device's copy of the CA useless. Pass --force to replace it`);
  }
  const ca = await createCa(platform, now);
  await writeNewSecrets(root, file, { caCertificate: ca.certificate, caKey: ca.key }, now);
  return { file, certificate: ca.certificate };
}

/** The platform's CA, decrypted in memory (the key is registered for masking, the certificate is public). */
export async function readCa(root: string, platform: string, env: NodeJS.ProcessEnv): Promise<KeyPairPem> {
  const file = tlsCaFile(platform);
  if (!existsSync(join(root, file))) throw new MytError(`${file} does not exist: make the platform's CA with 'myt tls init ${platform}'`);
  const data = await readSecrets(root, file, { env });
  if (typeof data.caCertificate !== 'string' || typeof data.caKey !== 'string') throw new MytError(`${file}: it lacks caCertificate or caKey (make one with 'myt tls init ${platform}')`);
  return { certificate: data.caCertificate, key: data.caKey };
}
