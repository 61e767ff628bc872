import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import validatePackageName from 'validate-npm-package-name';
import type { Declared, Platform } from '../config/declared.js';
import { problemAt, type Problem } from '../config/problem.js';

/**
 * Declared packages against the npm registry: each must exist and have a version in its range.
 * Asks the registry's documented packument endpoint, `GET <registry>/<name>` (a scoped name as
 * `@scope%2fname`), for the abbreviated document (`application/vnd.npm.install-v1+json`), whose
 * `versions` lists every published version. A registry that cannot be reached is not an error:
 * the packages are then said to be unchecked.
 */

export const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';
const ACCEPT = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';
const TIMEOUT_MS = 10_000;
const PARALLEL = 8;

export interface RegistryCheckOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Per request; default 10 s. */
  readonly timeoutMs?: number;
}

export interface RegistryCheck {
  readonly problems: Problem[];
  /** Why some packages could not be checked (unreachable registry, offline), for the person to read. */
  readonly notes: string[];
}

/** npm's registry settings that matter here: `registry` and `@scope:registry`, from .npmrc text. */
function npmrcSettings(text: string, env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    if (key !== 'registry' && !/^@[^:]+:registry$/.test(key)) continue;
    // npm expands ${VAR} in .npmrc values.
    out.set(key, line.slice(eq + 1).trim().replace(/^["']|["']$/g, '').replace(/\$\{([^}]+)\}/g, (_m, name: string) => env[name] ?? ''));
  }
  return out;
}

function readNpmrc(path: string | undefined, env: NodeJS.ProcessEnv): Map<string, string> {
  if (path === undefined) return new Map();
  try {
    return npmrcSettings(readFileSync(path, 'utf8'), env);
  } catch {
    return new Map();
  }
}

function envSetting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const key = Object.keys(env).find((k) => k.toLowerCase() === `npm_config_${name}`);
  return key === undefined ? undefined : env[key]?.trim() || undefined;
}

/**
 * Which registry npm would ask for a package, as npm decides it (the parts MyT reads): the
 * environment (NPM_CONFIG_REGISTRY), then the repository's .npmrc, then the user's
 * (NPM_CONFIG_USERCONFIG or ~/.npmrc); a `@scope:registry` line wins for its scope.
 */
export function registryResolver(root: string, env: NodeJS.ProcessEnv): (name: string) => string {
  const user = readNpmrc(envSetting(env, 'userconfig') ?? (env.HOME ? join(env.HOME, '.npmrc') : undefined), env);
  const project = readNpmrc(join(root, '.npmrc'), env);
  const setting = (key: string) => project.get(key) ?? user.get(key);
  const fallback = envSetting(env, 'registry') ?? setting('registry') ?? DEFAULT_REGISTRY;
  return (name) => {
    const scope = name.startsWith('@') ? name.slice(0, name.indexOf('/')) : undefined;
    const url = (scope && setting(`${scope}:registry`)) || fallback;
    return url.endsWith('/') ? url : `${url}/`;
  };
}

type Verdict = { kind: 'ok' } | { kind: 'problem'; message: string } | { kind: 'unchecked'; why: string };

async function ask(registry: string, name: string, range: string, timeoutMs: number): Promise<Verdict> {
  const url = `${registry}${name.replace('/', '%2f')}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: ACCEPT }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    return { kind: 'unchecked', why: `${registry} could not be reached (${cause})` };
  }
  if (response.status === 404) return { kind: 'problem', message: `package '${name}' does not exist in the npm registry (${registry})` };
  if (response.status === 401 || response.status === 403) return { kind: 'unchecked', why: `${registry} asks for credentials (HTTP ${response.status})` };
  if (!response.ok) return { kind: 'unchecked', why: `${registry} answered HTTP ${response.status}` };
  let versions: string[];
  let latest: unknown;
  try {
    const doc = (await response.json()) as { versions?: Record<string, unknown>; 'dist-tags'?: { latest?: unknown } };
    versions = Object.keys(doc.versions ?? {});
    latest = doc['dist-tags']?.latest;
  } catch {
    return { kind: 'unchecked', why: `${registry} did not answer with a package document` };
  }
  if (semver.maxSatisfying(versions, range) !== null) return { kind: 'ok' };
  const hint = typeof latest === 'string' ? `; its latest version is ${latest}` : versions.length === 0 ? '; it has no published version' : '';
  return { kind: 'problem', message: `package '${name}': no published version matches '${range}'${hint}` };
}

/** Checks every valid package declaration (invalid names and ranges are reported by the format's checks). */
export async function checkPackagesInRegistry(root: string, platforms: readonly Declared<Platform>[], opts: RegistryCheckOptions): Promise<RegistryCheck> {
  const wanted: { platform: Declared<Platform>; name: string; range: string }[] = [];
  for (const platform of platforms) {
    for (const [name, range] of Object.entries(platform.doc.spec.processor?.packages ?? {})) {
      if (validatePackageName(name).validForOldPackages && semver.validRange(range) !== null) wanted.push({ platform, name, range });
    }
  }
  if (wanted.length === 0) return { problems: [], notes: [] };
  if (/^(1|true)$/i.test(envSetting(opts.env, 'offline') ?? '')) {
    return { problems: [], notes: ['npm is set to work offline (npm_config_offline), so the declared packages were not checked against the registry'] };
  }
  const registryOf = registryResolver(root, opts.env);
  const spec = (w: { name: string; range: string }) => `${w.name}@${w.range}`;
  const distinct = [...new Map(wanted.map((w) => [spec(w), w])).values()];
  const verdicts = new Map<string, Verdict>();
  // A few requests at a time, each bounded by its timeout.
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, distinct.length) }, async () => {
      while (next < distinct.length) {
        const { name, range } = distinct[next++]!;
        verdicts.set(spec({ name, range }), await ask(registryOf(name), name, range, opts.timeoutMs ?? TIMEOUT_MS));
      }
    }),
  );
  const problems: Problem[] = [];
  const unchecked = new Map<string, string[]>();
  for (const w of wanted) {
    const verdict = verdicts.get(spec(w))!;
    if (verdict.kind === 'problem') problems.push(problemAt(w.platform.file, w.platform.positionOf(['spec', 'processor', 'packages', w.name], true), verdict.message));
    if (verdict.kind === 'unchecked') unchecked.set(verdict.why, [...new Set([...(unchecked.get(verdict.why) ?? []), w.name])]);
  }
  const notes = [...unchecked].map(([why, names]) => `${why}, so ${names.join(', ')} ${names.length === 1 ? 'was' : 'were'} not checked against the registry`);
  return { problems, notes };
}
