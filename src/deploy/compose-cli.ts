// The Docker Compose commands the deploy runs on the host, and how their output is read. Compose is
// always run from the `current` link, so the paths compose.yaml names stay the same from one release
// to the next. Output formats: `docker compose ps --format json` prints one JSON object per line
// (Compose v2.21 and later) or one JSON array (earlier v2); both are read.
import { q, tail, type Host } from './host.js';

/** One container as `docker compose ps --format json` describes it (the fields MyT reads). */
export interface ComposeContainer {
  readonly Name: string;
  readonly Service: string;
  /** created | running | restarting | exited | paused | dead | removing */
  readonly State: string;
  /** '' (no health check) | starting | healthy | unhealthy */
  readonly Health: string;
  readonly Status?: string;
  readonly ExitCode?: number;
}

export function parseComposePs(text: string): ComposeContainer[] {
  const t = text.trim();
  if (t === '') return [];
  const values: unknown[] = t.startsWith('[') ? (JSON.parse(t) as unknown[]) : t.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  return values.filter((v): v is ComposeContainer => v !== null && typeof v === 'object' && typeof (v as ComposeContainer).Service === 'string');
}

/** Up and, when it has a health check, healthy. */
export function isHealthy(c: ComposeContainer): boolean {
  return c.State === 'running' && (c.Health === '' || c.Health === undefined || c.Health === 'healthy');
}

export function composeIn(host: Host): string {
  return `cd ${q(`${host.layout.home}/current`)} && docker compose`;
}

export async function composePs(host: Host): Promise<ComposeContainer[]> {
  const r = await host.run('read the services (docker compose ps)', `${composeIn(host)} ps --all --format json`);
  return parseComposePs(r.stdout);
}

export interface UpOptions {
  /** Only these services, without their dependencies (`--no-deps`). */
  readonly services?: readonly string[];
  readonly forceRecreate?: boolean;
  /** Seconds `--wait` may take. */
  readonly waitSeconds: number;
}

/** The `docker compose up` command line: detached, waiting for health with a bound. */
export function upCommand(host: Host, opts: UpOptions): string {
  const svc = opts.services ?? [];
  return [
    composeIn(host),
    'up -d',
    svc.length ? '--no-deps' : '--remove-orphans',
    opts.forceRecreate ? '--force-recreate' : '',
    `--wait --wait-timeout ${Math.max(1, Math.round(opts.waitSeconds))}`,
    ...svc.map(q),
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * For each service that is not up and healthy: its health log (`docker inspect`) and its last lines
 * of output (`docker compose logs`), as Kamal prints when a health check fails.
 */
export async function unhealthyReport(host: Host, only?: readonly string[]): Promise<string> {
  let containers: ComposeContainer[];
  try {
    containers = parseComposePs((await host.exec(`${composeIn(host)} ps --all --format json`)).stdout);
  } catch {
    return '';
  }
  const bad = containers.filter((c) => !isHealthy(c) && (only === undefined || only.includes(c.Service)));
  const parts: string[] = [];
  for (const c of bad) {
    parts.push(`service ${c.Service} (${c.Name}): ${c.State}${c.Health ? `, ${c.Health}` : ''}${c.Status ? ` — ${c.Status}` : ''}`);
    const health = await host.exec(`docker inspect --format '{{json .State.Health}}' ${q(c.Name)}`);
    const log = healthLog(health.stdout);
    if (log) parts.push(`  health checks:\n${tail(log, 5)}`);
    const logs = await host.exec(`${composeIn(host)} logs --no-color --tail 20 ${q(c.Service)}`);
    if (logs.stdout.trim() || logs.stderr.trim()) parts.push(`  last output:\n${tail(`${logs.stdout}\n${logs.stderr}`, 20)}`);
  }
  return host.mask(parts.join('\n'));
}

/** The outputs of a container's last health checks, from `docker inspect --format '{{json .State.Health}}'`. */
export function healthLog(text: string): string {
  try {
    const h = JSON.parse(text) as { Log?: { ExitCode?: number; Output?: string }[] } | null;
    return (h?.Log ?? []).map((l) => `exit ${l.ExitCode ?? '?'}: ${(l.Output ?? '').trim()}`).join('\n');
  } catch {
    return '';
  }
}
