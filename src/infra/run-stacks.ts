import type { SpawnFn } from './terraform/run-process.js';
import { runStack, type StackRunResult } from './apply-stack.js';
import { backendRequirement } from './backend.js';
import { backendEnv, hostKeyEnv, mergeEnv, providerEnv } from './credentials.js';
import type { ResolvedStateBackend } from '../config/repo-config.js';
import type { SecretsModule } from './secrets-reader.js';
import type { SynthesizedStack } from './stacks.js';
import type { TerraformBinary } from './terraform/find-binary.js';
import type { PlanSummary } from './terraform/plan-summary.js';
import { refuseTrackedState, protectLocalState } from './state-guard.js';
import { terraformEnv, terraformLogNotice, TerraformRunner } from './terraform/runner.js';
import { ensureTerraformVersion } from './terraform/version.js';

export interface RunStacksOptions {
  readonly root: string;
  readonly stacks: readonly SynthesizedStack[];
  readonly folders: ReadonlyMap<string, string>;
  readonly backend: ResolvedStateBackend;
  readonly binary: TerraformBinary;
  readonly secrets: SecretsModule;
  /** Our environment: SOPS keys are read from it; only harmless basics of it reach Terraform. */
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
  readonly allowDanger?: boolean;
  readonly destroy?: boolean;
  /** Plan each stack and apply nothing (see StackRunOptions.planOnly). */
  readonly planOnly?: boolean;
  /** Asked before each stack's plan is applied (see StackRunOptions.confirm). */
  readonly confirm?: (stack: SynthesizedStack, summary: PlanSummary) => Promise<boolean>;
  readonly timeoutMs?: number;
  readonly spawn?: SpawnFn;
  /** Told when each stack is done, before the next starts. */
  readonly onResult?: (stack: SynthesizedStack, result: StackRunResult) => void;
}

/**
 * Runs the stacks in the order given (Spaces before their platforms), one at a time, each with
 * only its own credentials in Terraform's environment. Stops at the first failure: a platform is
 * never applied on top of a Space that failed.
 */
export async function runStacks(opts: RunStacksOptions): Promise<StackRunResult[]> {
  // Before any secret is decrypted or any stack initialised: an old binary is named up front.
  await ensureTerraformVersion(opts.binary, backendRequirement(opts.backend), { env: terraformEnv(opts.env, {}), cwd: opts.root, spawn: opts.spawn });
  const results: StackRunResult[] = [];
  refuseTrackedState(opts.root, opts.backend, opts.stacks.map((s) => s.name));
  protectLocalState(opts.root, opts.backend);
  const logNotice = terraformLogNotice(opts.env);
  if (logNotice) opts.log(logNotice);
  const credentialOptions = { root: opts.root, readSecrets: opts.secrets.readSecrets, env: opts.env, registerSecret: opts.secrets.registerSecret };
  const backend = await backendEnv(opts.backend, credentialOptions, opts.env);
  for (const stack of opts.stacks) {
    const dir = opts.folders.get(stack.name);
    if (dir === undefined) throw new Error(`stack ${stack.name} was not written`);
    const credentials = { ...mergeEnv(stack.name, await providerEnv(stack.credentials, credentialOptions), backend), ...(await hostKeyEnv(stack.hostKeyFile, credentialOptions)) };
    const runner = new TerraformRunner({
      binary: opts.binary,
      dir,
      env: terraformEnv(opts.env, credentials),
      log: (line) => opts.log(`[${stack.name}] ${line}`),
      mask: opts.secrets.maskSecrets,
      timeoutMs: opts.timeoutMs,
      spawn: opts.spawn,
    });
    const result = await runStack(stack, {
      dir,
      runner,
      log: (text) => opts.log(opts.secrets.maskSecrets(text)),
      allowDanger: opts.allowDanger,
      destroy: opts.destroy,
      planOnly: opts.planOnly,
      confirm: opts.confirm && ((summary) => opts.confirm!(stack, summary)),
    });
    results.push(result);
    opts.onResult?.(stack, result);
  }
  return results;
}
