// Terraform plans of chosen platforms, applying nothing: what a pull request is reviewed with. Each
// platform is planned on its own (with its Space first), so one that fails does not hide the rest.
import { MytError, messageOf } from '../errors.js';
import { runStacks } from './run-stacks.js';
import type { SecretsModule } from './secrets-reader.js';
import type { TerraformBinary } from './terraform/find-binary.js';
import type { PlanSummary } from './terraform/plan-summary.js';
import type { SpawnFn } from './terraform/run-process.js';
import { prepareStacks } from './workspace.js';

export interface StackPlanResult {
  readonly stack: string;
  readonly status: 'unchanged' | 'planned';
  readonly summary: PlanSummary;
}

export interface PlatformPlan {
  readonly name: string;
  /** Its Space's stack (when it has one), then its own. */
  readonly stacks: readonly StackPlanResult[];
  /** Why there is no Terraform plan (an existing server), shown instead. */
  readonly note?: string;
  /** Why the plan failed, shown in place of it (masked by the caller's log). */
  readonly error?: string;
}

export interface PlanPlatformsOptions {
  readonly root: string;
  readonly outDir: string;
  readonly names: readonly string[];
  readonly secrets: SecretsModule;
  /** Found only when a platform needs Terraform (an existing server needs none). */
  readonly binary: () => TerraformBinary;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
  readonly timeoutMs?: number;
  readonly spawn?: SpawnFn;
}

export const EXISTING_SERVER_NOTE = 'existing server (cloud provider ssh): no infrastructure';

export async function planPlatforms(opts: PlanPlatformsOptions): Promise<PlatformPlan[]> {
  if (opts.names.length === 0) return [];
  const prepared = await prepareStacks({ root: opts.root, outDir: opts.outDir, readSecrets: opts.secrets.readSecrets, env: opts.env, only: opts.names });
  const byStack = new Map(prepared.stacks.map((s) => [s.name, s] as const));
  const done = new Map<string, StackPlanResult>();
  const out: PlatformPlan[] = [];
  for (const name of opts.names) {
    const declared = prepared.repo.platforms.find((p) => p.doc.metadata.name === name);
    if (!declared) throw new MytError(`no platform named '${name}' is declared under platforms/`);
    const own = byStack.get(name);
    if (!own) {
      out.push({ name, stacks: [], note: EXISTING_SERVER_NOTE });
      continue;
    }
    const stacks = [...own.dependsOn.map((d) => byStack.get(d)!).filter(Boolean), own];
    try {
      const results: StackPlanResult[] = [];
      const todo = stacks.filter((s) => !done.has(s.name));
      if (todo.length) {
        await runStacks({
          root: opts.root,
          stacks: todo,
          folders: prepared.folders,
          backend: prepared.config.state,
          binary: opts.binary(),
          secrets: opts.secrets,
          env: opts.env,
          log: opts.log,
          planOnly: true,
          timeoutMs: opts.timeoutMs,
          spawn: opts.spawn,
          onResult: (stack, result) => done.set(stack.name, { stack: stack.name, status: result.status === 'unchanged' ? 'unchanged' : 'planned', summary: result.summary }),
        });
      }
      for (const s of stacks) results.push(done.get(s.name)!);
      out.push({ name, stacks: results });
    } catch (err) {
      // What was planned before the failure (its Space) is still shown.
      out.push({ name, stacks: stacks.filter((s) => done.has(s.name)).map((s) => done.get(s.name)!), error: opts.secrets.maskSecrets(messageOf(err)) });
    }
  }
  return out;
}
