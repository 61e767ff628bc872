// `myt dev` up to the processor's start: validation, installing the script's packages, and the
// processor's first log line. npm here is a STAND-IN (a shell script put first on PATH; the real npm would
// fetch from the registry): contract as MyT uses it, `npm install --no-save ... --prefix DIR
// NAME@RANGE...` exits 0 when it installed them, and otherwise exits 1 with npm's error lines on
// stderr (for a package the registry does not have: `npm error code E404` and `npm error 404 Not
// Found - GET <registry>/<name> - Not found`). It records its environment and arguments. The npm
// registry is a stand-in too (tests/helpers/registry-stand-in.ts).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeDevCommand } from '../../src/cli/commands/dev.js';
import { MytError } from '../../src/errors.js';
import { startStandInRegistry, type StandInRegistry } from '../helpers/registry-stand-in.js';
import { resetSecretRegistry } from '../../src/secrets/index.js';
import { generateKeys } from '../../src/secrets/operations.js';
import type { AgeKeyPair } from '../../src/secrets/age-keys.js';
import { cliContext, keyPair, tempRepo, type TempRepo } from '../secrets/helpers.js';

const PLATFORM = `apiVersion: myt/v1
kind: Platform
metadata:
  name: lab
spec:
  cloud: { provider: ssh, host: 127.0.0.1, user: myt, key: secrets/keys/lab.enc.yaml }
  database: { engine: influxdb }
  processor:
    script: processors/lab.ts
    packages:
      date-fns: ^3.6.0
`;
const SCRIPT = `import { formatISO } from 'date-fns';\nexport default (m: { ts?: string }) => ({ ...m, ts: m.ts ?? formatISO(new Date()) });\n`;

const FAKE_NPM = (dir: string) => `#!/bin/sh
env > '${dir}/npm.env'
echo "$@" > '${dir}/npm.args'
echo 'npm error code E404' >&2
echo 'npm error 404 Not Found - GET https://registry.npmjs.org/date-fns - Not found' >&2
exit 1
`;

let key: AgeKeyPair;
let repo: TempRepo;
let bin: string;
let registry: StandInRegistry;
beforeAll(async () => {
  key = await keyPair();
  registry = await startStandInRegistry({ 'date-fns': ['3.6.0'] });
});
afterAll(() => registry.close());
afterEach(() => {
  repo?.remove();
  rmSync(bin, { recursive: true, force: true });
  resetSecretRegistry();
});

async function labRepo(platform = PLATFORM): Promise<void> {
  repo = tempRepo([key.recipient]);
  await generateKeys(repo.root, 'lab', false);
  repo.write('platforms/lab.yaml', platform);
  repo.write('processors/lab.ts', SCRIPT);
  bin = mkdtempSync(join(tmpdir(), 'myt-fake-npm-'));
  writeFileSync(join(bin, 'npm'), FAKE_NPM(bin));
  chmodSync(join(bin, 'npm'), 0o755);
}

/** Sets variables of this process's environment (the CLI's own, as at a terminal) for the length of `run`. */
async function withProcessEnv<T>(vars: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

describe('myt dev, up to the processor’s start', () => {
  it('runs npm without the age key or the name of its file in its environment', async () => {
    await labRepo();
    const keyFile = join(bin, 'key.txt');
    writeFileSync(keyFile, `${key.identity}\n`);
    await withProcessEnv({ PATH: `${bin}:${process.env.PATH}`, SOPS_AGE_KEY: key.identity, SOPS_AGE_KEY_FILE: keyFile, NPM_CONFIG_REGISTRY: registry.url }, async () => {
      const ctx = cliContext(repo.root, process.env);
      await makeDevCommand().run(['lab'], ctx).catch(() => 1);
      expect(ctx.err.join('')).toContain('installing date-fns');
    });
    const seen = readFileSync(join(bin, 'npm.env'), 'utf8');
    expect(readFileSync(join(bin, 'npm.args'), 'utf8')).toContain('date-fns@^3.6.0');
    expect(seen).toMatch(/^PATH=/m);
    expect(seen).not.toMatch(/^SOPS_AGE_KEY/m);
    expect(seen).not.toContain(key.identity);
  });

  it('names a package the registry does not have at its line, before npm runs', async () => {
    await labRepo(PLATFORM.replace('date-fns: ^3.6.0', 'date-fnz: ^3.6.0'));
    repo.write('processors/lab.ts', SCRIPT.replace("'date-fns'", "'date-fnz'"));
    const ctx = cliContext(repo.root, { PATH: `${bin}:${process.env.PATH}`, NPM_CONFIG_REGISTRY: registry.url, SOPS_AGE_KEY: key.identity });
    const error = await makeDevCommand().run(['lab'], ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MytError);
    expect(ctx.err.join('')).toContain(`platforms/lab.yaml:11:7: error: package 'date-fnz' does not exist in the npm registry (${registry.url})`);
    expect(existsSync(join(bin, 'npm.args'))).toBe(false);
  });

  it("passes npm's own error lines on when npm install fails, instead of an internal error", async () => {
    await labRepo();
    const ctx = cliContext(repo.root, { PATH: `${bin}:${process.env.PATH}`, NPM_CONFIG_REGISTRY: registry.url, SOPS_AGE_KEY: key.identity });
    const error = (await makeDevCommand().run(['lab'], ctx).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(MytError);
    expect(error.message).toBe(
      'npm could not install date-fns@^3.6.0:\n  npm error code E404\n  npm error 404 Not Found - GET https://registry.npmjs.org/date-fns - Not found',
    );
  });

  it("logs the platform's script by its path when the processor starts, not 'built in'", async () => {
    await labRepo(PLATFORM.replace(/ {2}processor:[\s\S]*$/, '  processor:\n    script: processors/lab.ts\n'));
    repo.write('processors/lab.ts', 'export default (m: { sensor: string }) => ({ ...m, sensor: m.sensor.toLowerCase() });\n');
    let stop: (() => void) | undefined;
    const command = makeDevCommand({ onStop: (s) => ((stop = s), () => (stop = undefined)) });
    const ctx = cliContext(repo.root, { PATH: process.env.PATH, SOPS_AGE_KEY: key.identity });
    // Nothing listens on port 1: the processor logs its start, then waits for the broker and database.
    const port = String(await freePort());
    const running = command.run(['lab', '--amqp-url', 'amqp://127.0.0.1:1', '--db-url', 'http://127.0.0.1:1/MyTData', '--metrics-port', port], ctx);
    // The processor logs JSON lines to its standard error, which myt dev passes on.
    const started = () => ctx.err.join('').split('\n').find((l) => l.includes('"starting"'));
    try {
      for (let i = 0; i < 200 && !started(); i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      stop?.();
    }
    await running;
    expect(started()).toContain('"script":"processors/lab.ts"');
  });
});

/** A TCP port nothing listens on at the moment. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
