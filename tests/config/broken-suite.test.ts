import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/config/repository.js';

// Each file in tests/fixtures/repo/broken/ has exactly one problem, stated on its first line:
//   # expect: [file=PATH] LINE:COL TEXT-IN-MESSAGE
// It is validated inside the fixture repository, so references resolve as in a real one.
const ROOT = join(import.meta.dirname, '../fixtures/repo');
const cases = readdirSync(join(ROOT, 'broken'))
  .filter((f) => f.endsWith('.yaml'))
  .map((name) => {
    const header = readFileSync(join(ROOT, 'broken', name), 'utf8').split('\n')[0] ?? '';
    const m = /^# expect: (?:file=(\S+) )?(\d+):(\d+) (.+)$/.exec(header);
    if (!m) throw new Error(`broken/${name} has no '# expect:' header`);
    return { name, file: m[1] ?? `broken/${name}`, line: Number(m[2]), col: Number(m[3]), text: m[4]! };
  });

describe('the broken-file suite', () => {
  it('has at least 40 files', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)('$name: reports exactly its one problem at its file, line and column', async (c) => {
    const repo = await loadRepository(ROOT, [`broken/${c.name}`]);
    expect(repo.problems).toHaveLength(1);
    const [problem] = repo.problems;
    expect(problem).toMatchObject({ file: c.file, line: c.line, col: c.col });
    expect(problem!.message).toContain(c.text);
  });

  it('finds no problem in the fixture repository itself', async () => {
    const repo = await loadRepository(ROOT);
    expect(repo.problems).toEqual([]);
    expect(repo.platforms.map((p) => p.doc.metadata.name)).toEqual(['alpha']);
    expect(repo.spaces.map((s) => s.doc.metadata.name).sort()).toEqual(['aws-net', 'os-net']);
  });
});
