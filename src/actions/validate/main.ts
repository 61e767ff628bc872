// Entry point of actions/validate: all logic lives in run() and the library.
import { run } from './run.js';

await run();
