// What a new user trips on in the first hour: typos that cascade, commands run in the wrong place,
// and messages that name the wrong thing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMyt } from '../helpers/cli.js';
import { tempRepo } from '../helpers/temp-repo.js';

const SPACE = (regionKey: string) => `apiVersion: myt/v1
kind: Space
metadata:
  name: farm-net
spec:
  provider: aws
  ${regionKey}: eu-west-1
  zone: eu-west-1a
  credentials: secrets/aws.enc.yaml
`;
const PLATFORM = (name: string) => `apiVersion: myt/v1
kind: Platform
metadata:
  name: ${name}
spec:
  cloud:
    provider: aws
    space: farm-net
  database:
    engine: influxdb
  destroy: allow
`;
const FILES = {
  'secrets/aws.enc.yaml': 'sops: {}\n',
  'secrets/keys/barn.enc.yaml': 'sops: {}\n',
  'secrets/keys/silo.enc.yaml': 'sops: {}\n',
  'platforms/barn.yaml': PLATFORM('barn'),
  'platforms/silo.yaml': PLATFORM('silo'),
};

describe('myt --version', () => {
  it("prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(await runMyt([flag], tmpdir())).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('a typo in a Space', () => {
  it('is reported once, in the Space, not again on every platform that uses it', async () => {
    const root = tempRepo({ ...FILES, 'platforms/spaces/farm.yaml': SPACE('regoin') });
    const run = await runMyt(['validate', '--offline'], root);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("platforms/spaces/farm.yaml:7:3: error: spec: unknown property 'regoin'; did you mean 'region'?");
    expect(run.stdout).not.toContain("no kind: Space named 'farm-net'");
    expect(run.stdout).not.toMatch(/^platforms\/(barn|silo)\.yaml/m);
  });

  it('still lets a reference to a Space that nobody declared be reported', async () => {
    const root = tempRepo(FILES);
    const run = await runMyt(['validate', '--offline'], root);
    expect(run.stdout).toContain("platforms/barn.yaml:8:12: error: spec.cloud.space: no kind: Space named 'farm-net'");
  });
});

describe('myt destroy', () => {
  it('of a Space says it is a Space, not that no platform is declared', async () => {
    const root = tempRepo({ ...FILES, 'platforms/spaces/farm.yaml': SPACE('region') });
    const run = await runMyt(['destroy', 'farm-net', '--confirm', 'farm-net'], root, { PATH: process.env.PATH });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "myt destroy: error: 'farm-net' is a Space (platforms/spaces/farm.yaml), not a platform: myt destroy removes one platform's infrastructure, and never a Space, which platforms share\n",
    );
  });

  it('of a platform whose file has problems says so, not that it is not declared', async () => {
    const root = tempRepo({ ...FILES, 'platforms/spaces/farm.yaml': SPACE('region'), 'platforms/barn.yaml': PLATFORM('barn').replace('engine:', 'engin:') });
    const run = await runMyt(['destroy', 'barn', '--confirm', 'barn'], root, { PATH: process.env.PATH });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Platform 'barn' is declared in platforms/barn.yaml, but that file has problems: run 'myt validate'");
  });
});

describe('a folder that is no MyT repository', () => {
  it('makes validate, plan and dev say so instead of finding nothing wrong', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'myt-not-a-repo-'));
    try {
      for (const args of [['validate'], ['plan'], ['dev', 'barn']]) {
        const run = await runMyt(args, elsewhere, { PATH: process.env.PATH });
        expect(run.code, args.join(' ')).toBe(1);
        expect(run.stderr).toBe(`myt ${args[0]}: error: ${elsewhere} is not a MyT repository: it has no platforms/ folder and no myt.yaml. Run myt inside your repository (or any folder of it), or pass --root DIR\n`);
        expect(run.stdout).toBe('');
      }
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
