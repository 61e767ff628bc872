// How tests are skipped: only through tests/helpers/needs.ts, whose titles say why and which fails
// them instead under MYT_REQUIRE_ALL=1 (set by .ci/run).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide } from '../helpers/needs.js';

const TESTS = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

describe('skipping tests', () => {
  it('no test file skips by itself (.skip, .skipIf, .runIf, .todo, a context skip): only tests/helpers/needs.ts does', () => {
    const direct = /\b(?:describe|it|test|suite)\.(?:skip|skipIf|runIf|todo)\b|\b(?:ctx|context|task)\.skip\(/;
    const found: string[] = [];
    for (const file of sources(TESTS)) {
      const rel = relative(TESTS, file);
      if (rel === join('helpers', 'needs.ts') || rel === join('meta', 'skips.test.ts')) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (direct.test(line)) found.push(`tests/${rel}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  it('runs tests whose need is met, under the title they were given', () => {
    expect(decide({ what: 'x', present: true }, 'title', true)).toEqual({ run: true });
  });

  it('skips a missing need with the reason in the title, outside CI', () => {
    expect(decide({ what: '/usr/local/bin/terraform', present: false }, 'the runner', false)).toEqual({
      run: false,
      fail: false,
      title: 'the runner [skipped: needs /usr/local/bin/terraform]',
    });
  });

  it('fails a missing need under MYT_REQUIRE_ALL=1: this machine kind must have it', () => {
    expect(decide({ what: 'a build (npm run build)', present: false }, 'the bin', true)).toEqual({
      run: false,
      fail: true,
      title: 'the bin [needs a build (npm run build), which is missing: MYT_REQUIRE_ALL=1 does not allow skipping it]',
    });
  });

  it('keeps skipping, and says why, a need no machine of this kind can meet, even under MYT_REQUIRE_ALL=1', () => {
    expect(decide({ what: 'sops', present: false, neverHere: 'not packaged for Debian 12' }, 'real sops', true)).toEqual({
      run: false,
      fail: false,
      title: 'real sops [skipped: needs sops; not packaged for Debian 12]',
    });
  });
});
