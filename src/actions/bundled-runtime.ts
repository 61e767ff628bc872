import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * In a bundled action (actions/<name>/dist/index.js) esbuild runs as WebAssembly from
 * actions/runtime/esbuild (see scripts/build-actions.ts): its JavaScript API is pointed there before
 * it is loaded, so an entry imports the rest of the action only after calling this. Elsewhere (the
 * CLI, the tsc build) the installed esbuild package is used as it is.
 */
export function useBundledEsbuild(entryUrl: string, env: NodeJS.ProcessEnv = process.env): void {
  const runner = fileURLToPath(new URL('../../runtime/esbuild/bin/esbuild', entryUrl));
  if (env.ESBUILD_BINARY_PATH === undefined && existsSync(runner)) env.ESBUILD_BINARY_PATH = runner;
}
