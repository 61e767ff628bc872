import * as core from '@actions/core';
import { resolve } from 'node:path';
import { requestedChanges } from '../../changes/index.js';
import type { DeployOptions, DeployResult } from '../../deploy/index.js';
import { messageOf, MytError } from '../../errors.js';
import { EXISTING_SERVER_NOTE, planPlatforms, type PlanPlatformsOptions, type PlatformPlan } from '../../infra/plan-platforms.js';
import { loadSecretsModule } from '../../infra/secrets-reader.js';
import { findTerraform } from '../../infra/terraform/find-binary.js';
import { DEFAULT_OUT_DIR } from '../../infra/workspace.js';
import { maskSecrets } from '../../secrets/masking.js';
import { maskSecretsInLog } from '../masking.js';
import { cell, actionsReporter, maskingReporter, reportFailure, type Reporter } from '../report.js';
import { readGitHubContext, readPlatformsInput, readSettings } from '../settings.js';

export interface DeployDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly reporter: Reporter;
  readonly inputs: Pick<typeof core, 'getInput' | 'getMultilineInput'>;
  readonly deploy: (options: DeployOptions) => Promise<DeployResult>;
  readonly redeploy: (options: DeployOptions) => Promise<DeployResult>;
  /** Terraform plans made again from the checked-out (merged) commit. */
  readonly plan: (opts: Omit<PlanPlatformsOptions, 'secrets' | 'binary'>) => Promise<PlatformPlan[]>;
}

const realPlan: DeployDeps['plan'] = async (opts) => planPlatforms({ ...opts, secrets: await loadSecretsModule(), binary: () => findTerraform(opts.env) });

interface Row {
  readonly platform: string;
  readonly job: 'deploy' | 'redeploy';
  readonly outcome: string;
  readonly failed: boolean;
}

/**
 * The deploy action: for each platform of its matrix job, in turn, `deploy` (infrastructure, then
 * the VM) or `redeploy` (the processor only). Before a cloud platform's infrastructure is touched,
 * its plan is made again from the commit being deployed (the merged one, not the one a pull
 * request was reviewed on); if it would replace or destroy a VM or a data volume, that platform
 * stops there and says why. One platform's failure does not stop the others of a grouped job.
 */
export async function run(deps: Partial<DeployDeps> = {}): Promise<void> {
  const reporter = maskingReporter(deps.reporter ?? actionsReporter);
  const env = deps.env ?? process.env;
  const inputs = deps.inputs ?? core;
  try {
    const settings = readSettings(env, inputs);
    maskSecretsInLog(settings, reporter);
    const context = readGitHubContext(env);
    const toDeploy = readPlatformsInput(inputs, 'deploy');
    const toRedeploy = readPlatformsInput(inputs, 'redeploy').filter((n) => !toDeploy.includes(n));
    if (toDeploy.length + toRedeploy.length === 0) {
      reporter.info('nothing to deploy');
      return;
    }
    const library = deps.deploy && deps.redeploy ? { deploy: deps.deploy, redeploy: deps.redeploy } : await import('../../deploy/index.js');
    const root = settings.workspace;
    const declared = await requestedChanges(root, context.sha, [...toDeploy, ...toRedeploy]);
    const providerOf = new Map(declared.changed.map((c) => [c.name, c.provider] as const));
    const rows: Row[] = [];
    const options = (platform: string): DeployOptions => ({
      root,
      platform,
      commit: context.sha,
      actor: env.GITHUB_ACTOR,
      env,
      onProgress: (line) => reporter.info(maskSecrets(`[${platform}] ${line}`)),
    });
    for (const name of toDeploy) {
      try {
        if (providerOf.get(name) !== 'ssh') {
          const log = (line: string) => reporter.info(maskSecrets(line));
          const [plan] = await (deps.plan ?? realPlan)({ root, outDir: resolve(root, DEFAULT_OUT_DIR), names: [name], env, log });
          if (plan?.error !== undefined) throw new MytError(`the plan made again from ${context.sha.slice(0, 12)} failed: ${plan.error}`);
          const warnings = plan?.stacks.flatMap((s) => s.summary.warnings) ?? [];
          if (warnings.length) {
            throw new MytError(
              `stopped before applying anything: the plan made again from ${context.sha.slice(0, 12)} would lose data or the platform:\n  ${warnings.join('\n  ')}\n` +
                `If this is intended, a person applies it from a terminal: myt apply ${name} --allow-data-loss`,
            );
          }
          if (plan?.note === EXISTING_SERVER_NOTE) reporter.info(`${name}: ${EXISTING_SERVER_NOTE}`);
        }
        const result = await library.deploy(options(name));
        rows.push({ platform: name, job: 'deploy', outcome: `${result.changed ? '' : 'nothing changed: '}${result.summary} (${result.host})`, failed: false });
      } catch (err) {
        rows.push({ platform: name, job: 'deploy', outcome: maskSecrets(messageOf(err)), failed: true });
        reporter.error(maskSecrets(`${name}: ${messageOf(err)}`), { title: `MyT deploy ${name}` });
      }
    }
    for (const name of toRedeploy) {
      try {
        const result = await library.redeploy(options(name));
        rows.push({ platform: name, job: 'redeploy', outcome: `${result.changed ? '' : 'nothing changed: '}${result.summary} (${result.host})`, failed: false });
      } catch (err) {
        rows.push({ platform: name, job: 'redeploy', outcome: maskSecrets(messageOf(err)), failed: true });
        reporter.error(maskSecrets(`${name}: ${messageOf(err)}`), { title: `MyT redeploy ${name}` });
      }
    }
    await reporter.summary
      .addHeading('MyT deploy', 2)
      .addTable([
        [
          { data: 'Platform', header: true },
          { data: 'Job', header: true },
          { data: 'Outcome', header: true },
        ],
        ...rows.map((r) => [cell(r.platform), r.job, cell(`${r.failed ? '❌ ' : '✅ '}${maskSecrets(r.outcome)}`)]),
      ])
      .write();
    const failed = rows.filter((r) => r.failed).map((r) => r.platform);
    reporter.setOutput('failed', JSON.stringify(failed));
    if (failed.length) reporter.setFailed(`deploy failed for ${failed.join(', ')}`);
  } catch (err) {
    reportFailure(reporter, err);
  }
}
