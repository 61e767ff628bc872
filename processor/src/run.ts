// The process around a Processor: environment, signals and exit codes. Exit 2 = bad configuration,
// 1 = crashed or could not drain in time, 0 = stopped cleanly.
import { ConfigError, loadConfig } from './config.js';
import { jsonLogger } from './log.js';
import { Processor } from './processor.js';
import { loadScript, ScriptLoadError, scriptFrom, type ScriptFunction } from './script.js';
import { isScriptWorker, reportLoadError, scriptWorkerData, serveScript } from './script-worker.js';

export interface RunOptions {
  /** The user's script, when the bundle was built with it (its default export). */
  readonly script?: unknown;
  /** Its path in the user's repository, for the log. */
  readonly scriptName?: string;
}

export async function runMain(options: RunOptions = {}): Promise<void> {
  if (isScriptWorker()) return serveWorker(options.script);
  const log = jsonLogger();
  let processor: Processor;
  try {
    const config = loadConfig(process.env);
    const script: ScriptFunction | undefined = options.script === undefined ? undefined : scriptFrom(options.script, 'built-in script');
    // The bundle (or dist/main.js) starts itself again as the script's worker thread.
    const self = new URL(import.meta.url);
    const scriptWorker = /\.m?js$/.test(self.pathname) ? self : undefined;
    processor = new Processor(config, { log, script, scriptName: options.scriptName, scriptWorker });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ScriptLoadError) {
      log.error(`configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      log.info('draining', { signal });
      const drained = await processor.stop();
      process.exit(drained ? 0 : 1);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => {
    // Unacknowledged messages return to the queue when the process dies: exiting loses nothing.
    log.error('unhandled rejection', { error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
  try {
    await processor.start();
  } catch (err) {
    const code = err instanceof ScriptLoadError ? 2 : 1;
    log.error(`start failed: ${(err as Error).message}`);
    process.exit(code);
  }
}

/** In the script's worker thread: load the script (MYT_SCRIPT wins over the built-in one) and serve it. */
async function serveWorker(builtIn: unknown): Promise<void> {
  const { scriptPath } = scriptWorkerData();
  try {
    serveScript(scriptPath ? await loadScript(scriptPath) : scriptFrom(builtIn, 'built-in script'));
  } catch (err) {
    reportLoadError((err as Error).message);
  }
}
