import * as core from '@actions/core';
import { resolve } from 'node:path';
import { declaredAt } from '../../changes/index.js';
import { MytError } from '../../errors.js';
import { destroyPlatform, type DestroyPlatformOptions } from '../../infra/destroy-platform.js';
import { loadSecretsModule } from '../../infra/secrets-reader.js';
import { findTerraform } from '../../infra/terraform/find-binary.js';
import { DEFAULT_OUT_DIR } from '../../infra/workspace.js';
import { maskSecrets } from '../../secrets/masking.js';
import { maskSecretsInLog } from '../masking.js';
import { actionsReporter, maskingReporter, reportFailure, type Reporter } from '../report.js';
import { readGitHubContext, readPlatformsInput, readSettings } from '../settings.js';

export interface DestroyDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly reporter: Reporter;
  readonly inputs: Pick<typeof core, 'getInput' | 'getMultilineInput'>;
  readonly destroy: (opts: Omit<DestroyPlatformOptions, 'secrets' | 'binary'>) => Promise<Awaited<ReturnType<typeof destroyPlatform>>>;
}

const realDestroy: DestroyDeps['destroy'] = async (opts) => destroyPlatform({ ...opts, secrets: await loadSecretsModule(), binary: () => findTerraform(opts.env) });

/**
 * The destroy action, run by the deploy workflow for a platform whose file the push deleted: the
 * workspace is the commit before the deletion, where the platform is still declared. It destroys
 * only a platform that set spec.destroy: allow there, and only if the pushed commit (GITHUB_SHA)
 * does not declare it again. Never its Space.
 */
export async function run(deps: Partial<DestroyDeps> = {}): Promise<void> {
  const reporter = maskingReporter(deps.reporter ?? actionsReporter);
  const env = deps.env ?? process.env;
  const inputs = deps.inputs ?? core;
  try {
    const settings = readSettings(env, inputs);
    maskSecretsInLog(settings, reporter);
    const context = readGitHubContext(env);
    const names = readPlatformsInput(inputs, 'platform');
    if (names.length !== 1) throw new MytError("input 'platform' must name exactly one platform");
    const name = names[0]!;
    if (await declaredAt(settings.workspace, context.sha, name)) {
      throw new MytError(`platform ${name} is declared at ${context.sha.slice(0, 12)}, the commit this run is for: it was not deleted there, so nothing is destroyed`);
    }
    const log = (line: string) => reporter.info(maskSecrets(line));
    const result = await (deps.destroy ?? realDestroy)({
      root: settings.workspace,
      outDir: resolve(settings.workspace, DEFAULT_OUT_DIR),
      name,
      // Its file set spec.destroy: allow and the deletion was merged: that is the consent.
      confirm: () => Promise.resolve(true),
      env,
      log,
    });
    const said = result.status === 'unchanged' ? `${name}: nothing to destroy (no resources in its state)` : `${name}: destroyed (${result.summary.destroy} resources, its data volume included)`;
    reporter.info(said);
    await reporter.summary.addHeading('MyT destroy', 2).addRaw(`${said}.\n`).write();
    reporter.setOutput('status', result.status);
  } catch (err) {
    reportFailure(reporter, err);
  }
}
