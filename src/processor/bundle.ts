// Bundles the processor (processor/src) with a user's processing script and the script's npm packages
// into one ES module file, so the VM gets a single file to run with `node FILE`. The same function
// builds processor/dist/main.js (no script: messages are stored as they come, or MYT_SCRIPT is loaded).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message } from 'esbuild';
import { MytError } from '../errors.js';

/** processor/src in this package: the same relative place from src/processor and dist/processor. */
export const PROCESSOR_SOURCE = fileURLToPath(new URL('../../processor/src/', import.meta.url));

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

export async function bundleProcessor(options: BundleOptions): Promise<BundleResult> {
  const source = options.processorSource ?? PROCESSOR_SOURCE;
  if (!existsSync(join(source, 'run.ts'))) throw new MytError(`processor source not found at ${source}`);
  const script = options.script === undefined ? undefined : resolve(options.script);
  if (script !== undefined && !existsSync(script)) throw new MytError(`processing script not found: ${script}`);
  const nodePaths = options.packagesDir ? [join(resolve(options.packagesDir), 'node_modules')] : [];
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
  try {
    const result = await build({
      ...entry,
      outfile: options.outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      minify: options.minify ?? false,
      sourcemap: false,
      legalComments: 'none',
      nodePaths,
      external: OPTIONAL_DRIVER_ADDONS,
      // Bundled CommonJS (the drivers) calls require() for Node built-ins: give the ES module one.
      banner: { js: "import { createRequire as __mytCreateRequire } from 'node:module'; const require = __mytCreateRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    return { outfile: options.outfile, warnings: result.warnings.map(describe) };
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (errors?.length) throw new MytError(`bundling the processor failed:\n${errors.map(describe).join('\n')}`);
    throw err;
  }
}
