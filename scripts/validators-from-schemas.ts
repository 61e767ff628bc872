import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import standaloneModule from 'ajv/dist/standalone/index.js';
import ajvErrorsModule from 'ajv-errors';

const Ajv2020 = Ajv2020Module.default;
const standaloneCode = standaloneModule.default;
const ajvErrors = ajvErrorsModule as unknown as typeof ajvErrorsModule.default;

/** The ajv options every validator is compiled with; the loader's error wording relies on them. */
export const AJV_OPTIONS = { allErrors: true, discriminator: true, verbose: true, strict: true, strictRequired: false } as const;

/**
 * The schemas compiled ahead of time into one ES module (ajv's standalone code), so a command does
 * not spend a quarter of a second compiling them at every start. A test keeps it in step.
 */
export function generatedValidators(root: string): Record<string, string> {
  const ajv = new Ajv2020({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  ajvErrors(ajv);
  const ids: Record<string, string> = {};
  for (const name of ['platform', 'space', 'repo']) {
    const schema = JSON.parse(readFileSync(join(root, 'schemas', `${name}.schema.json`), 'utf8')) as { $id: string };
    ajv.addSchema(schema);
    ids[name] = schema.$id;
  }
  const code = standaloneCode(ajv, ids);
  // ajv's standalone output still calls require() for its few runtime helpers, even as ESM.
  const header = [
    '// Generated from schemas/*.schema.json by scripts/gen-validators.ts at build time: do not edit.',
    '// @ts-nocheck',
    '/* eslint-disable */',
    "import { createRequire } from 'node:module';",
    'const require = createRequire(import.meta.url);',
  ].join('\n');
  return { 'src/config/validators.generated.ts': `${header}\n${code.replace(/^"use strict";/, '')}\n` };
}
