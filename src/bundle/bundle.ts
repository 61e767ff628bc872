// A platform's whole bundle, written to OUT/<platform>/bundle/: what `myt plan` shows a pull request
// and what the deploy step uploads as a release. Secret values are never in it.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { resolvePlatform } from '../config/defaults.js';
import type { Declared, Platform } from '../config/repository.js';
import { renderProcessorFiles, type PackageInstaller, type ProcessorFiles } from './processor-files.js';
import { renderConfigFiles, type BundleFile } from './render.js';

export interface RenderOptions {
  readonly root: string;
  readonly install?: PackageInstaller;
  /** Whether a new lock may be written into the repository (default true; false in CI). */
  readonly writeLock?: boolean;
}

export interface RenderedBundle {
  readonly platform: string;
  readonly files: BundleFile[];
  readonly lock?: ProcessorFiles['lock'];
}

export async function renderBundle(declared: Declared<Platform>, opts: RenderOptions): Promise<RenderedBundle> {
  const platform = resolvePlatform(declared.doc);
  const processor = await renderProcessorFiles({ root: opts.root, platform, declaredIn: declared.file, install: opts.install, writeLock: opts.writeLock });
  const files = [...renderConfigFiles(platform), ...processor.files].sort((a, b) => a.path.localeCompare(b.path));
  return { platform: platform.metadata.name, files, lock: processor.lock };
}

/** The bundle's folder under the output folder. */
export function bundleDir(outDir: string, platform: string): string {
  return join(outDir, platform, 'bundle');
}

/** Replaces `dir` with exactly these files (a file left from an earlier render would mislead a review). */
export function writeBundle(dir: string, files: readonly BundleFile[]): void {
  rmSync(dir, { recursive: true, force: true });
  for (const f of files) {
    const path = join(dir, ...f.path.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    chmodSync(path, f.mode ?? 0o644);
  }
}

/** Renders and writes the bundles of `platforms`, together. */
export async function writeBundles(outDir: string, platforms: readonly Declared<Platform>[], opts: RenderOptions): Promise<(RenderedBundle & { dir: string })[]> {
  const rendered = await Promise.all(platforms.map((p) => renderBundle(p, opts)));
  return rendered.map((b) => {
    const dir = bundleDir(outDir, b.platform);
    writeBundle(dir, b.files);
    return { ...b, dir };
  });
}
