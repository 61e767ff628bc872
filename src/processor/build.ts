// `npm run build:processor`: writes processor/dist/main.js (the processor without a built-in script).
import { fileURLToPath } from 'node:url';
import { bundleProcessor } from './bundle.js';

const outfile = fileURLToPath(new URL('../../processor/dist/main.js', import.meta.url));
const { warnings } = await bundleProcessor({ outfile });
for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
process.stdout.write(`wrote ${outfile}\n`);
