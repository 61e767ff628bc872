// The layering of src/ (../shared design): front doors (cli/, actions/) -> the core (infra/,
// validation/, secrets/, config/) -> errors.ts. The core never imports a front door; config/ (the
// format) knows nothing of how secrets are read; checks that need both live in validation/, above
// both. processor/ is a separate deployable and imports nothing from src/. Imports are read with
// the TypeScript compiler's own scanner (static, re-exports and dynamic import()).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const PROJECT = join(import.meta.dirname, '../..');

/** What each part of src/ may import, besides itself. A part not listed may import anything but a front door. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  '(root)': [],
  config: ['(root)'],
  secrets: ['config', '(root)'],
  validation: ['config', 'secrets', '(root)'],
  infra: ['validation', 'secrets', 'config', '(root)'],
  processor: ['config', '(root)'],
  // The GitOps loop: what changed (read from git), GitHub's REST API, and `myt init`.
  changes: ['config', '(root)'],
  github: ['secrets', '(root)'],
  init: ['config', 'secrets', '(root)'],
  // The deploy step (src/deploy): the core that puts a platform on its host; no front door.
  deploy: ['bundle', 'infra', 'validation', 'secrets', 'tls', 'config', '(root)'],
};
const FRONT_DOORS = ['cli', 'actions'];

function tsFiles(dir: string): string[] {
  return readdirSync(join(PROJECT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.m?ts$/.test(f))
    .map((f) => join(dir, f));
}

/** Relative imports of a file, as project paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(PROJECT, file), 'utf8'), true, true);
  return info.importedFiles.map((i) => i.fileName).filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(file), s)));
}

/** The part of src/ a path is in: its first folder, or '(root)' for files directly in src/. */
function partOf(path: string): string {
  const parts = relative('src', path).split(sep);
  return parts.length > 1 ? parts[0]! : '(root)';
}

function layeringViolations(): string[] {
  const out: string[] = [];
  for (const file of tsFiles('src')) {
    const from = partOf(file);
    for (const target of importsOf(file)) {
      const to = partOf(target);
      if (to === from) continue;
      const allowed = MAY_IMPORT[from];
      if (allowed ? !allowed.includes(to) : FRONT_DOORS.includes(to)) out.push(`${file} imports ${target} (${from} -> ${to})`);
    }
  }
  for (const file of tsFiles('processor/src')) {
    for (const target of importsOf(file)) if (target.startsWith(`src${sep}`)) out.push(`${file} imports ${target} (processor/ is deployed alone)`);
  }
  return out;
}

describe('the layering of src/', () => {
  it('reads imports of every kind (so an empty list below means something)', () => {
    const all = tsFiles('src').flatMap(importsOf);
    expect(all.length).toBeGreaterThan(100);
    // a dynamic import() and a re-export are seen too
    expect(importsOf(join('src', 'infra', 'secrets-reader.ts'))).toContain(join('src', 'secrets', 'index.js'));
    expect(importsOf(join('src', 'secrets', 'index.ts'))).toContain(join('src', 'secrets', 'masking.js'));
  });

  it('has no import against the grain: the core never imports a front door, config/ never imports secrets/', () => {
    expect(layeringViolations()).toEqual([]);
  });
});
