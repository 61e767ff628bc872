// The committed action bundles are what users run (`uses: <owner>/myt/actions/plan@v1`, no npm ci):
// this fails when a change to the source was committed without `npm run build:actions`.
import { readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ACTIONS, buildActions, filesUnder, RUNTIME_DIR } from '../../scripts/build-actions.js';

const ACTIONS_DIR = join(import.meta.dirname, '../../actions');
const fresh = mkdtempSync(join(tmpdir(), 'myt-actions-'));
afterAll(() => rmSync(fresh, { recursive: true, force: true }));

describe('the committed action bundles', () => {
  it('are exactly what a fresh build makes (run `npm run build:actions` and commit actions/)', async () => {
    await buildActions(fresh);
    const built = [...ACTIONS.flatMap((a) => filesUnder(join(fresh, a, 'dist')).map((f) => `${a}/dist/${f}`)), ...filesUnder(join(fresh, RUNTIME_DIR)).map((f) => `${RUNTIME_DIR}/${f}`)];
    const committed = [...ACTIONS.flatMap((a) => filesUnder(join(ACTIONS_DIR, a, 'dist')).map((f) => `${a}/dist/${f}`)), ...filesUnder(join(ACTIONS_DIR, RUNTIME_DIR)).map((f) => `${RUNTIME_DIR}/${f}`)];
    expect(committed, 'files differ: rebuild with npm run build:actions').toEqual(built);
    const stale = built.filter((f) => !readFileSync(join(fresh, f)).equals(readFileSync(join(ACTIONS_DIR, f))));
    expect(stale, 'these committed files differ from a fresh build: run npm run build:actions').toEqual([]);
    // The WebAssembly esbuild runner must stay executable (git keeps the mode).
    expect(statSync(join(ACTIONS_DIR, RUNTIME_DIR, 'esbuild/bin/esbuild')).mode & 0o111).not.toBe(0);
    for (const a of ACTIONS) expect(built).toContain(`${a}/dist/index.js`);
  }, 120_000);
});
