// The processor's files in the bundle, with the real npm (registry) and esbuild: the script and its
// packages bundled for MYT_SCRIPT, the lock kept beside the declaration, the same bytes every time.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { renderBundle } from '../../src/bundle/bundle.js';
import { lockFileOf, npmEnvironment } from '../../src/bundle/processor-files.js';
import { loadRepository, type Declared, type Platform } from '../../src/config/repository.js';
import { PROCESSOR_MAIN } from '../../src/processor/bundle.js';
import { ROOT } from './helpers.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A copy of the shipped examples in a throw-away repository. */
function exampleRepo(): string {
  const repo = mkdtempSync(join(tmpdir(), 'myt-bundle-'));
  made.push(repo);
  mkdirSync(join(repo, '.git'));
  for (const entry of ['platforms', 'processors', 'secrets', '.sops.yaml']) cpSync(join(ROOT, entry), join(repo, entry), { recursive: true });
  return repo;
}

async function declared(repo: string, name: string): Promise<Declared<Platform>> {
  const r = await loadRepository(repo);
  expect(r.problems).toEqual([]);
  return r.platforms.find((p) => p.doc.metadata.name === name)!;
}

const bytes = (files: { path: string; content: string | Uint8Array }[]) => new Map(files.map((f) => [f.path, Buffer.from(f.content)]));

describe('the processor files of a platform with a script and packages (greenhouse, date-fns)', () => {
  it('are the same bytes when rendered again in another checkout, from the lock kept beside the declaration', async () => {
    const first = exampleRepo();
    rmSync(join(first, 'platforms/greenhouse.lock.json'), { force: true });
    const a = await renderBundle(await declared(first, 'greenhouse'), { root: first });
    expect(a.lock).toEqual({ path: 'platforms/greenhouse.lock.json', state: 'written' });
    const lockText = readFileSync(join(first, 'platforms/greenhouse.lock.json'), 'utf8');
    const lock = JSON.parse(lockText) as { packages: Record<string, { version?: string; integrity?: string }> };
    expect(lock.packages['node_modules/date-fns']?.version).toMatch(/^3\.\d+\.\d+$/);
    expect(lock.packages['node_modules/date-fns']?.integrity).toMatch(/^sha512-/);

    // The lock committed and checked out elsewhere: npm ci from it, in another folder.
    const second = exampleRepo();
    writeFileSync(join(second, 'platforms/greenhouse.lock.json'), lockText);
    const b = await renderBundle(await declared(second, 'greenhouse'), { root: second });
    expect(b.lock).toEqual({ path: 'platforms/greenhouse.lock.json', state: 'kept' });
    expect([...bytes(b.files).keys()]).toEqual([...bytes(a.files).keys()]);
    for (const [path, content] of bytes(a.files)) expect(bytes(b.files).get(path)!.equals(content), path).toBe(true);
    expect(a.files.map((f) => f.path)).toEqual(expect.arrayContaining(['processor/main.mjs', 'processor/script.mjs', 'processor/package.json', 'processor/package-lock.json']));
  }, 300_000);

  it('the shipped lock is what the release carries, and the bundled script runs with its package', async () => {
    const repo = exampleRepo();
    const shipped = readFileSync(join(ROOT, 'platforms/greenhouse.lock.json'), 'utf8');
    const b = await renderBundle(await declared(repo, 'greenhouse'), { root: repo });
    expect(b.lock?.state).toBe('kept');
    expect(Buffer.from(b.files.find((f) => f.path === 'processor/package-lock.json')!.content).toString()).toBe(shipped);
    const out = join(repo, 'script.mjs');
    writeFileSync(out, b.files.find((f) => f.path === 'processor/script.mjs')!.content);
    const mod = (await import(pathToFileURL(out).href)) as { default: (m: object) => { ts: string; data: Record<string, unknown> } };
    const stored = mod.default({ measurement: 'climate', sensor: 's1', data: { temperature_f: 212, humidity: 0.5 } });
    expect(stored.data).toEqual({ temperature: 100, humidity: 50, label: 'greenhouse/s1' });
    expect(stored.ts).toMatch(/^\d{4}-\d{2}-\d{2}T/); // date-fns' formatISO ran
  }, 300_000);

  it('resolves the ranges again when the lock was made for other ones, and says the repository lock must change', async () => {
    const repo = exampleRepo();
    const file = join(repo, 'platforms/greenhouse.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('date-fns: ^3.6.0', 'date-fns: ~3.6.0'));
    const b = await renderBundle(await declared(repo, 'greenhouse'), { root: repo, writeLock: false });
    expect(b.lock).toEqual({ path: 'platforms/greenhouse.lock.json', state: 'stale' });
    const released = JSON.parse(Buffer.from(b.files.find((f) => f.path === 'processor/package-lock.json')!.content).toString()) as { packages: Record<string, { dependencies?: object }> };
    expect(released.packages['']?.dependencies).toEqual({ 'date-fns': '~3.6.0' });
    // Not written into the repository (CI commits nothing).
    expect(readFileSync(join(repo, 'platforms/greenhouse.lock.json'), 'utf8')).toContain('"date-fns": "^3.6.0"');
  }, 300_000);
});

describe('the processor files of other platforms', () => {
  it('without a script: MyT processor alone, byte for byte processor/dist/main.js, no lock', async () => {
    const repo = exampleRepo();
    const b = await renderBundle(await declared(repo, 'minimal'), { root: repo });
    const processorFiles = b.files.filter((f) => f.path.startsWith('processor/'));
    expect(processorFiles.map((f) => f.path)).toEqual(['processor/main.mjs']);
    expect(Buffer.from(processorFiles[0]!.content).equals(readFileSync(PROCESSOR_MAIN))).toBe(true);
    expect(b.lock).toBeUndefined();
    expect(existsSync(join(repo, '.myt/packages/minimal'))).toBe(false);
  });

  it('a script without packages (factory): bundled alone, nothing installed', async () => {
    const repo = exampleRepo();
    const b = await renderBundle(await declared(repo, 'factory'), { root: repo });
    expect(b.files.filter((f) => f.path.startsWith('processor/')).map((f) => f.path)).toEqual(['processor/main.mjs', 'processor/script.mjs']);
    expect(b.lock).toBeUndefined();
  });

  it('names the lock after the platform, beside its file', () => {
    expect(lockFileOf('platforms/greenhouse.yaml', 'greenhouse')).toBe('platforms/greenhouse.lock.json');
    expect(lockFileOf('platforms/site/a.yml', 'alpha')).toBe('platforms/site/alpha.lock.json');
  });

  it('npm gets PATH, HOME and npm settings, never an age key', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { SOPS_AGE_KEY: 'AGE-SECRET-KEY-1TEST', SOPS_AGE_KEY_FILE: '/k', npm_config_cache: '/c' });
      const env = npmEnvironment();
      expect(env).not.toHaveProperty('SOPS_AGE_KEY');
      expect(env).not.toHaveProperty('SOPS_AGE_KEY_FILE');
      expect(env).toMatchObject({ PATH: process.env.PATH, npm_config_cache: '/c' });
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    }
  });
});
