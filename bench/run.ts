// `npm run bench`: runs every bench/*.bench.ts in turn. Each prints its figures and ratios, and
// exits non-zero when a target is missed, so the run as a whole says whether the targets hold.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n== ${file}`);
  const mod = (await import(pathToFileURL(`${dir}/${file}`).href)) as { default: () => Promise<boolean> };
  if (!(await mod.default())) failed++;
}
console.log(`\n${files.length - failed} of ${files.length} benchmarks met their targets`);
process.exitCode = failed ? 1 : 0;
