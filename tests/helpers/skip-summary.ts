// A vitest reporter added after the default one: it names every test skipped for a missing need at
// the end of a run, so a skip is never only a number in the totals. Their titles say what they
// need (tests/helpers/needs.ts, the only way tests here skip); tests left out by a filter (-t,
// .only) are counted apart.
import type { Reporter, TestModule } from 'vitest/node';

export const SKIP_MARK = '[skipped: ';

export default class SkipSummary implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const named: string[] = [];
    let filtered = 0;
    for (const m of modules) {
      for (const t of m.children.allTests('skipped')) {
        if (t.fullName.includes(SKIP_MARK)) named.push(`  ${m.relativeModuleId} > ${t.fullName}`);
        else filtered++;
      }
    }
    if (named.length) process.stdout.write(`\nSkipped for a missing need (${named.length}):\n${named.join('\n')}\n`);
    if (filtered) process.stdout.write(`\nNot selected by a filter: ${filtered} test(s).\n`);
  }
}
