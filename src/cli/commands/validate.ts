import { join, relative, resolve } from 'node:path';
import { findRepoRoot, requireMytRepository } from '../../config/find-root.js';
import { PLATFORMS_DIR, type Problem } from '../../config/repository.js';
import { SECRETS_NOT_DECRYPTED, validateRepository } from '../../validation/index.js';
import { demoKeyWarning } from '../../secrets/demo-key.js';
import { oneOf, parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt validate [options] [paths...]

Checks platform and space declarations: the JSON Schemas, then what a schema cannot see (unique
names, references to spaces, files that must exist, SQL names, cron schedules, npm packages, and
processing scripts that compile and, in TypeScript, type-check), secrets files (with an age key, their contents), and, online,
that each declared npm package exists in the registry with a version in its range (the registry
npm uses: NPM_CONFIG_REGISTRY or .npmrc; one that cannot be reached only gets a note). Every
problem is reported, one per line:

  FILE:LINE:COL: error: MESSAGE

Paths may be files or folders; by default every *.yaml and *.yml under ${PLATFORMS_DIR}/ is checked.
References always resolve against the whole repository.

Options:
  --format text|json  output format (default: text)
  --offline           do not ask the npm registry about the declared packages
  --no-typecheck      do not type-check TypeScript scripts (loading the compiler takes seconds)
  --root DIR          repository root (default: the nearest folder upwards with myt.yaml,
                      ${PLATFORMS_DIR}/ or .git)
  -h, --help          show this help

Exit status: 0 all valid, 1 problems found, 2 usage error.
`;

export const validateCommand: Command = {
  name: 'validate',
  help: HELP,
  async run(args: string[], ctx: CliContext): Promise<number> {
    const { values, positionals } = parseCommandArgs('validate', args, {
      format: { type: 'string' },
      root: { type: 'string' },
      offline: { type: 'boolean' },
      'no-typecheck': { type: 'boolean' },
    });
    const format = oneOf('validate', 'format', values.format, ['text', 'json'] as const, 'text');
    const root = findRepoRoot(ctx.cwd, values.root);
    if (positionals.length === 0) requireMytRepository(root); // named files are checked wherever they are
    const repo = await validateRepository(root, {
      paths: positionals.length ? positionals.map((p) => resolve(ctx.cwd, p)) : undefined,
      env: ctx.env,
      registry: values.offline !== true,
      typecheck: values['no-typecheck'] !== true,
    });
    const shown = (file: string) => relative(ctx.cwd, join(root, file)) || file;

    if (format === 'json') {
      ctx.stdout(`${JSON.stringify(
        {
          valid: repo.problems.length === 0,
          files: repo.files.map(shown),
          problems: repo.problems.map((p) => ({ file: shown(p.file), line: p.line, column: p.col, severity: 'error', message: p.message })),
        },
        null,
        2,
      )}\n`);
    } else {
      for (const p of repo.problems) ctx.stdout(`${formatProblem(p, shown)}\n`);
      ctx.stdout(`${summary(repo.problems, repo.files.length)}\n`);
    }
    for (const note of repo.notes) ctx.stderr(`note: ${note}\n`);
    if (repo.secretsChecked === 'form') ctx.stderr(`note: ${SECRETS_NOT_DECRYPTED}\n`);
    const demo = demoKeyWarning(root);
    if (demo) ctx.stderr(demo);
    return repo.problems.length ? 1 : 0;
  },
};

export function formatProblem(p: Problem, shown: (file: string) => string = (f) => f): string {
  return `${shown(p.file)}:${p.line}:${p.col}: error: ${p.message.replace(/\s*\n\s*/g, ' ')}`;
}

function summary(problems: readonly Problem[], files: number): string {
  const checked = `${files} file${files === 1 ? '' : 's'} checked`;
  if (problems.length === 0) return files === 0 ? `no declarations found (${checked})` : `all valid (${checked})`;
  const inFiles = new Set(problems.map((p) => p.file)).size;
  return `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${inFiles} file${inFiles === 1 ? '' : 's'} (${checked})`;
}
