// A vitest reporter added after the default one: it names every skipped test at the end of a run,
// so a skip is never only a number in the totals. Titles say why (tests/helpers/needs.ts).
import type { Reporter, TestModule } from 'vitest/node';

export default class SkipSummary implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const skipped = modules.flatMap((m) => [...m.children.allTests('skipped')].map((t) => `  ${m.relativeModuleId} > ${t.fullName}`));
    if (skipped.length === 0) return;
    process.stdout.write(`\nSkipped (${skipped.length}), each saying why:\n${skipped.join('\n')}\n`);
  }
}
