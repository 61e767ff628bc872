import { compileFromFile } from 'json-schema-to-typescript';
import { join } from 'node:path';

/** The generated type modules, by repository path: one per top-level schema. */
export async function generatedTypes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of ['platform', 'space', 'repo']) {
    const schema = join(root, 'schemas', `${kind}.schema.json`);
    out[`src/config/types/${kind}.generated.ts`] = await compileFromFile(schema, {
      cwd: join(root, 'schemas'),
      additionalProperties: false,
      bannerComment: `/* Generated from schemas/${kind}.schema.json by \`npm run gen:types\`: do not edit. */`,
      format: true,
      style: { singleQuote: true, printWidth: 110 },
    });
  }
  return out;
}
