// `npm run build:processor`: writes processor/dist/main.js (the processor without a built-in script).
import { bundleProcessor, PROCESSOR_MAIN } from './bundle.js';

const outfile = PROCESSOR_MAIN;
const { warnings } = await bundleProcessor({ outfile });
for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
process.stdout.write(`wrote ${outfile}\n`);
