// Helpers for the secrets tests: throw-away repositories with their own age keys.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateAgeKeyPair, type AgeKeyPair } from '../../src/secrets/age-keys.js';
import { sopsConfigText } from '../../src/secrets/sops-config.js';
import type { CliContext } from '../../src/cli/context.js';

export interface TempRepo {
  readonly root: string;
  write(path: string, text: string): string;
  read(path: string): string;
  remove(): void;
}

/** A temporary repository (with a .git folder, so the CLI finds its root) and a .sops.yaml for secrets/. */
export function tempRepo(recipients: readonly string[]): TempRepo {
  const root = mkdtempSync(join(tmpdir(), 'myt-secrets-test-'));
  mkdirSync(join(root, '.git'));
  const repo: TempRepo = {
    root,
    write(path, text) {
      const full = join(root, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text);
      return full;
    },
    read: (path) => readFileSync(join(root, path), 'utf8'),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
  if (recipients.length) repo.write('.sops.yaml', sopsConfigText(recipients));
  return repo;
}

export async function keyPair(): Promise<AgeKeyPair> {
  return generateAgeKeyPair();
}

/** An environment holding only the given age key (no HOME, so no default keys file is found). */
export function envWithKey(identity: string | undefined, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: '', ...(identity === undefined ? {} : { SOPS_AGE_KEY: identity }), ...extra };
}

export interface CapturedContext extends CliContext {
  readonly out: string[];
  readonly err: string[];
}

export function cliContext(cwd: string, env: NodeJS.ProcessEnv): CapturedContext {
  const out: string[] = [];
  const err: string[] = [];
  return { cwd, env, interactive: false, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), out, err };
}
