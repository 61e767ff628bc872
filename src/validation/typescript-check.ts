import { createRequire } from 'node:module';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import type { Declared, Platform } from '../config/declared.js';
import { problemAt, type Problem } from '../config/problem.js';
import { resolveRepoFile } from '../config/repo-path.js';

/**
 * Type errors in TypeScript processing scripts, found with the TypeScript compiler (its API, in
 * memory: nothing is emitted). esbuild, which bundles the script, strips types without checking
 * them, so `message.data.temprature * 2` would pass every other check.
 *
 * Options: strict, as `tsc --init` sets it; modules as esbuild bundles them; Node's own modules
 * typed by the @types/node MyT ships with. An import TypeScript cannot resolve (a declared package
 * not installed where the script is) is typed `any` and not reported: whether the script imports
 * only declared packages, and whether its imports resolve, is checked by the bundling check.
 */

/** Diagnostics about modules that cannot be resolved; the bundling check reports those. */
const UNRESOLVED = new Set([2307, 2792, 7016]);

/** The folder holding @types/node as MyT installed it (a dependency of this package). */
function typeRoots(): string[] {
  try {
    return [dirname(dirname(createRequire(import.meta.url).resolve('@types/node/package.json')))];
  } catch {
    return [];
  }
}

/** The last program built: the next one reuses its unchanged files (the libraries, @types/node). */
let previous: import('typescript').Program | undefined;

export async function typeCheckScripts(root: string, platforms: readonly Declared<Platform>[]): Promise<Problem[]> {
  const scripts = new Set<string>();
  for (const p of platforms) {
    const script = p.doc.spec.processor?.script;
    if (script === undefined || !/\.m?ts$/.test(script)) continue;
    const found = resolveRepoFile(root, script);
    if (found.ok) scripts.add(found.absolute);
  }
  if (scripts.size === 0) return [];
  const ts = (await import('typescript')).default; // loaded only when there is a script to check
  const roots = typeRoots();
  const options: import('typescript').CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    lib: ['lib.es2023.d.ts'],
    types: roots.length ? ['node'] : [],
    typeRoots: roots,
  };
  const program = ts.createProgram({ rootNames: [...scripts], options, oldProgram: previous });
  previous = program;
  const problems: Problem[] = [];
  for (const file of program.getSourceFiles()) {
    const inRepo = relative(root, file.fileName);
    if (file.isDeclarationFile || inRepo.startsWith('..') || isAbsolute(inRepo) || inRepo.split(sep).includes('node_modules')) continue;
    // A file that does not parse is reported by the bundling check, with esbuild's message.
    if (program.getSyntacticDiagnostics(file).length > 0) continue;
    for (const d of program.getSemanticDiagnostics(file)) {
      if (UNRESOLVED.has(d.code) || d.start === undefined) continue;
      const at = file.getLineAndCharacterOfPosition(d.start);
      const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
      problems.push(problemAt(inRepo.split(sep).join('/'), { line: at.line + 1, col: at.character + 1 }, `type error: ${message} (TS${d.code})`));
    }
  }
  return problems;
}
