import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A throw-away repository with the given files (path → content), removed after the test. */
export function tempRepo(files: Record<string, string | Uint8Array>): string {
  const root = mkdtempSync(join(tmpdir(), 'myt-test-'));
  made.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

export const SSH_PLATFORM = `apiVersion: myt/v1
kind: Platform
metadata:
  name: solo
spec:
  cloud:
    provider: ssh
    host: 127.0.0.1
    user: myt
    key: secrets/ssh.enc.yaml
  database:
    engine: influxdb
`;
