// Bundles the GitHub Actions: actions/<name>/dist/index.js for each entry in src/actions/<name>/main.ts,
// with the code they share split into actions/runtime/ (esbuild's code splitting), so a user's
// repository runs `uses: <owner>/myt/actions/plan@v1` with no `npm ci`. What cannot be bundled
// as JavaScript is copied beside it: esbuild as WebAssembly (processing scripts are bundled and
// checked with it, on any runner's CPU) and TypeScript's standard library declarations (scripts are
// type-checked). The output is committed; tests/actions/dist-fresh.test.ts fails when it is stale.
//
// `tsx scripts/build-actions.ts [OUT]`: OUT defaults to actions/ (a test builds into a temp folder).
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The actions, each built from src/actions/<name>/main.ts. */
export const ACTIONS = ['validate', 'changes', 'plan', 'deploy', 'destroy'] as const;

/** Shared chunks and assets, under the output folder. */
export const RUNTIME_DIR = 'runtime';
/** Where the esbuild WebAssembly runner lies under RUNTIME_DIR; main.ts points ESBUILD_BINARY_PATH at its bin/esbuild. */
export const ESBUILD_WASM_DIR = 'esbuild';
/** The processor's bundle (processor/dist/main.js) as the deploy action ships it, under RUNTIME_DIR. */
export const PROCESSOR_MAIN_COPY = 'processor-main.js';
/** Where @types/node is copied under RUNTIME_DIR, as a typeRoots folder. */
export const TYPES_DIR = 'types';

/** Rewrites, at bundle time, the two places that look files up beside the source at run time. */
const bundleFixes: Plugin = {
  name: 'myt-bundle-fixes',
  setup(b) {
    // The generated validators make their own `require` for ajv's runtime helpers: let the bundle's require (bundled) serve.
    b.onLoad({ filter: /validators\.generated\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace("import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n", ''),
      loader: 'ts',
    }));
    // cdktf's version, recorded in each stack: read now, from the installed package.
    b.onLoad({ filter: /[\\/]src[\\/]infra[\\/]stacks\.ts$/ }, (args) => {
      const version = (require('cdktf/package.json') as { version: string }).version;
      const source = readFileSync(args.path, 'utf8');
      const replaced = source.replace("(createRequire(import.meta.url)('cdktf/package.json') as { version: string })", JSON.stringify({ version }));
      if (replaced === source) throw new Error('src/infra/stacks.ts no longer reads cdktf/package.json as expected: update scripts/build-actions.ts');
      return { contents: replaced, loader: 'ts' };
    });
    // The schemas the error wording and the defaults read: inlined (the action has no schemas/ beside it).
    b.onLoad({ filter: /[\\/]src[\\/]config[\\/]schemas\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const inline = Object.fromEntries(['platform', 'space', 'repo'].map((n) => [n, readFileSync(join(PROJECT, 'schemas', `${n}.schema.json`), 'utf8')]));
      const replaced = source.replace(
        "return JSON.parse(readFileSync(`${PACKAGE_ROOT}schemas/${name}.schema.json`, 'utf8')) as JsonObject;",
        `return JSON.parse((${JSON.stringify(inline)} as Record<string, string>)[name]!) as JsonObject;`,
      );
      if (replaced === source) throw new Error('src/config/schemas.ts no longer reads the schemas as expected: update scripts/build-actions.ts');
      return { contents: replaced, loader: 'ts' };
    });
    // The processor a release ships (processor/dist/main.js, built by `npm run build`): copied beside the chunks.
    b.onLoad({ filter: /[\\/]src[\\/]processor[\\/]bundle\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const replaced = source.replace("fileURLToPath(new URL('../../processor/dist/main.js', import.meta.url))", `__mytFileURLToPath(new URL('./${PROCESSOR_MAIN_COPY}', import.meta.url))`);
      if (replaced === source) throw new Error('src/processor/bundle.ts no longer names processor/dist/main.js as expected: update scripts/build-actions.ts');
      return { contents: replaced, loader: 'ts' };
    });
    // Scripts are type-checked with Node's types: the copy of @types/node beside the chunks (a user's runner has no node_modules).
    b.onLoad({ filter: /[\\/]src[\\/]validation[\\/]typescript-check\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const replaced = source.replace("createRequire(import.meta.url).resolve('@types/node/package.json')", `__mytFileURLToPath(new URL('./${TYPES_DIR}/node/package.json', import.meta.url))`);
      if (replaced === source) throw new Error('src/validation/typescript-check.ts no longer finds @types/node as expected: update scripts/build-actions.ts');
      return { contents: replaced, loader: 'ts' };
    });
  },
};

/** TypeScript's lib files the script check names (lib.es2023.d.ts) and every lib they reference. */
function typescriptLibs(): string[] {
  const dir = dirname(require.resolve('typescript/lib/lib.d.ts'));
  const wanted = new Set<string>();
  const visit = (file: string) => {
    if (wanted.has(file)) return;
    wanted.add(file);
    for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/\/\/\/\s*<reference lib="([^"]+)"\s*\/>/g)) visit(`lib.${m[1]!.toLowerCase()}.d.ts`);
  };
  visit('lib.es2023.d.ts');
  return [...wanted].sort().map((f) => join(dir, f));
}

export async function buildActions(out = join(PROJECT, 'actions')): Promise<void> {
  const runtime = join(out, RUNTIME_DIR);
  rmSync(runtime, { recursive: true, force: true });
  for (const name of ACTIONS) rmSync(join(out, name, 'dist'), { recursive: true, force: true });
  const result = await build({
    absWorkingDir: PROJECT,
    entryPoints: Object.fromEntries(ACTIONS.map((name) => [`${name}/dist/index`, `src/actions/${name}/main.ts`])),
    outdir: out,
    chunkNames: `${RUNTIME_DIR}/[name]-[hash]`,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    sourcemap: false,
    metafile: false,
    logLevel: 'warning',
    plugins: [bundleFixes],
    // Optional add-ons of bundled libraries that MyT never enables.
    external: ['pg-native', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
    // CommonJS libraries in an ES module: give them require, __filename and __dirname (TypeScript finds its lib files beside itself).
    banner: {
      js: [
        "import { createRequire as __mytCreateRequire } from 'node:module';",
        "import { fileURLToPath as __mytFileURLToPath } from 'node:url';",
        "import { dirname as __mytDirname } from 'node:path';",
        'const require = __mytCreateRequire(import.meta.url);',
        'const __filename = __mytFileURLToPath(import.meta.url);',
        'const __dirname = __mytDirname(__filename);',
      ].join(' '),
    },
  });
  if (result.errors.length) throw new Error(result.errors.map((e) => e.text).join('\n'));
  // The chunks hold TypeScript: its lib files go beside them.
  for (const lib of typescriptLibs()) copyFileSync(lib, join(runtime, lib.split(/[\\/]/).pop()!));
  if ((ACTIONS as readonly string[]).includes('deploy')) {
    const main = join(PROJECT, 'processor', 'dist', 'main.js');
    if (!existsSync(main)) throw new Error('processor/dist/main.js is missing: run npm run build:processor first');
    copyFileSync(main, join(runtime, PROCESSOR_MAIN_COPY));
  }
  const nodeTypes = dirname(require.resolve('@types/node/package.json'));
  cpSync(nodeTypes, join(runtime, TYPES_DIR, 'node'), { recursive: true, filter: (src) => !src.includes(`${join(nodeTypes, 'node_modules')}`) });
  // esbuild as WebAssembly, run by Node: the same version as the JavaScript API bundled above.
  const wasm = dirname(require.resolve('esbuild-wasm/package.json'));
  const esbuildVersion = (require('esbuild/package.json') as { version: string }).version;
  const wasmVersion = (JSON.parse(readFileSync(join(wasm, 'package.json'), 'utf8')) as { version: string }).version;
  if (wasmVersion !== esbuildVersion) throw new Error(`esbuild-wasm ${wasmVersion} must be the version of esbuild (${esbuildVersion}): npm install -D esbuild-wasm@${esbuildVersion}`);
  const target = join(runtime, ESBUILD_WASM_DIR);
  mkdirSync(join(target, 'bin'), { recursive: true });
  for (const f of ['esbuild.wasm', 'wasm_exec.js', 'wasm_exec_node.js', 'LICENSE.md']) copyFileSync(join(wasm, f), join(target, f));
  copyFileSync(join(wasm, 'bin', 'esbuild'), join(target, 'bin', 'esbuild'));
  chmodSync(join(target, 'bin', 'esbuild'), 0o755);
  // The runner script is CommonJS; the repository's package.json says "type": "module".
  writeFileSync(join(target, 'package.json'), '{ "type": "commonjs" }\n');
  for (const name of ACTIONS) writeFileSync(join(out, name, 'dist', 'package.json'), '{ "type": "module" }\n');
  if (!existsSync(join(out, ACTIONS[0], 'dist', 'index.js'))) throw new Error('no action was built');
}

/** Every file under a folder, relative, sorted (for comparing two builds). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildActions(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`built ${ACTIONS.map((a) => `actions/${a}/dist/index.js`).join(', ')}\n`);
}
