// @ts-check
// Mutation testing of the safety-critical modules with StrykerJS, one group at a time:
// `npm run mutate` (scripts/mutate.ts) runs Stryker once per group below, each mutant against
// only the group's own tests (vitest.mutate.config.ts), and prints the score of every module.
// Not part of `npm test` or CI: it takes about half an hour here (docs/testing.md). The processor's
// ack, dead-letter and drain path is not a group: its tests run the bundled processor as a child
// process, where Stryker cannot switch mutants on (docs/testing.md says how it is checked instead).
import process from 'node:process';

/**
 * Each group: the code mutated (a file, or `file:from-to` lines where a module holds more than its
 * safety-critical part) and the tests its mutants run against. Narrowed so that one run of every
 * default group stays around half an hour on this two-core machine.
 * @type {Record<string, { mutate: string[]; tests: string[]; optIn?: boolean }>}
 */
export const GROUPS = {
  // every decrypted value masked, in each form it is printed
  masking: { mutate: ['src/secrets/masking.ts'], tests: ['tests/secrets/masking.test.ts'] },
  // what sops hashes for the MAC and how: which values are encrypted, the value path, the MAC's
  // additional data, decryption with the MAC check, encryption with the MAC, the bytes of each
  // scalar kind, the scalar kinds read from YAML and JSON
  sops: {
    mutate: ['src/secrets/sops-file.ts:126-214', 'src/secrets/sops-file.ts:246-259', 'src/secrets/sops-cipher.ts:20-59', 'src/secrets/sops-tree.ts:59-92'],
    tests: ['tests/secrets/sops-vectors.test.ts', 'tests/secrets/sops-format.test.ts'],
  },
  // what counts as losing data, refusing it without --allow-data-loss, destroy's opt-in and typed name
  guards: {
    mutate: ['src/infra/terraform/plan-summary.ts:43-87', 'src/infra/apply-stack.ts:80-90', 'src/cli/commands/apply.ts:65-65', 'src/cli/commands/destroy.ts:48-62'],
    tests: ['tests/infra/plan-summary.test.ts', 'tests/infra/apply-guards.test.ts', 'tests/infra/commands.test.ts'],
  },
  // cross-file validation rules, paths that stay in the repository, names that reach SQL
  validation: {
    mutate: ['src/config/checks.ts:74-145', 'src/config/repo-path.ts', 'src/config/sql-names.ts:35-37'],
    tests: ['tests/config/broken-suite.test.ts', 'tests/config/hostile-input.test.ts'],
  },
  // a stopped Terraform's whole process group: the signals, the grace period, the kill at exit
  'run-process': { mutate: ['src/infra/terraform/run-process.ts:61-86', 'src/infra/terraform/run-process.ts:106-110'], tests: ['tests/infra/run-process.test.ts'] },
};

const name = process.env.MYT_MUTATE_GROUP ?? '';
const group = GROUPS[name];
if (group === undefined) throw new Error(`MYT_MUTATE_GROUP must name one of: ${Object.keys(GROUPS).join(', ')} (npm run mutate sets it)`);
// Read by vitest.mutate.config.ts in Stryker's test-runner processes, which inherit our environment.
process.env.MYT_MUTATE_TESTS = group.tests.join(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  mutate: group.mutate,
  coverageAnalysis: 'perTest',
  plugins: ['@stryker-mutator/vitest-runner', './scripts/stryker-ignore-messages.mjs'],
  ignorers: ['error-messages'],
  concurrency: 2, // two cores, shared
  // Tests here start processes (a stand-in terraform, the CLI): room before a mutant counts as a time-out.
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  thresholds: { high: 90, low: 80, break: null },
  // Stryker would add '// @ts-nocheck' to every TypeScript file, test fixtures included (one is a
  // script with a syntax error at a known line); nothing here type-checks at test time.
  disableTypeChecks: false,
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['reports', '.myt', 'coverage'],
};
