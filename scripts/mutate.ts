// `npm run mutate [group...]`: Stryker once per group of stryker.config.mjs (default: every group
// not marked optIn), then one table of mutation scores per module. See docs/testing.md.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Group {
  readonly mutate: string[];
  readonly tests: string[];
  readonly optIn?: boolean;
}

/** The parts of Stryker's mutation-testing-report-schema JSON report read here. */
interface Report {
  readonly files: Record<string, { readonly mutants: readonly { readonly status: string }[] }>;
}

const ROOT = join(import.meta.dirname, '..');
// stryker.config.mjs refuses to load without a group; any name does for reading GROUPS.
process.env.MYT_MUTATE_GROUP ??= 'masking';
const CONFIG = '../stryker.config.mjs'; // plain JavaScript: Stryker reads no TypeScript config
const { GROUPS } = (await import(CONFIG)) as { GROUPS: Record<string, Group> };

const asked = process.argv.slice(2);
const unknown = asked.filter((g) => !(g in GROUPS));
if (unknown.length) {
  console.error(`unknown group ${unknown.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}`);
  process.exit(2);
}
const groups = asked.length ? asked : Object.keys(GROUPS).filter((g) => !GROUPS[g]!.optIn);

const failed: string[] = [];
for (const group of groups) {
  console.log(`\n=== mutation group ${group}: ${GROUPS[group]!.mutate.join(', ')}`);
  const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, MYT_MUTATE_GROUP: group } });
  if (run.status !== 0) failed.push(group);
}

// Stryker's score: detected (killed, timed out) over valid mutants (those plus survived and not covered).
const rows: string[][] = [];
for (const group of groups) {
  const file = join(ROOT, 'reports/mutation', `${group}.json`);
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  for (const [path, { mutants }] of Object.entries(report.files)) {
    const count = (...s: string[]) => mutants.filter((m) => s.includes(m.status)).length;
    const detected = count('Killed', 'Timeout');
    const valid = detected + count('Survived', 'NoCoverage');
    rows.push([path, String(detected), String(count('Survived')), String(count('NoCoverage')), valid ? `${((100 * detected) / valid).toFixed(1)} %` : 'n/a']);
  }
}
const header = ['module', 'killed', 'survived', 'no coverage', 'score'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log(`\nMutation score per module:\n${[header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n')}`);
if (failed.length) {
  console.error(`Stryker failed for: ${failed.join(', ')}`);
  process.exit(1);
}
