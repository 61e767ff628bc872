import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MytError, messageOf } from '../errors.js';
import type { SynthesizedStack } from './stacks.js';
import { formatPlanSummary, summarizePlan, type PlanSummary } from './terraform/plan-summary.js';
import type { TerraformOutputs, TerraformRunner } from './terraform/runner.js';

/** The saved plan, in the stack's folder while it is applied; removed afterwards. */
export const PLAN_FILE = 'myt.tfplan';
/** Non-sensitive outputs of the last apply (the public IP), for the deploy step. */
export const OUTPUTS_FILE = 'outputs.json';

export interface StackRunOptions {
  readonly dir: string;
  readonly runner: TerraformRunner;
  readonly log: (line: string) => void;
  /** Apply even when the plan would lose the data volume or the VM. Default: false. */
  readonly allowDanger?: boolean;
  /** Plan and apply the destruction of the stack. Default: false. */
  readonly destroy?: boolean;
  /** Asked after the plan is shown and before it is applied; false stops with nothing changed. */
  readonly confirm?: (summary: PlanSummary) => Promise<boolean>;
  /** Stop after the plan (a pull request's review): nothing is applied. Default: false. */
  readonly planOnly?: boolean;
}

export interface StackRunResult {
  readonly status: 'unchanged' | 'planned' | 'applied' | 'destroyed';
  readonly summary: PlanSummary;
  readonly outputs: Record<string, unknown>;
}

/** What a stack's run did, in words: `up to date` or `applied (1 added, 0 changed, 0 destroyed)`. */
export function describeRun(result: StackRunResult): string {
  return result.status === 'unchanged' ? 'up to date' : `applied (${result.summary.add} added, ${result.summary.change} changed, ${result.summary.destroy} destroyed)`;
}

/** An apply failed part-way: nothing was destroyed, and `existing` is what the state now holds. */
export class ApplyFailedError extends MytError {
  override readonly name = 'ApplyFailedError';
  constructor(
    readonly stackName: string,
    cause: unknown,
    readonly existing: readonly string[] | undefined,
  ) {
    const exists =
      existing === undefined
        ? 'What exists could not be read from the state.'
        : existing.length
          ? `These resources exist and are kept in its state:\n  ${existing.join('\n  ')}`
          : 'Nothing of it exists yet.';
    super(
      `apply of stack ${stackName} failed; nothing was rolled back or destroyed. ${exists}\n` +
        `Fix the cause and apply again: Terraform continues from what exists.\nCause: ${messageOf(cause)}`,
    );
  }
}

export interface StackPlan {
  /** True when the plan would change something (-detailed-exitcode 2). */
  readonly changed: boolean;
  readonly summary: PlanSummary;
}

/**
 * init, plan -out (saved as PLAN_FILE in the stack's folder) and its summary, without applying:
 * what `myt apply` shows first, and what scheduled drift detection needs (changes and drift).
 */
export async function planStack(stack: SynthesizedStack, runner: TerraformRunner, { destroy = false }: { destroy?: boolean } = {}): Promise<StackPlan> {
  await runner.init();
  const changed = await runner.plan(PLAN_FILE, { destroy });
  return { changed, summary: summarizePlan(await runner.show(PLAN_FILE), stack.protects) };
}

/**
 * init, plan -out, show -json (summary), then apply of exactly that saved plan, then outputs.
 * A plan that would lose data stops here unless allowed. A failed apply keeps the state and says
 * what exists: the older system destroyed everything at this point.
 */
export async function runStack(stack: SynthesizedStack, opts: StackRunOptions): Promise<StackRunResult> {
  const { runner, log } = opts;
  const planFile = join(opts.dir, PLAN_FILE);
  try {
    const { changed, summary } = await planStack(stack, runner, { destroy: opts.destroy });
    log(formatPlanSummary(stack.name, summary));
    if (!changed) {
      return { status: 'unchanged', summary, outputs: opts.destroy || opts.planOnly ? {} : await readOutputs(opts.dir, runner) };
    }
    if (opts.planOnly) return { status: 'planned', summary, outputs: {} };
    if (summary.dangerous && !opts.allowDanger) {
      throw new MytError(
        `stack ${stack.name}: refusing to apply a plan that would lose data or the platform:\n  ${summary.warnings.join('\n  ')}\n` +
          'If this is intended, run again with --allow-data-loss.',
      );
    }
    if (opts.confirm && !(await opts.confirm(summary))) {
      throw new MytError(`stack ${stack.name}: not confirmed, so nothing was changed`);
    }
    try {
      await runner.apply(PLAN_FILE);
    } catch (err) {
      const existing = await runner.stateList().catch(() => undefined);
      throw new ApplyFailedError(stack.name, err, existing);
    }
    if (opts.destroy) return { status: 'destroyed', summary, outputs: {} };
    return { status: 'applied', summary, outputs: await readOutputs(opts.dir, runner) };
  } finally {
    rmSync(planFile, { force: true });
  }
}

async function readOutputs(dir: string, runner: TerraformRunner): Promise<Record<string, unknown>> {
  const outputs: TerraformOutputs = await runner.output();
  const plain = Object.fromEntries(Object.entries(outputs).filter(([, o]) => !o.sensitive).map(([k, o]) => [k, o.value]));
  writeFileSync(join(dir, OUTPUTS_FILE), `${JSON.stringify(plain, null, 2)}\n`);
  return plain;
}
