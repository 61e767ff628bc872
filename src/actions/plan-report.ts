// The plan as a pull request sees it: one Markdown text for the PR comment and the job summary.
// What would lose data or a platform is a loud alert at the top, outside every folded section;
// per-platform plan output is folded and, past GitHub's comment limit, cut (summary first).
import type { ChangeSet } from '../changes/index.js';
import { leftRunning, toDestroy } from '../changes/index.js';
import type { PlatformPlan, StackPlanResult } from '../infra/plan-platforms.js';
import { formatPlanSummary } from '../infra/terraform/plan-summary.js';
import { maskSecrets } from '../secrets/masking.js';

export type { PlatformPlan, StackPlanResult };

/** GitHub refuses a comment body over 65,536 characters outright; keep a margin for the marker. */
export const COMMENT_LIMIT = 65_000;
/** A job summary may be up to 1 MiB. */
export const SUMMARY_LIMIT = 1_000_000;

export interface PlanReportInput {
  readonly changes: ChangeSet;
  readonly plans: readonly PlatformPlan[];
  /** A link to the run, for what was cut. */
  readonly runUrl?: string;
  /** The commit planned (short form shown). */
  readonly commit: string;
}

/** Text inside an HTML table cell or a Markdown line: no markup from file names or messages. */
export function escapeMarkdown(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A fenced block whose fence no backtick run inside can close. */
function fenced(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${text}\n${fence}`;
}

function counts(stacks: readonly StackPlanResult[]): string {
  if (stacks.length === 0) return '';
  const sum = (k: 'add' | 'change' | 'destroy') => stacks.reduce((n, s) => n + s.summary[k], 0);
  const replaced = stacks.reduce((n, s) => n + s.summary.replaced.length, 0);
  const [add, change, destroy] = [sum('add'), sum('change'), sum('destroy')];
  if (add + change + destroy === 0) return 'no changes';
  return `${add} to add, ${change} to change, ${destroy} to destroy${replaced ? ` (${replaced} replaced)` : ''}`;
}

/** Every warning that must not be missed: data volumes or VMs replaced or destroyed, platforms destroyed. */
export function loudWarnings(input: Pick<PlanReportInput, 'changes' | 'plans'>): string[] {
  const out: string[] = [];
  for (const p of input.plans) for (const s of p.stacks) for (const w of s.summary.warnings) out.push(`**${p.name}**: ${escapeMarkdown(w)}`);
  for (const d of toDestroy(input.changes.deleted)) {
    out.push(`**${d.name}**: its file ${escapeMarkdown(d.file)} is deleted and it sets \`spec.destroy: allow\`: merging **destroys the platform and its data volume**`);
  }
  return out;
}

function head(input: PlanReportInput, warnings: readonly string[], maxRows: number): string {
  const { changes, plans } = input;
  const lines: string[] = [];
  const total = changes.changed.length;
  lines.push(`## MyT plan: ${total} platform${total === 1 ? '' : 's'} changed${changes.deleted.length ? `, ${changes.deleted.length} deleted` : ''}`, '');
  if (warnings.length) {
    lines.push('> [!CAUTION]', '> **This change would lose data or a platform:**', ...warnings.map((w) => `> - ${w}`), '');
  }
  const failed = plans.filter((p) => p.error !== undefined);
  if (failed.length) lines.push('> [!WARNING]', `> The plan failed for ${failed.map((p) => `**${p.name}**`).join(', ')}: see below.`, '');
  if (total) {
    lines.push('| platform | deploys | infrastructure | why |', '|---|---|---|---|');
    const byName = new Map(plans.map((p) => [p.name, p] as const));
    for (const c of changes.changed.slice(0, maxRows)) {
      const plan = byName.get(c.name);
      const infra = plan?.error !== undefined ? 'plan failed' : plan?.note !== undefined ? escapeMarkdown(plan.note) : plan ? counts(plan.stacks) : c.action === 'redeploy' ? 'unchanged (processor only)' : '';
      lines.push(`| ${c.name} | ${c.action === 'redeploy' ? 'processor only' : 'infrastructure and VM'} | ${infra} | ${c.reasons.map(escapeMarkdown).join('<br>')} |`);
    }
    if (total > maxRows) lines.push('', `… and ${total - maxRows} more platforms (cut to stay under GitHub's comment limit${input.runUrl ? `: see [the run](${input.runUrl})` : ''}).`);
    lines.push('');
  } else {
    lines.push('No platform changed.', '');
  }
  for (const note of leftRunning(changes.deleted)) lines.push(`- ⚠️ ${escapeMarkdown(note)}`);
  for (const m of changes.moved) lines.push(`- ${m.name}: moved from ${escapeMarkdown(m.from)} to ${escapeMarkdown(m.to)}, nothing else changed`);
  return lines.join('\n');
}

function detail(plan: PlatformPlan, change: ChangeSet['changed'][number]): string {
  const body: string[] = [];
  if (change.processor.length) body.push(`Processor: ${change.processor.map(escapeMarkdown).join('; ')}`, '');
  if (plan.stacks.length) body.push(fenced(plan.stacks.map((s) => formatPlanSummary(s.stack, s.summary)).join('\n\n')));
  if (plan.error !== undefined) body.push(...(plan.stacks.length ? [''] : []), 'The plan failed:', '', fenced(plan.error));
  else if (plan.note !== undefined) body.push(escapeMarkdown(plan.note));
  else if (change.action === 'redeploy') body.push('Infrastructure: unchanged; the processor is redeployed.');
  return `<details><summary>${plan.name}</summary>\n\n${body.join('\n')}\n\n</details>`;
}

/**
 * The report, at most `limit` characters: the head (alerts, then the table) always; the folded
 * per-platform plans while they fit, then a line saying how many were cut and where to look.
 * Everything passes through the secrets mask.
 */
export function planReport(input: PlanReportInput, limit = COMMENT_LIMIT): string {
  let warnings = loudWarnings(input).map(maskSecrets);
  // Alerts come first and are never dropped silently; a flood of them is summed up.
  if (warnings.join('\n').length > limit / 2) {
    const kept: string[] = [];
    let size = 0;
    for (const w of warnings) {
      if (size + w.length > limit / 2) break;
      kept.push(w);
      size += w.length + 6;
    }
    warnings = [...kept, `… and ${warnings.length - kept.length} more warnings like these${input.runUrl ? ` ([the run](${input.runUrl}) lists all)` : ''}`];
  }
  const footer = `\n\n<sub>Planned at ${input.commit.slice(0, 12)}${input.runUrl ? ` · [run](${input.runUrl})` : ''} · updated on every push</sub>`;
  let rows = input.changes.changed.length;
  let top = maskSecrets(head(input, warnings, rows));
  while (top.length + footer.length > limit && rows > 0) {
    rows = Math.floor(rows / 2);
    top = maskSecrets(head(input, warnings, rows));
  }
  const details: string[] = [];
  let size = top.length + footer.length;
  let cut = 0;
  const cutNote = (n: number) => `\n\n… ${n} platform plan${n === 1 ? '' : 's'} cut to stay under GitHub's limit of 65,536 characters${input.runUrl ? `: the [run's job summary](${input.runUrl}) has them` : ''}.`;
  const planOf = new Map(input.plans.map((p) => [p.name, p] as const));
  for (const change of input.changes.changed) {
    const plan = planOf.get(change.name) ?? { name: change.name, stacks: [] };
    const text = maskSecrets(detail(plan, change));
    if (cut === 0 && size + text.length + 2 + cutNote(input.changes.changed.length).length <= limit) {
      details.push(text);
      size += text.length + 2;
    } else cut++;
  }
  return `${top}${details.length ? `\n\n${details.join('\n\n')}` : ''}${cut ? cutNote(cut) : ''}${footer}`;
}
