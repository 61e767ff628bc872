// Compiles the JSON Schemas into validator code before tsc runs (part of `npm run build`).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedValidators } from './validators-from-schemas.js';

const root = fileURLToPath(new URL('..', import.meta.url));
for (const [file, text] of Object.entries(generatedValidators(root))) writeFileSync(`${root}/${file}`, text);
