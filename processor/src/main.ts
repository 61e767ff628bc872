// Entry point of processor/dist/main.js: `node processor/dist/main.js` with the MYT_* environment.
import { runMain } from './run.js';

await runMain();
