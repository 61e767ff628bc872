// The user's script in a worker thread, so that a script stuck in a synchronous loop can be stopped:
// no timer in the thread running it could fire. Both ends of the protocol live here.
//
// The worker runs a batch's messages at once (as the script would run in-process) and beats a shared
// counter every 25 ms. When the beat stops for longer than the script time-out, the main thread
// terminates the worker and runs the batch again one message at a time in a fresh one, which names
// the message that blocks: it is dead-lettered with the reason, and the rest of the batch goes on.
// A worker that crashes (an exception outside the script call, process.exit) is handled the same way.
import { Worker, parentPort, workerData } from 'node:worker_threads';
import type { Logger } from './log.js';
import { InlineScriptRunner, runBodies, ScriptLoadError, type ScriptFunction, type ScriptOutput, type ScriptRunner } from './script.js';

/** Marks workerData of a processor started as the script's worker. */
export const SCRIPT_WORKER = 'mytScriptWorker';

const BEAT_MS = 25;
const BEAT = 0; // shared slot: the worker's heartbeat counter
const CURRENT = 1; // shared slot: the message being run alone (isolation), -1 between messages

type ToWorker = { id: number; bodies: readonly string[]; isolate: boolean };
type FromWorker =
  | { kind: 'ready' }
  | { kind: 'load-error'; message: string }
  | { kind: 'one'; id: number; index: number; result: ScriptOutput }
  | { kind: 'done'; id: number; results: ScriptOutput[] };

export interface ScriptWorkerData {
  readonly [SCRIPT_WORKER]: true;
  readonly shared: SharedArrayBuffer;
  readonly timeoutMs: number;
  /** MYT_SCRIPT, when the script is a file rather than compiled into the bundle. */
  readonly scriptPath?: string;
}

/** True in a thread started by ScriptWorkerRunner. */
export function isScriptWorker(): boolean {
  return parentPort !== null && (workerData as Partial<ScriptWorkerData> | undefined)?.[SCRIPT_WORKER] === true;
}

export function scriptWorkerData(): ScriptWorkerData {
  return workerData as ScriptWorkerData;
}

/** Posts to the main thread; a result that cannot be cloned (a function, a symbol) fails its message alone. */
function post(message: FromWorker): void {
  try {
    parentPort!.postMessage(message);
  } catch (err) {
    const passable = (r: ScriptOutput): ScriptOutput => {
      try {
        structuredClone(r);
        return r;
      } catch {
        return { ok: false, stage: 'script', reason: `the script returned a value that cannot be passed on: ${(err as Error).message}`.slice(0, 500) };
      }
    };
    if (message.kind === 'done') parentPort!.postMessage({ ...message, results: message.results.map(passable) });
    else if (message.kind === 'one') parentPort!.postMessage({ ...message, result: passable(message.result) });
    else throw err;
  }
}

/** Worker side: answers batches until the main thread terminates it. */
export function serveScript(script: ScriptFunction): void {
  const port = parentPort!;
  const data = scriptWorkerData();
  const shared = new Int32Array(data.shared);
  const together = new InlineScriptRunner(script, data.timeoutMs);
  setInterval(() => Atomics.add(shared, BEAT, 1), BEAT_MS);
  port.on('message', (job: ToWorker) => {
    void (async () => {
      if (!job.isolate) {
        post({ kind: 'done', id: job.id, results: await together.run(job.bodies) });
        return;
      }
      for (let i = 0; i < job.bodies.length; i++) {
        Atomics.store(shared, CURRENT, i);
        const [result] = await runBodies(script, [job.bodies[i]!], data.timeoutMs);
        Atomics.store(shared, CURRENT, -1);
        post({ kind: 'one', id: job.id, index: i, result: result! });
      }
      post({ kind: 'done', id: job.id, results: [] });
    })();
  });
  post({ kind: 'ready' });
}

/** Reports that the script could not be loaded in the worker (the processor then exits 2). */
export function reportLoadError(message: string): void {
  post({ kind: 'load-error', message });
}

type Listeners = { message: (m: FromWorker) => void; error: (err: Error) => void; exit: (code: number) => void };

/** Attaches listeners for one wait; returns what removes exactly them (Node's Worker has listeners of its own). */
function listen(worker: Worker, on: Listeners): () => void {
  worker.on('message', on.message).on('error', on.error).on('exit', on.exit);
  return () => void worker.off('message', on.message).off('error', on.error).off('exit', on.exit);
}

/** Why an attempt ended early: the worker stopped beating, or it died. */
type Failure = { blocked: string };

export class ScriptWorkerRunner implements ScriptRunner {
  private worker: Worker | undefined;
  private readonly shared = new SharedArrayBuffer(8);
  private nextId = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly file: URL,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly scriptPath?: string,
  ) {}

  /** Starts the worker; rejects with ScriptLoadError when the script does not load (exit code 2). */
  async start(): Promise<void> {
    const data: ScriptWorkerData = { [SCRIPT_WORKER]: true, shared: this.shared, timeoutMs: this.timeoutMs, scriptPath: this.scriptPath };
    const worker = new Worker(this.file, { workerData: data });
    worker.unref(); // the processor's own handles decide when the process may exit
    let detach = () => {};
    await new Promise<void>((resolve, reject) => {
      detach = listen(worker, {
        message: (m) => {
          if (m.kind === 'ready') resolve();
          else if (m.kind === 'load-error') reject(new ScriptLoadError(m.message));
        },
        error: (err) => reject(new ScriptLoadError(`the script's worker failed to start: ${err.message}`)),
        exit: (code) => reject(new ScriptLoadError(`the script's worker exited (${code}) while starting`)),
      });
    }).finally(() => detach());
    // Between batches nobody waits on the worker: an error event without a listener would throw here,
    // and a worker that died meanwhile (a script's timer calling process.exit) is replaced at the next batch.
    worker.on('error', (err) => this.log.warn('script worker failed', { error: err.message }));
    worker.once('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
  }

  /** Batches take turns: a batch that restarts the worker must not cut another one short. */
  run(bodies: readonly string[]): Promise<ScriptOutput[]> {
    const turn = this.queue.then(() => this.runAlone(bodies));
    this.queue = turn.catch(() => {});
    return turn;
  }

  private async runAlone(bodies: readonly string[]): Promise<ScriptOutput[]> {
    if (bodies.length === 0) return [];
    const whole = await this.attempt(bodies, false, () => {});
    if (Array.isArray(whole)) return whole;
    this.log.warn('script blocked or crashed its worker; running the batch one message at a time to find the message', { reason: whole.blocked });
    const results: (ScriptOutput | undefined)[] = new Array<ScriptOutput | undefined>(bodies.length);
    for (;;) {
      // Indexes still without a result: answers posted just before a worker was stopped can be lost.
      const pending = [...results.keys()].filter((i) => results[i] === undefined);
      if (pending.length === 0) return results as ScriptOutput[];
      let done = 0; // messages of this attempt answered one by one
      const outcome = await this.attempt(
        pending.map((i) => bodies[i]!),
        true,
        (index, result) => {
          results[pending[index]!] = result;
          done = index + 1;
        },
      );
      if (Array.isArray(outcome)) continue;
      // The message running when the worker blocked or died is the culprit (or, if it stopped between
      // messages, the next one: work an earlier message left running would otherwise loop forever).
      const current = Atomics.load(new Int32Array(this.shared), CURRENT);
      const culprit = pending[current >= 0 ? current : done];
      if (culprit === undefined) throw new Error(`the script's worker stopped after the whole batch: ${outcome.blocked}`);
      results[culprit] = { ok: false, stage: 'script', reason: outcome.blocked };
    }
  }

  /**
   * Sends messages to the worker and waits for their results, or for the worker to block (no beat
   * for longer than the time-out) or die: then it is terminated and a fresh one started.
   */
  private async attempt(bodies: readonly string[], isolate: boolean, onOne: (index: number, result: ScriptOutput) => void): Promise<ScriptOutput[] | Failure> {
    if (this.closed) throw new Error('script worker closed');
    if (!this.worker) await this.start();
    const worker = this.worker!;
    const id = this.nextId++;
    const shared = new Int32Array(this.shared);
    Atomics.store(shared, CURRENT, -1);
    let watchdog: NodeJS.Timeout | undefined;
    let detach = () => {};
    const outcome = await new Promise<ScriptOutput[] | Failure>((resolve) => {
      detach = listen(worker, {
        message: (m) => {
          if (m.kind === 'one' && m.id === id) onOne(m.index, m.result);
          else if (m.kind === 'done' && m.id === id) resolve(m.results);
        },
        error: (err) => resolve({ blocked: `script crashed its worker: ${err.message}`.slice(0, 500) }),
        exit: (code) => resolve({ blocked: `script ended its worker (exit code ${code})` }),
      });
      let beat = Atomics.load(shared, BEAT);
      let lastBeatAt = Date.now();
      watchdog = setInterval(() => {
        const now = Atomics.load(shared, BEAT);
        if (now !== beat) {
          beat = now;
          lastBeatAt = Date.now();
        } else if (Date.now() - lastBeatAt > this.timeoutMs) {
          resolve({ blocked: `script took longer than ${this.timeoutMs} ms (it blocked its thread, e.g. a synchronous loop)` });
        }
      }, Math.max(BEAT_MS, Math.min(250, this.timeoutMs / 4)));
      worker.postMessage({ id, bodies, isolate } satisfies ToWorker);
    });
    clearInterval(watchdog);
    detach();
    if (Array.isArray(outcome)) return isolate ? [] : outcome;
    await worker.terminate();
    this.worker = undefined;
    await this.start();
    return outcome;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
