import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { resolvePlatform, type ResolvedPlatform } from '../../src/config/defaults.js';
import { loadRepository } from '../../src/config/repository.js';
import { renderConfigFiles, type BundleFile } from '../../src/bundle/render.js';

export const ROOT = join(import.meta.dirname, '../..');

/** The shipped examples (platforms/), resolved. */
export async function examplePlatforms(): Promise<ResolvedPlatform[]> {
  const repo = await loadRepository(ROOT);
  if (repo.problems.length) throw new Error(`the examples are not valid: ${repo.problems.map((p) => p.message).join('; ')}`);
  return repo.platforms.map((p) => resolvePlatform(p.doc));
}

export function fileOf(files: readonly BundleFile[], path: string): string {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`no ${path} in the bundle (has ${files.map((x) => x.path).join(', ')})`);
  return typeof f.content === 'string' ? f.content : Buffer.from(f.content).toString('utf8');
}

export interface Service {
  image: string;
  restart?: string;
  logging?: unknown;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  /** Short syntax, or the long syntax of the data directories' bind mounts. */
  volumes?: (string | { type: string; source: string; target: string; bind?: { create_host_path?: boolean } })[];
  ports?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  command?: string[];
  [other: string]: unknown;
}

export interface Compose {
  name: string;
  services: Record<string, Service>;
}

interface Named {
  name: string;
  [other: string]: unknown;
}
export interface Definitions {
  vhosts: Named[];
  exchanges: Named[];
  queues: (Named & { arguments: Record<string, unknown> })[];
  bindings: Named[];
  users?: unknown;
  permissions?: unknown;
}

export interface Datasource {
  type: string;
  user?: string;
  jsonData: Record<string, unknown>;
  [other: string]: unknown;
}

export function composeOf(platform: ResolvedPlatform): Compose {
  return parse(fileOf(renderConfigFiles(platform), 'compose.yaml')) as Compose;
}

export function definitionsOf(platform: ResolvedPlatform): Definitions {
  return JSON.parse(fileOf(renderConfigFiles(platform), 'rabbitmq/definitions.json')) as Definitions;
}

/** The platform with some of its spec replaced. */
export function withSpec(platform: ResolvedPlatform, spec: Partial<ResolvedPlatform['spec']>): ResolvedPlatform {
  return { ...platform, spec: { ...platform.spec, ...spec } };
}

export interface ImportedTopology {
  readonly vhost: string;
  /** The local broker's guest user, in that virtual host. */
  readonly url: string;
  remove(): Promise<void>;
}

/**
 * The platform's boot-time definitions imported into the RabbitMQ here, into a virtual host of
 * their own instead of '/', so the broker names stay exactly the bundle's on a shared server.
 */
export async function importTopology(platform: ResolvedPlatform, prefix: string): Promise<ImportedTopology> {
  const run = promisify(execFile);
  const vhost = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
  const text = JSON.stringify(definitionsOf(platform)).replaceAll('"vhost":"/"', `"vhost":${JSON.stringify(vhost)}`).replace('"vhosts":[{"name":"/"}]', `"vhosts":[{"name":${JSON.stringify(vhost)}}]`);
  if (text.includes('"/"')) throw new Error('the definitions name the default virtual host somewhere else too');
  const dir = mkdtempSync(join(tmpdir(), 'myt-topology-'));
  try {
    writeFileSync(join(dir, 'definitions.json'), text);
    chmodSync(dir, 0o755); // the broker's node (user rabbitmq) reads the file itself
    await run('rabbitmqctl', ['-q', 'import_definitions', join(dir, 'definitions.json')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  return {
    vhost,
    url: `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`,
    remove: async () => {
      await run('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => undefined);
    },
  };
}

/** A volume's source, whichever syntax it is written in. */
export function sourceOf(volume: NonNullable<Service['volumes']>[number]): string {
  return typeof volume === 'string' ? volume.split(':')[0]! : volume.source;
}
