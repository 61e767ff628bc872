// Entry point of actions/changes: all logic lives in run() and the library.
import { useBundledEsbuild } from '../bundled-runtime.js';

useBundledEsbuild(import.meta.url);
const { run } = await import('./run.js');
await run();
