// @ts-check
// Mutation testing of the safety-critical modules with StrykerJS, one group at a time:
// `npm run mutate` (scripts/mutate.ts) runs Stryker once per group below, each mutant against
// only the group's own tests (vitest.mutate.config.ts), and prints the score of every module.
// Not part of `npm test` or CI: it takes about half an hour here (docs/testing.md).
// The `processor` group runs only when named (`npm run mutate -- processor`): its tests stop and
// restart the shared broker and databases.
import process from 'node:process';

/** @type {Record<string, { mutate: string[]; tests: string[]; optIn?: boolean }>} */
export const GROUPS = {
  // every decrypted value masked, in each form it is printed
  masking: { mutate: ['src/secrets/masking.ts'], tests: ['tests/secrets/masking.test.ts'] },
  // SOPS metadata, MAC, value paths; the tree the MAC covers; the bytes sops encrypts and hashes
  sops: {
    mutate: ['src/secrets/sops-file.ts', 'src/secrets/sops-tree.ts', 'src/secrets/sops-cipher.ts'],
    tests: ['tests/secrets/sops-format.test.ts', 'tests/secrets/sops-vectors.test.ts', 'tests/secrets/hostile-files.test.ts'],
  },
  // what counts as losing data, refusing it without --allow-data-loss, destroy's opt-in and typed name
  guards: {
    mutate: ['src/infra/terraform/plan-summary.ts', 'src/infra/apply-stack.ts', 'src/cli/commands/apply.ts', 'src/cli/commands/destroy.ts'],
    tests: ['tests/infra/plan-summary.test.ts', 'tests/infra/apply-guards.test.ts', 'tests/infra/commands.test.ts'],
  },
  // cross-file validation rules, paths that stay in the repository, names that reach SQL
  validation: {
    mutate: ['src/config/checks.ts', 'src/config/repo-path.ts', 'src/config/sql-names.ts'],
    tests: ['tests/config/broken-suite.test.ts', 'tests/config/hostile-input.test.ts'],
  },
  // a stopped Terraform's whole process group
  'run-process': { mutate: ['src/infra/terraform/run-process.ts'], tests: ['tests/infra/run-process.test.ts'] },
  // ack only after commit, dead letters confirmed first, SIGTERM drains
  processor: {
    optIn: true,
    mutate: ['processor/src/processor.ts', 'processor/src/run.ts', 'processor/src/consumer.ts', 'processor/src/pipeline.ts'],
    tests: ['tests/processor/pipeline-parts.test.ts', 'tests/processor/consumer.test.ts', 'tests/processor/mysql.test.ts', 'tests/processor/timescale.test.ts'],
  },
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
