// myt validate checks every referenced secrets file: its form always, its fields when a key is at hand.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { resetSecretRegistry } from '../../src/secrets/index.js';
import { writeNewSecrets } from '../../src/secrets/operations.js';
import { cliContext } from './helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const WITH_KEY = { SOPS_AGE_KEY_FILE: join(ROOT, 'examples/demo.agekey'), PATH: '' };
const NO_KEY = { PATH: '' };
let repo: string;

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'myt-validate-secrets-'));
  mkdirSync(join(repo, '.git'));
  for (const entry of ['platforms', 'processors', 'secrets', '.sops.yaml']) if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(repo, entry), { recursive: true });
});
afterEach(() => {
  rmSync(repo, { recursive: true, force: true });
  resetSecretRegistry();
});

async function validate(env: NodeJS.ProcessEnv) {
  const ctx = cliContext(repo, env);
  const code = await runCli(['validate', '--offline', '--no-typecheck'], ctx); // neither the npm registry nor script types are what these tests are about
  return { code, lines: ctx.out.join('').trim().split('\n'), err: ctx.err.join('') };
}

function lineOf(file: string, text: string): number {
  return readFileSync(join(repo, file), 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;
}

describe('myt validate and secrets files', () => {
  it('passes the examples with the demo key', async () => {
    const r = await validate(WITH_KEY);
    expect(r.lines.at(-1)).toMatch(/^all valid/);
    expect(r.code).toBe(0);
  });

  it('reports a secrets file missing a field at the line that references it, only when the key is available', async () => {
    await writeNewSecrets(repo, 'secrets/grafana.enc.yaml', { password: 'wrong-field-name' });
    const line = lineOf('platforms/greenhouse.yaml', 'credentials: secrets/grafana.enc.yaml');
    const r = await validate(WITH_KEY);
    expect(r.code).toBe(1);
    expect(r.lines).toContainEqual(
      expect.stringMatching(new RegExp(`^platforms/greenhouse\\.yaml:${line}:\\d+: error: spec\\.grafana\\.credentials: secrets/grafana\\.enc\\.yaml: field 'adminPassword' is missing`)),
    );
    expect(r.lines.join('\n')).not.toContain('wrong-field-name');
    expect((await validate(NO_KEY)).code).toBe(0);
  });

  it('makes plan fail as validate does on a secret whose contents are wrong (one validation everywhere)', async () => {
    await writeNewSecrets(repo, 'secrets/grafana.enc.yaml', { adminPassword: 'admin' });
    const line = lineOf('platforms/greenhouse.yaml', 'credentials: secrets/grafana.enc.yaml');
    const problem = `platforms/greenhouse.yaml:${line}:18: spec.grafana.credentials: secrets/grafana.enc.yaml: field 'adminPassword' is Grafana's default; choose another`;
    const v = await validate(WITH_KEY);
    expect(v.code).toBe(1);
    expect(v.lines).toContain(problem.replace(`:18: `, ':18: error: '));
    const ctx = cliContext(repo, WITH_KEY);
    expect(await runCli(['plan'], ctx)).toBe(1);
    expect(ctx.err.join('')).toContain(problem);
  });

  it('reports a plaintext secrets file even without a key', async () => {
    writeFileSync(join(repo, 'secrets/aws.enc.yaml'), 'accessKeyId: AKIAPLAINTEXT0000001\nsecretAccessKey: committed-in-clear\n');
    const line = lineOf('platforms/spaces/home-net.yaml', 'credentials: secrets/aws.enc.yaml');
    const r = await validate(NO_KEY);
    expect(r.code).toBe(1);
    expect(r.lines).toContainEqual(
      `platforms/spaces/home-net.yaml:${line}:16: error: spec.credentials: secrets/aws.enc.yaml: it is not encrypted (no 'sops' metadata): run 'myt secrets encrypt secrets/aws.enc.yaml' before committing it`,
    );
    expect(r.lines.join('\n')).not.toContain('committed-in-clear');
  });

  it('says that secret contents were not checked when no key is found, and not when one is', async () => {
    const without = await validate(NO_KEY);
    expect(without.code).toBe(0);
    expect(without.err).toContain('note: no age key was found (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt), so the contents of the secrets files were not checked');
    expect((await validate(WITH_KEY)).err).not.toContain('not checked');
  });

  it('gives the same clear error in validate and plan for a key file that holds no key', async () => {
    const empty = join(repo, '..', `${repo.split('/').pop()}-empty-key.txt`);
    writeFileSync(empty, '# a key file whose key line was lost\n');
    try {
      const message = `SOPS_AGE_KEY_FILE names ${empty}, which holds no age private key (a line starting AGE-SECRET-KEY-1)`;
      const v = await validate({ SOPS_AGE_KEY_FILE: empty, PATH: '' });
      expect(v.code).toBe(1);
      expect(v.err).toContain(`myt validate: error: ${message}`);
      const ctx = cliContext(repo, { SOPS_AGE_KEY_FILE: empty, PATH: '' });
      expect(await runCli(['plan'], ctx)).toBe(1);
      expect(ctx.err.join('')).toContain(message);
    } finally {
      rmSync(empty);
    }
  });

  it("reports a platform's tampered SSH key file at its name", async () => {
    const file = join(repo, 'secrets/keys/weather.enc.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/lastmodified: "\d{4}/, 'lastmodified: "1999'));
    const r = await validate(WITH_KEY);
    expect(r.code).toBe(1);
    const line = lineOf('platforms/weather.yaml', 'name: weather');
    expect(r.lines).toContainEqual(expect.stringMatching(new RegExp(`^platforms/weather\\.yaml:${line}:\\d+: error: secrets/keys/weather\\.enc\\.yaml: its MAC`)));
  });
});
