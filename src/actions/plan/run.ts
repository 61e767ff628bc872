import * as core from '@actions/core';
import { resolve } from 'node:path';
import { loadRepoConfig } from '../../config/repo-config.js';
import { MytError } from '../../errors.js';
import { findTerraform } from '../../infra/terraform/find-binary.js';
import { loadSecretsModule } from '../../infra/secrets-reader.js';
import { EXISTING_SERVER_NOTE, planPlatforms, type PlanPlatformsOptions, type PlatformPlan } from '../../infra/plan-platforms.js';
import { DEFAULT_OUT_DIR } from '../../infra/workspace.js';
import { maskSecrets, registerSecret } from '../../secrets/masking.js';
import { gitHub, upsertComment, type GitHub, type GitHubOptions } from '../../github/client.js';
import { maskSecretsInLog } from '../masking.js';
import { COMMENT_LIMIT, loudWarnings, planReport, SUMMARY_LIMIT } from '../plan-report.js';
import { changesOfEvent } from '../range.js';
import { actionsReporter, maskingReporter, reportFailure, type Reporter } from '../report.js';
import { isForkPullRequest, readBooleanInput, readGitHubContext, readPlatformsInput, readSettings } from '../settings.js';

/** The comment's marker kind: one plan comment per pull request. */
export const PLAN_COMMENT = 'plan';

/** Side effects of the plan action, real by default; tests pass their own. */
export interface PlanDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly reporter: Reporter;
  readonly inputs: Pick<typeof core, 'getInput' | 'getBooleanInput' | 'getMultilineInput'>;
  readonly github: (opts: GitHubOptions) => GitHub;
  /** Terraform plans of the named platforms. */
  readonly plan: (opts: Omit<PlanPlatformsOptions, 'secrets' | 'binary'>) => Promise<PlatformPlan[]>;
}

const realPlan: PlanDeps['plan'] = async (opts) => planPlatforms({ ...opts, secrets: await loadSecretsModule(), binary: () => findTerraform(opts.env) });

/**
 * The plan action: what changed (pull request against its base, push, or platforms named by
 * hand), a Terraform plan of each changed platform whose infrastructure may change, one report
 * as job summary and as the pull request's one MyT comment (edited on every push). A pull
 * request from a fork is not planned: its code gets no secrets.
 */
export async function run(deps: Partial<PlanDeps> = {}): Promise<void> {
  const reporter = maskingReporter(deps.reporter ?? actionsReporter);
  const env = deps.env ?? process.env;
  const inputs = deps.inputs ?? core;
  try {
    const settings = readSettings(env, inputs);
    maskSecretsInLog(settings, reporter);
    const context = readGitHubContext(env);
    const pr = context.payload.pull_request;
    if (isForkPullRequest(context)) {
      reporter.notice('A pull request from a fork is validated only: MyT does not plan it, so no secret reaches code from outside this repository.');
      await reporter.summary.addHeading('MyT plan', 2).addRaw('Not planned: this pull request comes from a fork, and fork code never gets the secrets a plan needs. Validation ran.\n').write();
      reporter.setOutput('planned', 'false');
      return;
    }
    const requested = readPlatformsInput(inputs);
    const changes = await changesOfEvent(settings.workspace, context, requested);
    // Only a change beyond the processor can change infrastructure; an existing server has none.
    const deploying = changes.changed.filter((c) => c.action === 'deploy');
    const infra = deploying.filter((c) => c.provider !== 'ssh').map((c) => c.name);
    const existing: PlatformPlan[] = deploying.filter((c) => c.provider === 'ssh').map((c) => ({ name: c.name, stacks: [], note: EXISTING_SERVER_NOTE }));
    const log = (line: string) => reporter.info(maskSecrets(line));
    log(`changed: ${changes.changed.map((c) => `${c.name} (${c.action})`).join(', ') || 'none'}; deleted: ${changes.deleted.map((d) => d.name).join(', ') || 'none'}`);
    // A runner's disk is gone after the job: with local state every plan would create everything again.
    if (infra.length && loadRepoConfig(settings.workspace).state.backend === 'local') {
      reporter.warning(`Terraform state is kept on the runner's disk (myt.yaml: state backend local), which is lost after every job: plans here start from nothing. Keep it in a bucket (state: backend s3 or gcs in myt.yaml).`, { title: 'MyT plan' });
    }
    const planned = infra.length ? await (deps.plan ?? realPlan)({ root: settings.workspace, outDir: resolve(settings.workspace, DEFAULT_OUT_DIR), names: infra, env, log }) : [];
    const plans = [...planned, ...existing].sort((a, b) => a.name.localeCompare(b.name));
    const runUrl = context.runId ? `${context.serverUrl}/${context.owner}/${context.repo}/actions/runs/${context.runId}` : undefined;
    const input = { changes, plans, runUrl, commit: context.sha };
    const warnings = loudWarnings(input);
    for (const w of warnings) reporter.warning(maskSecrets(w.replace(/\*\*/g, '')), { title: 'MyT: this change would lose data or a platform' });
    for (const p of plans) if (p.error !== undefined) reporter.error(maskSecrets(`${p.name}: the plan failed: ${p.error}`), { title: 'MyT plan' });
    await reporter.summary.addRaw(planReport(input, SUMMARY_LIMIT)).write();
    if (pr && readBooleanInput(inputs, 'comment', true)) {
      if (!Number.isInteger(pr.number)) throw new MytError('the pull_request event payload has no pull_request.number: MyT cannot tell which pull request to comment on');
      const token = inputs.getInput('github-token', { required: true });
      registerSecret(token); // masked in the log by the runner, and in anything MyT prints
      const github = (deps.github ?? gitHub)({ token, baseUrl: context.apiUrl, log });
      const posted = await upsertComment(github, { owner: context.owner, repo: context.repo, number: pr.number! }, PLAN_COMMENT, planReport(input, COMMENT_LIMIT));
      log(`${posted.action} the plan comment on pull request #${pr.number!} (comment ${posted.id})`);
    }
    reporter.setOutput('planned', 'true');
    reporter.setOutput('changed', JSON.stringify(changes.changed.map((c) => c.name)));
    reporter.setOutput('dangerous', String(warnings.length > 0));
    if (plans.some((p) => p.error !== undefined)) reporter.setFailed('the plan failed for some platforms (see the report)');
  } catch (err) {
    reportFailure(reporter, err);
  }
}
