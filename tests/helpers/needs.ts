// The one way a test here is skipped: it names what it needs, and its title says when it was
// skipped and why (the skip summary at the end of a run lists them). With MYT_REQUIRE_ALL=1, which
// .ci/run sets, a test whose need this project's machine kind provides (a service, a program, a
// build) fails instead of being skipped: CI cannot pass while quietly not running it. Only a need
// no machine of this kind can meet (`neverHere`) stays skipped there, and says so.
import { describe, it } from 'vitest';
import { SKIP_MARK } from './skip-summary.js';

export interface Need {
  /** What is needed, for the title: "/usr/local/bin/terraform", "a build (npm run build)". */
  readonly what: string;
  /** Whether it is here. */
  readonly present: boolean;
  /** Why no machine of this project's kind can have it; such tests stay skipped even in CI. */
  readonly neverHere?: string;
}

export type Decision = { readonly run: true } | { readonly run: false; readonly title: string; readonly fail: boolean };

/** Whether tests with this need run, are skipped (and the title they carry then), or fail. */
export function decide(need: Need, title: string, requireAll = process.env.MYT_REQUIRE_ALL === '1'): Decision {
  if (need.present) return { run: true };
  if (need.neverHere !== undefined) return { run: false, fail: false, title: `${title} ${SKIP_MARK}needs ${need.what}; ${need.neverHere}]` };
  if (requireAll) return { run: false, fail: true, title: `${title} [needs ${need.what}, which is missing: MYT_REQUIRE_ALL=1 does not allow skipping it]` };
  return { run: false, fail: false, title: `${title} ${SKIP_MARK}needs ${need.what}]` };
}

function failing(need: Need): () => never {
  return () => {
    throw new Error(`${need.what} is missing on this machine, and every machine of this project's kind must have it (.ci/services.sh installs what it can)`);
  };
}

/** `describe` for tests that need something; see the top of this file. */
export function describeNeeding(need: Need, title: string, body: () => void): void {
  const d = decide(need, title);
  if (d.run) describe(title, body);
  else if (d.fail) describe(d.title, () => it('cannot run', failing(need)));
  else describe.skip(d.title, body);
}

/** `it` for a test that needs something; see the top of this file. */
export function itNeeding(need: Need, title: string, fn: () => void | Promise<void>): void {
  const d = decide(need, title);
  if (d.run) it(title, fn);
  else if (d.fail) it(d.title, failing(need));
  else it.skip(d.title, fn);
}
