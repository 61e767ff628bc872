import { relative } from 'node:path';
import { deployMatrix, detectChanges, leftRunning, toDestroy } from '../../changes/index.js';
import { findRepoRoot } from '../../config/find-root.js';
import { UsageError } from '../../errors.js';
import { oneOf, parseCommandArgs, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const HELP = `Usage: myt changes BASE [HEAD] [options]

What the commits from BASE to HEAD (default: HEAD) change, per platform, as the GitOps workflows see
it: which platforms a push would deploy (infrastructure and VM) or redeploy (the processor only),
which were deleted (and whether they would be destroyed: only with spec.destroy: allow), which only
moved. Both commits are read from git, whatever the working tree holds. docs/gitops.md lists the
rules.

Options:
  --root DIR          repository root (default: the nearest folder upwards with myt.yaml,
                      platforms/ or .git)
  --format text|json  output format (default: text); json is the deploy workflow's matrix and more
  -h, --help          show this help

Exit status: 0 done, 1 a commit or a declaration cannot be read, 2 usage error.
`;

export const changesCommand: Command = {
  name: 'changes',
  help: HELP,
  async run(args: string[], ctx: CliContext): Promise<number> {
    const { values, positionals } = parseCommandArgs('changes', args, { root: { type: 'string' }, format: { type: 'string' } });
    const format = oneOf('changes', 'format', values.format, ['text', 'json'] as const, 'text');
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError('changes: name BASE, and optionally HEAD');
    const root = findRepoRoot(ctx.cwd, values.root);
    const changes = await detectChanges({ root, base: positionals[0], head: positionals[1] ?? 'HEAD' });
    if (format === 'json') {
      ctx.stdout(`${JSON.stringify({ ...changes, matrix: deployMatrix(changes), destroy: toDestroy(changes.deleted).map((d) => d.name) }, null, 2)}\n`);
      return 0;
    }
    const where = relative(ctx.cwd, root) || '.';
    ctx.stdout(`${where}: ${changes.base?.slice(0, 12) ?? '(no base)'}..${changes.head.slice(0, 12)}\n`);
    if (changes.changed.length === 0) ctx.stdout('No platform to deploy.\n');
    for (const c of changes.changed) ctx.stdout(`${c.action.padEnd(8)}  ${c.name}: ${c.reasons.join('; ')}\n`);
    for (const d of toDestroy(changes.deleted)) ctx.stdout(`destroy   ${d.name}: its file ${d.file} was deleted and it sets spec.destroy: allow\n`);
    for (const line of leftRunning(changes.deleted)) ctx.stdout(`left      ${line}\n`);
    for (const m of changes.moved) ctx.stdout(`moved     ${m.name}: ${m.from} -> ${m.to}, nothing to do\n`);
    return 0;
  },
};
