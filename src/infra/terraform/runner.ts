import { spawn as nodeSpawn } from 'node:child_process';
import { MytError } from '../../errors.js';
import type { TerraformBinary } from './find-binary.js';
import { runProcess, type RunResult, type SpawnFn } from './run-process.js';
import type { TerraformPlanJson } from './plan-summary.js';

export interface RunnerOptions {
  readonly binary: TerraformBinary;
  /** The stack's working folder (holding cdk.tf.json). */
  readonly dir: string;
  /** The child's whole environment (see terraformEnv): credentials live only here. */
  readonly env: Record<string, string>;
  /** Progress, one line at a time. */
  readonly log: (line: string) => void;
  /** Per command. Default: 30 minutes. */
  readonly timeoutMs?: number;
  /** After a timeout, how long Terraform gets to stop cleanly before it is killed. Default: 30 s. */
  readonly graceMs?: number;
  readonly spawn?: SpawnFn;
  /** Applied to every line before it is logged or put in an error (src/secrets' maskSecrets). */
  readonly mask?: (line: string) => string;
  /** See RunOptions.signals. */
  readonly signals?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
}

/**
 * Terraform exited with an error. Its messages were streamed to the log as it ran, so the error
 * points there rather than repeating them; `result.stderrTail` keeps the last lines (masked) for
 * reports that are read apart from the log.
 */
export class TerraformError extends MytError {
  override readonly name = 'TerraformError';
  constructor(
    readonly command: string,
    readonly result: Pick<RunResult, 'code' | 'signal' | 'stderrTail' | 'timedOut' | 'interrupted'>,
    seconds: number,
  ) {
    const how = result.interrupted
      ? 'was interrupted and stopped (its state is kept)'
      : result.timedOut
      ? `timed out after ${seconds} s and was stopped`
      : result.signal
        ? `was killed by ${result.signal}`
        : `failed (exit ${result.code})`;
    const said = result.stderrTail.some((l) => l.trim() !== '');
    super(`terraform ${command} ${how}${said ? " (Terraform's messages are above)" : ''}`);
  }
}

/** Wait this long for another run's state lock (two CI jobs at once) instead of failing at once. */
const LOCK_TIMEOUT = '-lock-timeout=5m';

export type TerraformOutputs = Record<string, { value: unknown; type: unknown; sensitive: boolean }>;

const SAFE_PARENT_ENV = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TMPDIR', 'TEMP', 'TMP',
  'TF_CLI_CONFIG_FILE', 'TF_PLUGIN_CACHE_DIR', 'TF_REGISTRY_CLIENT_TIMEOUT',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
];

/**
 * Terraform's debug log: it holds requests and state with credentials in them, written to a file
 * (TF_LOG_PATH) or stderr that MyT's masking never sees. Passed on only when MYT_TF_LOG=1 asks.
 */
export const TF_LOG_VARIABLES = ['TF_LOG', 'TF_LOG_CORE', 'TF_LOG_PROVIDER', 'TF_LOG_PATH'];

/** What to tell a person about TF_LOG* in our environment, if anything. */
export function terraformLogNotice(parent: NodeJS.ProcessEnv): string | undefined {
  const set = TF_LOG_VARIABLES.filter((name) => parent[name]);
  if (set.length === 0) return undefined;
  return parent.MYT_TF_LOG === '1'
    ? `warning: ${set.join(', ')} passed on to Terraform (MYT_TF_LOG=1): its debug log is not masked and can hold credentials; delete it when done`
    : `note: ${set.join(', ')} not passed on to Terraform: its debug log is not masked and can hold credentials (set MYT_TF_LOG=1 to pass it on anyway)`;
}

/**
 * Terraform's whole environment: the harmless basics of ours (PATH, HOME, proxies, CLI config),
 * non-interactive automation settings, and the credentials given. Nothing else of our
 * environment (no other secret that happens to be there) reaches the child, nor TF_LOG* unless
 * MYT_TF_LOG=1 asks for it.
 */
export function terraformEnv(parent: NodeJS.ProcessEnv, credentials: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...SAFE_PARENT_ENV, ...(parent.MYT_TF_LOG === '1' ? TF_LOG_VARIABLES : [])]) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', ...credentials };
}

/**
 * A spawn whose child starts with umask 077, so every file Terraform writes (state, its backup,
 * saved plans, .terraform/) is readable by its owner only: state and plans hold secrets in plain
 * text. The umask is ours for the instant of the spawn call (the child inherits it at fork).
 */
export function ownerOnlySpawn(spawnFn: SpawnFn = nodeSpawn): SpawnFn {
  return (command, args, options) => {
    const previous = process.umask(0o077);
    try {
      return spawnFn(command, args, options);
    } finally {
      process.umask(previous);
    }
  };
}

/** The Terraform CLI, driven one command at a time in one stack's working folder. */
export class TerraformRunner {
  private readonly timeoutMs: number;

  constructor(private readonly options: RunnerOptions) {
    this.timeoutMs = options.timeoutMs ?? 30 * 60_000;
  }

  /**
   * How long Terraform may take to stop after SIGINT. During apply and destroy it is waiting for cloud
   * calls in flight (a VM can take minutes) before it writes state: killing it sooner would leave
   * resources that exist but are missing from the state, so those get ten minutes.
   */
  private graceFor(command: string): number {
    return this.options.graceMs ?? (command === 'apply' || command === 'destroy' ? 10 * 60_000 : 30_000);
  }

  async init(): Promise<void> {
    await this.run('init', ['init', '-input=false', '-no-color']);
  }

  /** Saves a plan to `planFile`; true when it would change something (-detailed-exitcode 2). */
  async plan(planFile: string, { destroy = false }: { destroy?: boolean } = {}): Promise<boolean> {
    const args = ['plan', '-input=false', '-no-color', '-detailed-exitcode', LOCK_TIMEOUT, `-out=${planFile}`];
    if (destroy) args.push('-destroy');
    const result = await this.run('plan', args, { okCodes: [0, 2] });
    return result.code === 2;
  }

  /** The saved plan as Terraform's JSON plan representation. */
  async show(planFile: string): Promise<TerraformPlanJson> {
    const result = await this.run('show', ['show', '-json', '-no-color', planFile], { capture: true });
    return parseJson<TerraformPlanJson>('show -json', result.stdout);
  }

  /** Applies exactly the saved plan: nothing is re-planned, so what was reviewed is what happens. */
  async apply(planFile: string): Promise<void> {
    await this.run('apply', ['apply', '-input=false', '-no-color', LOCK_TIMEOUT, planFile]);
  }

  async output(): Promise<TerraformOutputs> {
    const result = await this.run('output', ['output', '-json', '-no-color'], { capture: true });
    return parseJson<TerraformOutputs>('output -json', result.stdout);
  }

  /** The addresses of every resource in the state (what exists). */
  async stateList(): Promise<string[]> {
    const result = await this.run('state list', ['state', 'list', '-no-color'], { capture: true, okCodes: [0, 1] });
    // `state list` exits 1 when there is no state yet: that means nothing exists.
    if (result.code === 1) return [];
    return result.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  }

  private async run(command: string, args: string[], { capture = false, okCodes = [0] }: { capture?: boolean; okCodes?: number[] } = {}): Promise<RunResult> {
    const { binary, dir, env } = this.options;
    const mask = this.options.mask ?? ((line: string) => line);
    const log = (line: string) => this.options.log(mask(line));
    log(`$ ${binary.flavor} ${args.join(' ')}`);
    let result: RunResult;
    try {
      result = await runProcess(binary.path, args, {
        cwd: dir,
        env,
        captureStdout: capture,
        onLine: (line) => log(line),
        timeoutMs: this.timeoutMs,
        graceMs: this.graceFor(command),
        spawn: ownerOnlySpawn(this.options.spawn),
        signals: this.options.signals,
      });
    } catch (err) {
      throw new MytError(`could not start ${binary.path}: ${(err as Error).message}`);
    }
    if (result.timedOut || result.interrupted || result.code === null || !okCodes.includes(result.code)) {
      throw new TerraformError(command, { ...result, stderrTail: result.stderrTail.map(mask) }, Math.round(this.timeoutMs / 1000));
    }
    return result;
  }
}

function parseJson<T>(what: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new MytError(`terraform ${what} printed something that is not JSON (is this a supported Terraform version?)`);
  }
}
