import { posix } from 'node:path';

/** Where a cloud platform's VM SSH key lives; `myt keys generate NAME` writes it. */
export function platformKeyFile(name: string): string {
  return `secrets/keys/${name}.enc.yaml`;
}

/** Where a platform's TLS CA (certificate and key) lives, when spec.broker.tls is true; `myt tls init NAME` writes it. */
export function tlsCaFile(name: string): string {
  return `secrets/tls/${name}.enc.yaml`;
}

/** `platforms/greenhouse.yaml` → `platforms/greenhouse.lock.json`: the lock of a script's packages, named by the platform, beside its file. */
export function lockFileOf(declaredIn: string, platform: string): string {
  return posix.join(posix.dirname(declaredIn), `${platform}.lock.json`);
}
