// Regenerates the TypeScript types of the YAML documents from the JSON Schemas, so the two cannot drift:
// `npm run gen:types` writes them, and a test fails when the committed files are stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedTypes } from './types-from-schemas.js';

const root = fileURLToPath(new URL('..', import.meta.url));
for (const [file, text] of Object.entries(await generatedTypes(root))) {
  writeFileSync(`${root}/${file}`, text);
  console.log(`wrote ${file}`);
}
