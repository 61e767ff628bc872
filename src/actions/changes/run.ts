import * as core from '@actions/core';
import { deployMatrix, GITHUB_MATRIX_LIMIT, leftRunning, toDestroy } from '../../changes/index.js';
import { MytError } from '../../errors.js';
import { maskSecrets } from '../../secrets/masking.js';
import { escapeMarkdown } from '../plan-report.js';
import { changesOfEvent } from '../range.js';
import { actionsReporter, maskingReporter, reportFailure, type Reporter } from '../report.js';
import { readGitHubContext, readPlatformsInput, readSettings } from '../settings.js';

export interface ChangesDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly reporter: Reporter;
  readonly inputs: Pick<typeof core, 'getInput' | 'getMultilineInput'>;
}

/**
 * The changes action: which platforms the push (or pull request, or the names given by hand)
 * changed, as outputs the next jobs use: `matrix` for `strategy.matrix` (one job per platform, or
 * groups past 256), `destroy` (deleted platforms that opted in), and a summary that says plainly
 * what a deleted platform left running. It needs no secret.
 */
export async function run(deps: Partial<ChangesDeps> = {}): Promise<void> {
  const reporter = maskingReporter(deps.reporter ?? actionsReporter);
  const env = deps.env ?? process.env;
  const inputs = deps.inputs ?? core;
  try {
    const settings = readSettings(env, inputs);
    const context = readGitHubContext(env);
    const requested = readPlatformsInput(inputs);
    const action = inputs.getInput('action') || 'deploy';
    if (action !== 'deploy' && action !== 'redeploy') throw new MytError(`input 'action' must be deploy or redeploy (got '${action}')`);
    const limitText = inputs.getInput('max-jobs') || String(GITHUB_MATRIX_LIMIT);
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > GITHUB_MATRIX_LIMIT) throw new MytError(`input 'max-jobs' must be a whole number from 1 to ${GITHUB_MATRIX_LIMIT} (got '${limitText}')`);
    const notes: string[] = [];
    const changes = await changesOfEvent(settings.workspace, context, requested, action, (note) => notes.push(note));
    for (const note of notes) reporter.warning(note, { title: 'MyT: what changed' });
    const matrix = deployMatrix(changes, limit);
    const destroy = toDestroy(changes.deleted);
    const running = leftRunning(changes.deleted);
    for (const line of running) reporter.warning(maskSecrets(line), { title: 'MyT: left running' });
    reporter.setOutput('matrix', JSON.stringify(matrix));
    reporter.setOutput('any', String(matrix.include.length > 0));
    reporter.setOutput('destroy', JSON.stringify({ include: destroy.map((d) => ({ platform: d.name, file: d.file })) }));
    reporter.setOutput('any-destroy', String(destroy.length > 0));
    reporter.setOutput('base', changes.base ?? '');
    reporter.setOutput('head', changes.head);
    const s = reporter.summary.addHeading('MyT: what changed', 2);
    for (const note of notes) s.addRaw(`> [!WARNING]\n> ${escapeMarkdown(note)}\n\n`);
    s.addRaw(`Compared ${changes.base ? changes.base.slice(0, 12) : '(no earlier commit)'} with ${changes.head.slice(0, 12)}.\n\n`);
    if (changes.changed.length) {
      s.addRaw(`${changes.changed.length} platform(s) to deploy in ${matrix.include.length} job(s):\n\n`);
      s.addRaw(`${changes.changed.map((c) => `- **${c.name}** (${c.action}): ${c.reasons.map(escapeMarkdown).join('; ')}`).join('\n')}\n\n`);
    } else s.addRaw('No platform to deploy.\n\n');
    for (const d of destroy) s.addRaw(`- ⚠️ **${d.name}** was deleted and sets \`spec.destroy: allow\`: it is destroyed in this run.\n`);
    for (const line of running) s.addRaw(`- ⚠️ ${escapeMarkdown(line)}\n`);
    for (const m of changes.moved) s.addRaw(`- ${m.name}: moved from ${escapeMarkdown(m.from)} to ${escapeMarkdown(m.to)}, nothing to do\n`);
    await s.write();
    reporter.info(`to deploy: ${changes.changed.map((c) => c.name).join(' ') || 'none'}; to destroy: ${destroy.map((d) => d.name).join(' ') || 'none'}`);
  } catch (err) {
    reportFailure(reporter, err);
  }
}
