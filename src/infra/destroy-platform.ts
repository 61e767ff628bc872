// Destroying one platform's infrastructure: what `myt destroy` and the destroy action share. Only a
// declared platform that opts in (spec.destroy: allow, or `force`) is destroyed; never its Space.
import { resolvePlatform } from '../config/defaults.js';
import { loadRepository } from '../config/repository.js';
import { MytError } from '../errors.js';
import type { StackRunResult } from './apply-stack.js';
import { runStacks } from './run-stacks.js';
import type { SecretsModule } from './secrets-reader.js';
import type { TerraformBinary } from './terraform/find-binary.js';
import type { PlanSummary } from './terraform/plan-summary.js';
import type { SpawnFn } from './terraform/run-process.js';
import { prepareStacks } from './workspace.js';

export interface DestroyPlatformOptions {
  readonly root: string;
  readonly outDir: string;
  readonly name: string;
  /** Destroy even without spec.destroy: allow (a person's explicit --force). Default: false. */
  readonly force?: boolean;
  /** Asked after the destroy plan is shown; false destroys nothing. */
  readonly confirm: (summary: PlanSummary) => Promise<boolean>;
  /** Found only once the checks pass. */
  readonly binary: () => TerraformBinary;
  readonly secrets: SecretsModule;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
  readonly timeoutMs?: number;
  readonly spawn?: SpawnFn;
}

/** Refuses, with what to do, anything but a declared cloud platform that allows its destruction. */
export async function checkDestroyable(root: string, name: string, force = false): Promise<void> {
  const repo = await loadRepository(root);
  const declared = repo.platforms.find((p) => p.doc.metadata.name === name);
  const space = repo.spaces.find((s) => s.doc.metadata.name === name);
  if (!declared && space) {
    throw new MytError(`'${name}' is a Space (${space.file}), not a platform: myt destroy removes one platform's infrastructure, and never a Space, which platforms share`);
  }
  const broken = repo.invalid.find((d) => d.name === name);
  if (!declared && broken) {
    throw new MytError(`${broken.kind} '${name}' is declared in ${broken.file}, but that file has problems: run 'myt validate', fix them, and run 'myt destroy ${name}' again`);
  }
  if (!declared) {
    throw new MytError(
      `no platform named '${name}' is declared under platforms/. MyT never destroys a platform because its file is gone: ` +
        `restore the file with 'spec.destroy: allow' and run 'myt destroy ${name}' again.`,
    );
  }
  const platform = resolvePlatform(declared.doc);
  if (platform.spec.cloud.provider === 'ssh') throw new MytError(`platform ${name} is an existing server (cloud provider ssh): MyT created no infrastructure for it, so there is nothing to destroy`);
  if (platform.spec.destroy !== 'allow' && !force) {
    throw new MytError(`platform ${name} does not allow destruction (spec.destroy is '${platform.spec.destroy}'): set 'spec.destroy: allow' in ${declared.file} and commit it, or pass --force`);
  }
}

export async function destroyPlatform(opts: DestroyPlatformOptions): Promise<StackRunResult> {
  await checkDestroyable(opts.root, opts.name, opts.force);
  const binary = opts.binary();
  const prepared = await prepareStacks({ root: opts.root, outDir: opts.outDir, readSecrets: opts.secrets.readSecrets, env: opts.env, only: [opts.name], forDestroy: [opts.name] });
  const stacks = prepared.stacks.filter((s) => s.name === opts.name); // not the Space: other platforms may use it
  const [result] = await runStacks({
    root: opts.root,
    stacks,
    folders: prepared.folders,
    backend: prepared.config.state,
    binary,
    secrets: opts.secrets,
    env: opts.env,
    log: opts.log,
    destroy: true,
    allowDanger: true, // the confirmation is the consent
    timeoutMs: opts.timeoutMs,
    spawn: opts.spawn,
    confirm: (_stack, summary) => opts.confirm(summary),
  });
  return result!;
}
