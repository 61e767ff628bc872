// Loads the user's processing script once and runs it per message, turning every way it can fail
// (throw, rejection, time-out, wrong return shape) into a reason instead of a crash.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkMessage, headOf, parseBody, type DeviceMessage, type MessageHead } from './message.js';

/** The contract of a processing script's default export. */
export type ScriptFunction = (message: DeviceMessage) => unknown;

export type ScriptResult = { ok: true; messages: DeviceMessage[] } | { ok: false; reason: string };

/** What became of one message body: it did not parse, the script refused it, or what the script returned. */
export type ScriptOutput =
  | { readonly ok: false; readonly stage: 'parse' | 'script'; readonly reason: string }
  | { readonly ok: true; readonly head: MessageHead; readonly messages: DeviceMessage[] };

export class ScriptLoadError extends Error {
  override readonly name = 'ScriptLoadError';
}

/** Imports a bundled script file and returns its default export. */
export async function loadScript(path: string): Promise<ScriptFunction> {
  const file = resolve(path);
  if (!existsSync(file)) throw new ScriptLoadError(`MYT_SCRIPT: no file at ${file}`);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw new ScriptLoadError(`MYT_SCRIPT: ${file} failed to load: ${(err as Error).message}`);
  }
  return scriptFrom(mod.default, file);
}

/** Checks that a module's default export is a function. */
export function scriptFrom(value: unknown, where: string): ScriptFunction {
  if (typeof value !== 'function') {
    throw new ScriptLoadError(`${where}: the default export must be a function (message) => message | message[] | null, got ${typeof value}`);
  }
  return value as ScriptFunction;
}

/**
 * Parses a batch of message bodies and runs the script on those that parse: one output per body, in
 * order. In the processor this happens in the script's worker thread (script-worker.ts), where a
 * synchronous loop can be stopped; bodies cross to it as text, which costs less than parsed objects
 * and leaves the parsing to the worker's thread.
 */
export interface ScriptRunner {
  run(bodies: readonly string[]): Promise<ScriptOutput[]>;
  close(): Promise<void>;
}

/**
 * Runs the script in this thread, every message of a batch at once: inside the script's worker, and
 * for scripts given as functions in-process (tests), where a synchronous loop blocks the process.
 */
export class InlineScriptRunner implements ScriptRunner {
  constructor(
    private readonly script: ScriptFunction,
    private readonly timeoutMs: number,
  ) {}

  run(bodies: readonly string[]): Promise<ScriptOutput[]> {
    return runBodies(this.script, bodies, this.timeoutMs);
  }

  async close(): Promise<void> {}
}

/** Parses each body, runs the script on every message that parsed (see runBatch), pairs them up. */
export async function runBodies(script: ScriptFunction, bodies: readonly string[], timeoutMs: number): Promise<ScriptOutput[]> {
  const parsed = bodies.map((b) => parseBody(b));
  const inputs: DeviceMessage[] = [];
  const heads: MessageHead[] = [];
  for (const p of parsed) {
    if (!p.ok) continue;
    inputs.push(p.value);
    heads.push(headOf(p.value));
  }
  const results = inputs.length > 0 ? await runBatch(script, inputs, timeoutMs) : [];
  let next = 0;
  return parsed.map((p): ScriptOutput => {
    if (!p.ok) return { ok: false, stage: 'parse', reason: p.reason };
    const head = heads[next]!;
    const result = results[next++]!;
    return result.ok ? { ok: true, head, messages: result.messages } : { ok: false, stage: 'script', reason: result.reason };
  });
}

/** Runs the script on one message with a time limit (see runBatch). */
export async function runScript(script: ScriptFunction, message: DeviceMessage, timeoutMs: number): Promise<ScriptResult> {
  return (await runBatch(script, [message], timeoutMs))[0]!;
}

/**
 * Runs the script on every message of a batch at once, each with the same time limit: they all
 * start together, so one deadline for the batch is each message's limit, and a batch whose script
 * answers synchronously sets no timer at all (a timer and a race per message cost more than a
 * one-line script). `null` means "drop on purpose" (ok, no messages). The limit stops waiting for
 * async work; a synchronous loop is the worker's watchdog's business.
 */
export async function runBatch(script: ScriptFunction, messages: readonly DeviceMessage[], timeoutMs: number): Promise<ScriptResult[]> {
  const results = new Array<ScriptResult | undefined>(messages.length).fill(undefined);
  let pending = 0;
  let wake: (() => void) | undefined;
  const settle = (i: number, result: ScriptResult) => {
    if (results[i] !== undefined) return; // answered after the deadline: too late
    results[i] = result;
    if (--pending === 0) wake?.();
  };
  for (let i = 0; i < messages.length; i++) {
    let returned: unknown;
    try {
      returned = script(messages[i]!);
    } catch (err) {
      results[i] = threw(err);
      continue;
    }
    if (returned !== null && typeof returned === 'object' && typeof (returned as { then?: unknown }).then === 'function') {
      pending++;
      (returned as PromiseLike<unknown>).then(
        (value) => settle(i, checkReturned(value)),
        (err: unknown) => settle(i, threw(err)),
      );
    } else results[i] = checkReturned(returned);
  }
  if (pending > 0) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
  }
  return results.map((r) => r ?? { ok: false, reason: `script took longer than ${timeoutMs} ms` });
}

function threw(err: unknown): ScriptResult {
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { ok: false, reason: `script threw ${what}`.slice(0, 500) };
}

/** Checks what the script returned: a message, an array of them, or null. */
function checkReturned(returned: unknown): ScriptResult {
  if (returned === null) return { ok: true, messages: [] };
  const items = Array.isArray(returned) ? (returned as unknown[]) : [returned];
  const messages: DeviceMessage[] = [];
  for (let i = 0; i < items.length; i++) {
    const checked = checkMessage(items[i], Array.isArray(returned) ? `script result [${i}]` : 'script result');
    if (!checked.ok) return { ok: false, reason: `${checked.reason} (a script returns a message, an array of them, or null)` };
    messages.push(checked.value);
  }
  return { ok: true, messages };
}
