import { builtinModules } from 'node:module';
import { relative } from 'node:path';
import { build, type Message } from 'esbuild';

export interface ScriptReport {
  /** Syntax and resolution errors, located in the script's own files (paths absolute). */
  readonly errors: { file: string; line: number; col: number; message: string }[];
  readonly hasDefaultExport: boolean;
  /** Bare package names the script (or its local modules) imports, node built-ins left out. */
  readonly packages: string[];
}

const BUILTINS = new Set(builtinModules);

/**
 * Compiles a processing script the way the VM bundle will (esbuild, ESM, packages left external)
 * without writing anything, to learn whether it compiles, has a default export and what it imports.
 */
export async function checkScript(absolute: string, cwd: string): Promise<ScriptReport> {
  try {
    const result = await build({
      entryPoints: [absolute],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'node',
      packages: 'external',
      logLevel: 'silent',
      absWorkingDir: cwd,
    });
    const output = Object.values(result.metafile.outputs)[0];
    const packages = new Set<string>();
    for (const input of Object.values(result.metafile.inputs)) {
      for (const imp of input.imports) {
        if (imp.external && !imp.path.startsWith('node:') && !BUILTINS.has(imp.path)) packages.add(packageOf(imp.path));
      }
    }
    return { errors: [], hasDefaultExport: output?.exports.includes('default') ?? false, packages: [...packages].sort() };
  } catch (err) {
    const messages = (err as { errors?: Message[] }).errors ?? [];
    return {
      errors: messages.map((m) => ({
        file: m.location ? `${cwd}/${m.location.file}` : absolute,
        line: m.location?.line ?? 1,
        col: (m.location?.column ?? 0) + 1,
        message: m.text,
      })),
      hasDefaultExport: false,
      packages: [],
    };
  }
}

/** 'date-fns/locale' → 'date-fns'; '@scope/pkg/x' → '@scope/pkg'. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

export function relativeTo(root: string, file: string): string {
  return relative(root, file).split('\\').join('/');
}
