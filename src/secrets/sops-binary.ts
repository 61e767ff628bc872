import { execFile } from 'node:child_process';
import { findOnPath } from '../find-on-path.js';

/**
 * The `sops` program, for files whose data key MyT cannot unwrap itself (AWS KMS, GCP KMS, PGP,
 * Azure Key Vault, Vault, Shamir key groups). Its output goes to memory through a pipe, never to
 * a file; the arguments are an array, never a shell string.
 */
export interface SopsBinary {
  /** The path of the sops executable on PATH, if there is one. */
  find(env: NodeJS.ProcessEnv): string | undefined;
  /** Runs `sops --decrypt --output-type json FILE` and returns its standard output. */
  decrypt(sops: string, file: string, env: NodeJS.ProcessEnv): Promise<string>;
}

export const realSopsBinary: SopsBinary = {
  find: (env) => findOnPath('sops', env),
  decrypt(sops, file, env) {
    return new Promise((resolve, reject) => {
      execFile(sops, ['--decrypt', '--output-type', 'json', file], { env, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
        if (err) {
          // sops' own messages are about keys and files; keep the last line, never the output.
          const last = stderr.trim().split('\n').pop()?.trim();
          reject(new Error(last ? `sops failed: ${last}` : `sops failed (${err.message.split('\n')[0] ?? 'no message'})`));
        } else resolve(stdout);
      });
    });
  },
};
