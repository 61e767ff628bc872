// bundleProcessor: one file for the VM, holding the processor, the user's script and its packages.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { MytError } from '../../src/errors.js';
import { bundleProcessor } from '../../src/processor/bundle.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'myt-bundle-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A user's repository: a TS script importing a package installed in a separate folder. */
function userRepo(importName: string): { script: string; packages: string } {
  const repo = mkdtempSync(join(dir, 'repo-'));
  const packages = join(repo, 'installed');
  const pkg = join(packages, 'node_modules', 'celsius-to-kelvin');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'celsius-to-kelvin', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), "module.exports = (c) => c + 273.15; module.exports.MARKER = 'kelvin-package-marker';\n");
  const script = join(repo, 'script.ts');
  writeFileSync(
    script,
    `import toKelvin from '${importName}';\n` +
      'interface M { measurement: string; data: { temperature: number } }\n' +
      'export default (m: M) => ({ ...m, data: { temperature: toKelvin(m.data.temperature) } });\n',
  );
  return { script, packages };
}

describe('bundleProcessor', () => {
  it("bundles the processor with a TypeScript script and the script's packages from the given folder into one runnable file", async () => {
    const { script, packages } = userRepo('celsius-to-kelvin');
    const outfile = join(dir, 'with-script.mjs');
    const result = await bundleProcessor({ outfile, script, packagesDir: packages });
    expect(result.outfile).toBe(outfile);
    const code = readFileSync(outfile, 'utf8');
    expect(code).toContain('kelvin-package-marker');
    expect(code).toContain('273.15');
    // Run from a folder with no node_modules: everything it needs is inside. Bad config → exit 2.
    const copy = join(mkdtempSync(join(tmpdir(), 'myt-vm-')), 'processor.mjs');
    writeFileSync(copy, code);
    const failed = await run(process.execPath, [copy], { env: { PATH: process.env.PATH, MYT_DB_ENGINE: 'nope' } }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toMatch(/MYT_DB_ENGINE must be one of/);
  });

  it('says which import could not be resolved when a package is missing', async () => {
    const { script, packages } = userRepo('not-installed-anywhere');
    await expect(bundleProcessor({ outfile: join(dir, 'missing.mjs'), script, packagesDir: packages })).rejects.toThrow(MytError);
    await expect(bundleProcessor({ outfile: join(dir, 'missing.mjs'), script, packagesDir: packages })).rejects.toThrow(/not-installed-anywhere/);
  });

  it('refuses a script path that does not exist', async () => {
    await expect(bundleProcessor({ outfile: join(dir, 'x.mjs'), script: join(dir, 'nope.ts') })).rejects.toThrow(/processing script not found/);
  });
});
