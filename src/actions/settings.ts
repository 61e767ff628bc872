import * as core from '@actions/core';
import { isAbsolute, relative, resolve } from 'node:path';
import { MytError } from '../errors.js';

/** Everything an action reads from its inputs and environment, read once, here and nowhere else. */
export interface ActionSettings {
  /** The checked-out repository (GITHUB_WORKSPACE). */
  readonly workspace: string;
  /** Declaration paths to check, inside the workspace; empty means all of platforms/. */
  readonly paths: string[];
  /** The environment the library may read (the age key for secrets checks, SOPS_AGE_KEY). */
  readonly env: NodeJS.ProcessEnv;
}

export interface InputSource {
  getMultilineInput(name: string): string[];
}

export function readSettings(env: NodeJS.ProcessEnv = process.env, inputs: InputSource = core): ActionSettings {
  const workspace = resolve(env.GITHUB_WORKSPACE ?? process.cwd());
  const paths = inputs.getMultilineInput('paths').map((p) => {
    const absolute = resolve(workspace, p);
    const inside = relative(workspace, absolute);
    if (inside.startsWith('..') || isAbsolute(inside)) throw new MytError(`input 'paths': '${p}' is outside the repository`);
    return absolute;
  });
  return { workspace, paths, env };
}
