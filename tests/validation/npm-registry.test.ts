// Declared npm packages checked against the registry: a STAND-IN registry on 127.0.0.1 (see
// tests/helpers/registry-stand-in.ts for the contract of npm's packument endpoint it follows).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registryResolver } from '../../src/validation/npm-registry.js';
import { runMyt } from '../helpers/cli.js';
import { startStandInRegistry, type StandInRegistry } from '../helpers/registry-stand-in.js';
import { SSH_PLATFORM, tempRepo } from '../helpers/temp-repo.js';

let stand: StandInRegistry;
let registry: string;
let requests: StandInRegistry['requests'];
beforeAll(async () => {
  stand = await startStandInRegistry({ 'date-fns': ['2.30.0', '3.6.0'], '@myt/helpers': ['1.0.0', '1.2.0'] });
  registry = stand.url;
  requests = stand.requests;
});
afterAll(() => stand.close());
afterEach(() => {
  requests.length = 0;
});

const SECRET = { 'secrets/ssh.enc.yaml': 'sops: {}\n' };
const withPackages = (packages: Record<string, string>) =>
  `${SSH_PLATFORM}  processor:\n    packages:\n${Object.entries(packages).map(([n, r]) => `      "${n}": "${r}"\n`).join('')}`;

describe('myt validate and the npm registry', () => {
  it('names a package that does not exist, and one without a version in its range, at its line', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': withPackages({ 'date-fns': '^3.6.0', 'no-such-package-xyz': '^1.0.0', '@myt/helpers': '^2.0.0' }) });
    const run = await runMyt(['validate'], root, { NPM_CONFIG_REGISTRY: registry });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`platforms/solo.yaml:16:7: error: package 'no-such-package-xyz' does not exist in the npm registry (${registry})`);
    expect(run.stdout).toContain("platforms/solo.yaml:17:7: error: package '@myt/helpers': no published version matches '^2.0.0'; its latest version is 1.2.0");
    expect(run.stdout).not.toContain("'date-fns'");
    expect(requests.map((r) => r.url).sort()).toEqual(['/@myt%2fhelpers', '/date-fns', '/no-such-package-xyz']);
    expect(requests[0]!.accept).toMatch(/^application\/vnd\.npm\.install-v1\+json/);
  });

  it('uses the registry of the repository’s .npmrc, with a scope’s own registry', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': withPackages({ 'date-fns': '^3.0.0' }), '.npmrc': `registry=${registry}\n` });
    const run = await runMyt(['validate'], root, {});
    expect(run.code).toBe(0);
    expect(requests.map((r) => r.url)).toEqual(['/date-fns']);
    const resolve = registryResolver(tempRepo({ '.npmrc': `registry=https://npm.example.org\n@myt:registry=${registry}\n` }), {});
    expect([resolve('date-fns'), resolve('@myt/helpers')]).toEqual(['https://npm.example.org/', registry]);
  });

  it('with --offline asks nothing', async () => {
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': withPackages({ 'no-such-package-xyz': '^1.0.0' }) });
    const run = await runMyt(['validate', '--offline'], root, { NPM_CONFIG_REGISTRY: registry });
    expect(run.code).toBe(0);
    expect(requests).toEqual([]);
  });

  it('says which packages were not checked when the registry cannot be reached, without failing', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const root = tempRepo({ ...SECRET, 'platforms/solo.yaml': withPackages({ 'no-such-package-xyz': '^1.0.0' }) });
    const run = await runMyt(['validate'], root, { NPM_CONFIG_REGISTRY: `http://127.0.0.1:${port}` });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`note: http://127.0.0.1:${port}/ could not be reached (ECONNREFUSED), so no-such-package-xyz was not checked against the registry`);
  });
});
