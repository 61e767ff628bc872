import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface RunOptions {
  readonly cwd: string;
  /** The child's whole environment: nothing is inherited. */
  readonly env: Record<string, string>;
  /** Each line of stdout and stderr as it comes, unless captured. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Keep stdout whole (for -json output) instead of streaming it line by line. */
  readonly captureStdout?: boolean;
  readonly timeoutMs: number;
  /** After the timeout, how long to wait after SIGINT (Terraform's graceful stop) before SIGKILL. */
  readonly graceMs: number;
  readonly spawn?: SpawnFn;
  /**
   * Where SIGINT/SIGTERM for us arrive (default: process). The child has its own process group,
   * so a Ctrl-C at the terminal does not reach it: we pass it on, and wait for Terraform to stop.
   */
  readonly signals?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** The last lines of stderr, for error messages. */
  readonly stderrTail: string[];
  readonly timedOut: boolean;
  /** We were interrupted (Ctrl-C, or the CI job cancelled) and passed it on. */
  readonly interrupted: boolean;
}

const TAIL_LINES = 20;

/**
 * Runs a program with an argument array (never a shell) in its own process group, streaming its
 * output. On timeout, or when we are interrupted, the whole group gets SIGINT, so Terraform can
 * stop cleanly, save state and release its lock, then SIGKILL when the grace period ends or as
 * soon as Terraform has exited, whichever comes first: what it leaves in its group then (a
 * provisioner's command that ignores SIGINT) has nobody waiting for it.
 */
export function runProcess(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const spawnFn = options.spawn ?? spawn;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawnFn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout stops the providers it started too
      shell: false,
    });
    const stdoutChunks: Buffer[] = [];
    const stderrTail: string[] = [];
    let timedOut = false;
    let interrupted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signals = options.signals ?? process;

    const signalGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is already gone
      }
    };
    // SIGINT first: Terraform then finishes what is in flight, saves state and releases its lock.
    const stopGracefully = () => {
      signalGroup('SIGINT');
      killTimer ??= setTimeout(() => signalGroup('SIGKILL'), options.graceMs);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stopGracefully();
    }, options.timeoutMs);
    const onSignal = () => {
      interrupted = true;
      stopGracefully();
    };
    signals.on('SIGINT', onSignal);
    signals.on('SIGTERM', onSignal);
    const cleanUp = () => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      signals.off('SIGINT', onSignal);
      signals.off('SIGTERM', onSignal);
    };

    if (options.captureStdout) child.stdout?.on('data', (chunk: Buffer) => stdoutChunks.push(chunk));
    else if (child.stdout) createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => options.onLine?.(line, 'stdout'));
    if (child.stderr) {
      createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
        stderrTail.push(line);
        if (stderrTail.length > TAIL_LINES) stderrTail.shift();
        options.onLine?.(line, 'stderr');
      });
    }

    child.once('error', (err) => {
      cleanUp();
      reject(err);
    });
    child.once('close', (code, signal) => {
      if (killTimer !== undefined) signalGroup('SIGKILL'); // asked to stop: leave nothing of the group running
      cleanUp();
      resolve({ code, signal, stdout: Buffer.concat(stdoutChunks).toString('utf8'), stderrTail, timedOut, interrupted });
    });
  });
}
