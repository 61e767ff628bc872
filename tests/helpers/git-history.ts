// Real git histories for tests: a repository where each step writes or removes files and commits.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findOnPath } from '../../src/find-on-path.js';
import { tempRepo } from './temp-repo.js';

export const haveGit = findOnPath('git', process.env) !== undefined;

export interface History {
  readonly root: string;
  /** Writes (string) or deletes (null) files, commits, and returns the commit id. */
  commit(message: string, files: Record<string, string | null>): string;
  /** `git mv` then commit. */
  move(message: string, from: string, to: string): string;
  git(...args: string[]): string;
}

export function gitHistory(files: Record<string, string> = {}): History {
  const root = tempRepo({});
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' },
      maxBuffer: 64 * 1024 * 1024,
    }).trim();
  git('init', '-q', '-b', 'main');
  const commit = (message: string, changes: Record<string, string | null>) => {
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) rmSync(join(root, path));
      else {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), content);
      }
    }
    git('add', '-A');
    git('commit', '-q', '--allow-empty', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  if (Object.keys(files).length) commit('initial', files);
  return {
    root,
    commit,
    move: (message, from, to) => {
      mkdirSync(dirname(join(root, to)), { recursive: true });
      git('mv', from, to);
      git('commit', '-q', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    git,
  };
}

/** A cloud platform on an AWS Space, with a script that imports a local helper, and packages. */
export function awsPlatform(name: string, opts: { space?: string; script?: string; packages?: Record<string, string>; destroy?: 'allow' | 'deny'; sizeGb?: number } = {}): string {
  const packages = Object.entries(opts.packages ?? {});
  return [
    'apiVersion: myt/v1',
    'kind: Platform',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  cloud:',
    '    provider: aws',
    `    space: ${opts.space ?? 'home-net'}`,
    '  database:',
    '    engine: influxdb',
    `    sizeGb: ${opts.sizeGb ?? 10}`,
    '  broker:',
    '    users: secrets/rabbitmq.enc.yaml',
    ...(opts.script || packages.length ? ['  processor:'] : []),
    ...(opts.script ? [`    script: ${opts.script}`] : []),
    ...(packages.length ? ['    packages:', ...packages.map(([k, v]) => `      ${k}: "${v}"`)] : []),
    ...(opts.destroy ? [`  destroy: ${opts.destroy}`] : []),
    '',
  ].join('\n');
}

export function awsSpace(name: string, zone = 'eu-west-1a'): string {
  return ['apiVersion: myt/v1', 'kind: Space', 'metadata:', `  name: ${name}`, 'spec:', '  provider: aws', '  region: eu-west-1', `  zone: ${zone}`, '  credentials: secrets/aws.enc.yaml', ''].join('\n');
}
