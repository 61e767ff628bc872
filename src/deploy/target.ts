// Where a platform's host is and how MyT logs in: from the declaration (an existing server, cloud
// provider ssh) or from its stack's outputs after `myt apply` (a cloud VM), with the keys decrypted in
// memory from the platform's secrets file.
import type { ResolvedPlatform } from '../config/defaults.js';
import { platformKeyFile } from '../config/key-file.js';
import { resolveRepoFile } from '../config/repo-path.js';
import { MytError } from '../errors.js';
import type { SecretsReader } from '../infra/secrets-reader.js';
import { parsePublicKeyLine, type SshTarget } from './ssh.js';

/** The outputs of a platform's stack that the deploy reads (src/infra/platform-stack.ts). */
export interface StackOutputs {
  readonly public_ip?: unknown;
  readonly ssh_user?: unknown;
  readonly data_volume_device?: unknown;
}

/** /dev/ and a path of plain names: letters, digits and . _ : + @ - (no '..', no space or shell syntax). */
const DEVICE_PATH = /^\/dev(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._:+@-]+)+$/;

export interface ResolvedTarget {
  readonly target: SshTarget;
  /** The data volume's device on a cloud VM; an existing server keeps data on its own disks. */
  readonly dataDevice?: string;
}

export async function resolveTarget(
  root: string,
  platform: ResolvedPlatform,
  readSecrets: SecretsReader,
  env: NodeJS.ProcessEnv,
  outputs?: StackOutputs,
): Promise<ResolvedTarget> {
  const name = platform.metadata.name;
  const cloud = platform.spec.cloud;
  if (cloud.provider === 'ssh') {
    const file = resolveRepoFile(root, cloud.key);
    if (!file.ok) throw new MytError(`platform ${name}: spec.cloud.key: ${file.message}`);
    const keys = await readSecrets(root, cloud.key, { env });
    if (typeof keys.privateKey !== 'string') throw new MytError(`${cloud.key}: field 'privateKey' is missing (make the key with 'myt keys generate')`);
    if (cloud.hostKey === undefined) {
      throw new MytError(
        `platform ${name}: spec.cloud.hostKey is not declared, so the server could not be verified. Run 'myt keys scan ${name}', check the fingerprint it prints ` +
          'against the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on its console), and paste the line into spec.cloud.hostKey.',
      );
    }
    return { target: { host: cloud.host, port: cloud.port, user: cloud.user, privateKey: keys.privateKey, hostKey: cloud.hostKey } };
  }
  const file = platformKeyFile(name);
  const keys = await readSecrets(root, file, { env });
  if (typeof keys.privateKey !== 'string') throw new MytError(`${file}: field 'privateKey' is missing (make the keys with 'myt keys generate ${name}')`);
  if (typeof keys.hostPublicKey !== 'string' || !parsePublicKeyLine(keys.hostPublicKey)) {
    throw new MytError(`${file}: it has no host key, so the VM could not be verified. Run 'myt keys generate ${name} --add-host-key' (a VM created before must then be given it by hand).`);
  }
  const ip = outputs?.public_ip;
  if (typeof ip !== 'string' || ip === '') throw new MytError(`platform ${name}: its stack has no public_ip output: run 'myt apply ${name}' first`);
  const user = typeof outputs?.ssh_user === 'string' ? outputs.ssh_user : 'ubuntu';
  const device = typeof outputs?.data_volume_device === 'string' ? outputs.data_volume_device : undefined;
  // A block device's path, as the stacks name it (/dev/disk/by-id/…): anything else in outputs.json
  // was not written by MyT, and this path is about to be probed and possibly formatted as root.
  if (device !== undefined && !DEVICE_PATH.test(device)) {
    throw new MytError(`platform ${name}: its stack's data_volume_device output ${JSON.stringify(device)} is not a device path under /dev/: run 'myt apply ${name}' again`);
  }
  return { target: { host: ip, port: 22, user, privateKey: keys.privateKey, hostKey: keys.hostPublicKey }, dataDevice: device };
}
