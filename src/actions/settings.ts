import * as core from '@actions/core';
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { DECLARATION_NAME } from '../changes/index.js';
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

/** What GitHub tells an action about the run: the event, the repository, the commit. */
export interface GitHubContext {
  /** GITHUB_EVENT_NAME: pull_request, push, workflow_dispatch, ... */
  readonly eventName: string;
  /** The webhook payload from the GITHUB_EVENT_PATH file. */
  readonly payload: EventPayload;
  readonly owner: string;
  readonly repo: string;
  /** GITHUB_SHA: for a pull request, the merge commit GitHub made of it. */
  readonly sha: string;
  /** GITHUB_API_URL (GitHub Enterprise Server has its own). */
  readonly apiUrl: string;
  readonly serverUrl: string;
  readonly runId?: string;
}

/** The parts of the webhook payloads the actions read. */
export interface EventPayload {
  readonly before?: string;
  readonly after?: string;
  readonly repository?: { readonly full_name?: string; readonly default_branch?: string };
  // Optional where GitHub always sends them: a payload file is input, read defensively.
  readonly pull_request?: {
    readonly number?: number;
    readonly base?: { readonly sha?: string; readonly repo?: { readonly full_name?: string } | null };
    readonly head?: { readonly sha?: string; readonly repo?: { readonly full_name?: string; readonly fork?: boolean } | null };
  };
  readonly inputs?: Record<string, unknown>;
}

export function readGitHubContext(env: NodeJS.ProcessEnv = process.env): GitHubContext {
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new MytError(`${name} is not set: this step must run in a GitHub Actions job`);
    return value;
  };
  const [owner, repo] = need('GITHUB_REPOSITORY').split('/');
  if (!owner || !repo) throw new MytError(`GITHUB_REPOSITORY '${env.GITHUB_REPOSITORY}' is not owner/repo`);
  let payload: EventPayload = {};
  const path = env.GITHUB_EVENT_PATH;
  if (path) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new MytError(`cannot read the event payload ${path}: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new MytError(`the event payload ${path} is not a JSON object`);
    payload = parsed;
  }
  return {
    eventName: need('GITHUB_EVENT_NAME'),
    payload,
    owner,
    repo,
    sha: need('GITHUB_SHA'),
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    runId: env.GITHUB_RUN_ID,
  };
}

/**
 * A pull request from a fork runs code its author controls: it gets validate only, never secrets.
 * (GitHub withholds secrets from pull_request runs of forks too; this is the second lock.)
 */
export function isForkPullRequest(context: Pick<GitHubContext, 'payload'>): boolean {
  const pr = context.payload.pull_request;
  if (!pr) return false;
  const head = pr.head?.repo?.full_name;
  // A deleted fork has no head repository: treat it as a fork (so is anything that cannot be read).
  return head === undefined || head !== pr.base?.repo?.full_name;
}

/** A platform name as the schema allows it: never more reaches git, Terraform or a comment from an input. */
const PLATFORM_NAME = DECLARATION_NAME;

/** The `platforms` input (workflow_dispatch): names, one per line or separated by spaces or commas. */
export function readPlatformsInput(inputs: Pick<typeof core, 'getInput'> = core, name = 'platforms'): string[] {
  const names = inputs
    .getInput(name)
    .split(/[\s,]+/)
    .filter(Boolean);
  for (const n of names) if (!PLATFORM_NAME.test(n)) throw new MytError(`input '${name}': '${n}' is not a platform name (lowercase letters, digits and '-')`);
  return [...new Set(names)];
}

/** A boolean input as GitHub's YAML 1.2 core schema reads it (true/True/TRUE, false/False/FALSE), with a default when empty. */
export function readBooleanInput(inputs: Pick<typeof core, 'getInput' | 'getBooleanInput'>, name: string, fallback: boolean): boolean {
  return inputs.getInput(name) === '' ? fallback : inputs.getBooleanInput(name);
}
