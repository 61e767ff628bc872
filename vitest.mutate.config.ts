// The tests Stryker runs against each mutant: the group's own (MYT_MUTATE_TESTS, set by
// stryker.config.mjs from its GROUPS), so a mutant of one module never waits on another's tests.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

const tests = process.env.MYT_MUTATE_TESTS?.split(',').filter(Boolean);
if (!tests?.length) throw new Error('vitest.mutate.config.ts is for `npm run mutate`: MYT_MUTATE_TESTS names the test files');

// Not mergeConfig: it would append to the base's include list instead of replacing it.
export default defineConfig({ ...base, test: { ...base.test, include: tests } });
