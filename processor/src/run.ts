// The process around a Processor: environment, signals and exit codes. Exit 2 = bad configuration,
// 1 = crashed or could not drain in time, 0 = stopped cleanly.
import { ConfigError, loadConfig } from './config.js';
import { jsonLogger } from './log.js';
import { Processor } from './processor.js';
import { ScriptLoadError, scriptFrom, type ScriptFunction } from './script.js';

export interface RunOptions {
  /** The user's script, when the bundle was built with it (its default export). */
  readonly script?: unknown;
}

export async function runMain(options: RunOptions = {}): Promise<void> {
  const log = jsonLogger();
  let processor: Processor;
  try {
    const config = loadConfig(process.env);
    const script: ScriptFunction | undefined = options.script === undefined ? undefined : scriptFrom(options.script, 'built-in script');
    processor = new Processor(config, { log, script });
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
