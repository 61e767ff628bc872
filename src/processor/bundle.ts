// Bundles the processor (processor/src) with a user's processing script and the script's npm packages
// into one ES module file, so a single file runs with `node FILE` (myt dev, the tests). The same
// function builds processor/dist/main.js (no script: messages are stored as they come, or MYT_SCRIPT
// is loaded). bundleScript() bundles a script and its packages alone, for MYT_SCRIPT (the VM bundle).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message } from 'esbuild';
import { MytError } from '../errors.js';

/** processor/src in this package: the same relative place from src/processor and dist/processor. */
export const PROCESSOR_SOURCE = fileURLToPath(new URL('../../processor/src/', import.meta.url));
/** processor/dist/main.js, built by `npm run build` (npm ci runs it): the processor without a script. */
export const PROCESSOR_MAIN = fileURLToPath(new URL('../../processor/dist/main.js', import.meta.url));

// Optional native or cloud add-ons the drivers load only when configured; MyT uses none of them.
const OPTIONAL_DRIVER_ADDONS = [
  'pg-native',
  'kerberos',
  '@mongodb-js/zstd',
  '@aws-sdk/credential-providers',
  'gcp-metadata',
  'snappy',
  'socks',
  'aws4',
  'mongodb-client-encryption',
];

export interface BundleOptions {
  /** The file to write. */
  readonly outfile: string;
  /** The user's script (.ts, .js or .mjs) whose default export processes one message. Default: none. */
  readonly script?: string;
  /** How the processor's log names the script (its path in the repository). Default: 'built in'. */
  readonly scriptName?: string;
  /** Folder where the script's npm packages were installed (its node_modules is searched). */
  readonly packagesDir?: string;
  /** Default: false (readable stack traces on the VM). */
  readonly minify?: boolean;
  /** Default: PROCESSOR_SOURCE. */
  readonly processorSource?: string;
}

export interface BundleResult {
  readonly outfile: string;
  readonly warnings: readonly string[];
}

function describe(m: Message): string {
  const at = m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : '';
  return `${at}${m.text}`;
}

/** esbuild's settings shared by the processor bundle and a script bundle. */
function nodeModuleSettings(options: { packagesDir?: string; minify?: boolean; workingDir?: string }) {
  return {
    bundle: true,
    platform: 'node' as const,
    target: 'node20',
    format: 'esm' as const,
    minify: options.minify ?? false,
    sourcemap: false,
    legalComments: 'none' as const,
    nodePaths: options.packagesDir ? [join(resolve(options.packagesDir), 'node_modules')] : [],
    // Paths in the bundle's comments are relative to this folder: a fixed one gives the same bytes
    // from any checkout. Default: the current directory (esbuild's own default).
    ...(options.workingDir ? { absWorkingDir: resolve(options.workingDir) } : {}),
    // Bundled CommonJS (the drivers) calls require() for Node built-ins: give the ES module one.
    banner: { js: "import { createRequire as __mytCreateRequire } from 'node:module'; const require = __mytCreateRequire(import.meta.url);" },
    logLevel: 'silent' as const,
  };
}

async function runBuild(what: string, options: Parameters<typeof build>[0]): Promise<BundleResult> {
  try {
    const result = await build(options);
    return { outfile: options.outfile!, warnings: result.warnings.map(describe) };
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (errors?.length) throw new MytError(`bundling ${what} failed:\n${errors.map(describe).join('\n')}`);
    throw err;
  }
}

export async function bundleProcessor(options: BundleOptions): Promise<BundleResult> {
  const source = options.processorSource ?? PROCESSOR_SOURCE;
  if (!existsSync(join(source, 'run.ts'))) throw new MytError(`processor source not found at ${source}`);
  const script = options.script === undefined ? undefined : resolve(options.script);
  if (script !== undefined && !existsSync(script)) throw new MytError(`processing script not found: ${script}`);
  // With a script, a generated entry imports it and hands its default export to the processor.
  const entry = script
    ? {
        stdin: {
          contents: [
            `import script from ${JSON.stringify(script)};`,
            `import { runMain } from ${JSON.stringify(join(source, 'run.ts'))};`,
            `await runMain({ script${options.scriptName === undefined ? '' : `, scriptName: ${JSON.stringify(options.scriptName)}`} });`,
          ].join('\n'),
          resolveDir: source,
          sourcefile: 'myt-processor-entry.ts',
          loader: 'ts' as const,
        },
      }
    : { entryPoints: [join(source, 'main.ts')] };
  return runBuild('the processor', { ...entry, ...nodeModuleSettings(options), outfile: options.outfile, external: OPTIONAL_DRIVER_ADDONS });
}

export interface ScriptBundleOptions {
  readonly outfile: string;
  /** The user's script (.ts, .js or .mjs). */
  readonly script: string;
  /** Folder where the script's npm packages were installed (its node_modules is searched). */
  readonly packagesDir?: string;
  /** Paths in the bundle's comments are relative to it (default: the current directory). */
  readonly workingDir?: string;
}

/**
 * A user's script and its packages alone, as one ES module the processor loads from MYT_SCRIPT
 * (processor/dist/main.js stays the same file for every platform). Milliseconds, where bundling the
 * whole processor with the script takes about a second.
 */
export async function bundleScript(options: ScriptBundleOptions): Promise<BundleResult> {
  const script = resolve(options.script);
  if (!existsSync(script)) throw new MytError(`processing script not found: ${script}`);
  return runBuild('the processing script', { entryPoints: [script], ...nodeModuleSettings(options), outfile: options.outfile });
}
