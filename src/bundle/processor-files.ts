// The processor's files in the release: processor/main.mjs (MyT's processor, processor/dist/main.js,
// the same file for every platform of a MyT version) and, with a script, processor/script.mjs (the
// script and its npm packages bundled alone, loaded through MYT_SCRIPT). With packages, the lock of
// what was resolved goes along (processor/package.json and package-lock.json) and is kept in the
// repository beside the declaration, so the next render installs exactly the same versions and an
// unchanged script gives the same bytes.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ResolvedPlatform } from '../config/defaults.js';
import { lockFileOf } from '../config/key-file.js';
import { resolveRepoFile } from '../config/repo-path.js';
import { MytError } from '../errors.js';
import { bundleScript, PROCESSOR_MAIN } from '../processor/bundle.js';
import { PROCESSOR_MAIN_FILE, PROCESSOR_SCRIPT_FILE } from './processor.js';
import type { BundleFile } from './render.js';

export { lockFileOf };

/** Installs the packages of `dir`/package.json: from `dir`/package-lock.json when `locked`, else resolving the ranges. */
export type PackageInstaller = (dir: string, locked: boolean) => Promise<void>;

export interface ProcessorFilesOptions {
  readonly root: string;
  readonly platform: ResolvedPlatform;
  /** The declaration's file, repository-relative: its lock lives beside it. */
  readonly declaredIn: string;
  /** Default: npm, without install scripts. */
  readonly install?: PackageInstaller;
  /** Whether a new or changed lock may be written into the repository (not in CI: nothing is committed there). */
  readonly writeLock?: boolean;
  /** Default: processor/dist/main.js of this package. */
  readonly processorMain?: string;
}

export interface ProcessorFiles {
  readonly files: BundleFile[];
  /** What happened to the repository's lock, when the platform has packages. */
  readonly lock?: { readonly path: string; readonly state: 'kept' | 'written' | 'stale' };
}

/** Variables npm needs (and nothing else: an age key has no business in an install). */
export function npmEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => ['PATH', 'HOME', 'TMPDIR', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY'].includes(k) || /^npm_config_/i.test(k)));
}

export const npmInstall: PackageInstaller = async (dir, locked) => {
  // No shell: names and ranges reach npm inside package.json, never on a command line.
  const args = locked ? ['ci'] : ['install', '--package-lock'];
  try {
    await promisify(execFile)('npm', [...args, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, env: npmEnvironment(), timeout: 300_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-5).join('\n');
    throw new MytError(`npm ${args[0]} of the processing script's packages failed in ${dir}:\n${stderr || (err as Error).message}`);
  }
};

interface Lock {
  readonly packages?: { readonly ''?: { readonly dependencies?: Record<string, string> } };
}

/** A lock fits when it was made for exactly the declared names and ranges. */
function lockFits(text: string, wanted: Readonly<Record<string, string>>): boolean {
  try {
    const deps = (JSON.parse(text) as Lock).packages?.['']?.dependencies ?? {};
    return JSON.stringify(sorted(deps)) === JSON.stringify(sorted(wanted));
  } catch {
    return false;
  }
}

const sorted = (o: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

export async function renderProcessorFiles(opts: ProcessorFilesOptions): Promise<ProcessorFiles> {
  const mainPath = opts.processorMain ?? PROCESSOR_MAIN;
  if (!existsSync(mainPath)) throw new MytError(`the processor is not built (${mainPath} is missing): run 'npm run build'`);
  const files: BundleFile[] = [{ path: `processor/${PROCESSOR_MAIN_FILE}`, content: readFileSync(mainPath) }];
  const { platform, root } = opts;
  const name = platform.metadata.name;
  const written = platform.spec.processor.script;
  if (written === undefined) return { files };
  const script = resolveRepoFile(root, written);
  if (!script.ok) throw new MytError(`${opts.declaredIn}: spec.processor.script: ${script.message}`);

  const packages = platform.spec.processor.packages;
  let lock: ProcessorFiles['lock'];
  let packagesDir: string | undefined;
  if (Object.keys(packages).length > 0) {
    // A fixed folder inside the repository, so paths in the bundle's comments are the same every time.
    packagesDir = join(root, '.myt', 'packages', name);
    const manifest = `${JSON.stringify({ name: `myt-${name}-packages`, private: true, dependencies: sorted(packages) }, null, 2)}\n`;
    const lockPath = lockFileOf(opts.declaredIn, name);
    const kept = existsSync(join(root, lockPath)) ? readFileSync(join(root, lockPath), 'utf8') : undefined;
    const usable = kept !== undefined && lockFits(kept, packages) ? kept : undefined;
    const installedLock = join(packagesDir, 'package-lock.json');
    const upToDate =
      usable !== undefined && existsSync(join(packagesDir, 'node_modules')) && readIf(installedLock) === usable && readIf(join(packagesDir, 'package.json')) === manifest;
    if (!upToDate) {
      rmSync(packagesDir, { recursive: true, force: true });
      mkdirSync(packagesDir, { recursive: true });
      writeFileSync(join(packagesDir, 'package.json'), manifest);
      if (usable !== undefined) writeFileSync(installedLock, usable);
      await (opts.install ?? npmInstall)(packagesDir, usable !== undefined);
    }
    const resolved = readFileSync(installedLock, 'utf8');
    if (usable !== undefined) lock = { path: lockPath, state: 'kept' };
    else if (opts.writeLock ?? true) {
      writeFileSync(join(root, lockPath), resolved);
      lock = { path: lockPath, state: 'written' };
    } else lock = { path: lockPath, state: 'stale' };
    files.push({ path: 'processor/package.json', content: manifest }, { path: 'processor/package-lock.json', content: resolved });
  }

  const out = join(root, '.myt', 'scripts', `${name}.mjs`);
  mkdirSync(dirname(out), { recursive: true });
  await bundleScript({ outfile: out, script: script.absolute, packagesDir, workingDir: root });
  files.push({ path: `processor/${PROCESSOR_SCRIPT_FILE}`, content: readFileSync(out) });
  return { files, lock };
}

function readIf(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
