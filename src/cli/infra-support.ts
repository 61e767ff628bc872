import { resolve } from 'node:path';
import { findRepoRoot, requireMytRepository } from '../config/find-root.js';
import { UsageError } from '../errors.js';
import { findTerraform, type TerraformBinary } from '../infra/terraform/find-binary.js';
import type { SpawnFn } from '../infra/terraform/run-process.js';
import { loadSecretsModule, type SecretsModule } from '../infra/secrets-reader.js';
import { DEFAULT_OUT_DIR } from '../infra/workspace.js';
import type { CliContext } from './context.js';
import { promptLine } from './prompt.js';

// What plan, apply and destroy share on the command line: their side effects, options and help.

/** The side effects of plan, apply and destroy; tests pass fakes, the CLI uses the real ones. */
export interface InfraDeps {
  readonly secrets: () => Promise<SecretsModule>;
  readonly findTerraform: (env: NodeJS.ProcessEnv) => TerraformBinary;
  readonly spawn?: SpawnFn;
  /** Asks a person at the terminal and returns the answer. */
  readonly prompt: (question: string) => Promise<string>;
}

export const realInfraDeps: InfraDeps = {
  secrets: loadSecretsModule,
  findTerraform: (env) => findTerraform(env),
  prompt: promptLine,
};

/** Options every infrastructure command takes. */
export const COMMON_OPTIONS = {
  root: { type: 'string' },
  out: { type: 'string' },
} as const;

export const COMMON_HELP = `  --root DIR          repository root (default: the nearest folder upwards with myt.yaml,
                      platforms/ or .git)
  --out DIR           where each stack's cdk.tf.json is written, one folder per stack
                      (default: ${DEFAULT_OUT_DIR})`;

export function rootAndOut(ctx: CliContext, values: { root?: string; out?: string }): { root: string; outDir: string } {
  const root = findRepoRoot(ctx.cwd, values.root);
  requireMytRepository(root);
  const outDir = values.out === undefined ? resolve(root, DEFAULT_OUT_DIR) : resolve(ctx.cwd, values.out);
  return { root, outDir };
}

/** `--timeout MINUTES` as milliseconds per Terraform command. */
export function timeoutOption(command: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const minutes = Number(value);
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) throw new UsageError(`${command}: --timeout must be a number of minutes between 1 and 1440 (got '${value}')`);
  return minutes * 60_000;
}
