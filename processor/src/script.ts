// Loads the user's processing script once and runs it per message, turning every way it can fail
// (throw, rejection, time-out, wrong return shape) into a reason instead of a crash.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkMessage, type DeviceMessage } from './message.js';

/** The contract of a processing script's default export. */
export type ScriptFunction = (message: DeviceMessage) => unknown;

export type ScriptResult = { ok: true; messages: DeviceMessage[] } | { ok: false; reason: string };

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

const TIMED_OUT = Symbol('timed out');

/**
 * Runs the script on a batch of messages: one result per message, in order. In the processor the
 * script runs in a worker thread (script-worker.ts), where a synchronous loop can be stopped.
 */
export interface ScriptRunner {
  run(messages: readonly DeviceMessage[]): Promise<ScriptResult[]>;
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

  run(messages: readonly DeviceMessage[]): Promise<ScriptResult[]> {
    return Promise.all(messages.map((m) => runScript(this.script, m, this.timeoutMs)));
  }

  async close(): Promise<void> {}
}

/**
 * Runs the script on one message with a time limit. `null` means "drop on purpose" (ok, no messages).
 * The limit stops waiting for async work; a synchronous loop is the worker's watchdog's business.
 */
export async function runScript(script: ScriptFunction, message: DeviceMessage, timeoutMs: number): Promise<ScriptResult> {
  let timer: NodeJS.Timeout | undefined;
  let returned: unknown;
  try {
    const timeout = new Promise<typeof TIMED_OUT>((done) => {
      timer = setTimeout(() => done(TIMED_OUT), timeoutMs);
    });
    returned = await Promise.race([Promise.resolve().then(() => script(message)), timeout]);
  } catch (err) {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { ok: false, reason: `script threw ${what}`.slice(0, 500) };
  } finally {
    clearTimeout(timer);
  }
  if (returned === TIMED_OUT) return { ok: false, reason: `script took longer than ${timeoutMs} ms` };
  if (returned === null) return { ok: true, messages: [] };
  const items = Array.isArray(returned) ? (returned as unknown[]) : [returned];
  const messages: DeviceMessage[] = [];
  for (const [i, item] of items.entries()) {
    const checked = checkMessage(item, Array.isArray(returned) ? `script result [${i}]` : 'script result');
    if (!checked.ok) return { ok: false, reason: `${checked.reason} (a script returns a message, an array of them, or null)` };
    messages.push(checked.value);
  }
  return { ok: true, messages };
}
