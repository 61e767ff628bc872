// `myt status`: what a platform's host says about itself, read in one SSH command: the current
// release, each service's state and health (docker compose ps), the broker's queues and dead letters
// (rabbitmqctl in its container), the data volume's use (df), the broker certificate's expiry, the
// processors' counters (their /metrics, published on the host's loopback only) and the last deploy.
import { X509Certificate } from 'node:crypto';
import { rabbitmqTlsDir } from '../bundle/rabbitmq.js';
import { METRICS_PORT } from '../bundle/processor.js';
import { DEAD_QUEUE } from '../bundle/broker.js';
import { DB_NAME, databaseService, type Engine } from '../bundle/database.js';
import type { AuditEntry } from './audit.js';
import { parseComposePs, isHealthy } from './compose-cli.js';
import { hostPath, q, type Host } from './host.js';

export interface ServiceStatus {
  readonly service: string;
  readonly state: string;
  readonly health: string;
  readonly status?: string;
}

export interface PlatformStatus {
  readonly platform: string;
  readonly host: string;
  /** False when a service is not up and healthy, or nothing is deployed. */
  readonly healthy: boolean;
  readonly release?: string;
  readonly services: ServiceStatus[];
  /** Messages in each queue or stream; undefined when the broker could not be asked. */
  readonly queues?: { readonly name: string; readonly messages: number }[];
  readonly deadLetters?: number;
  /** From the processors' /metrics, summed over replicas. */
  readonly processor?: { readonly rowsStored: number; readonly deadLettered: number; readonly received: number };
  readonly dataVolume?: { readonly path: string; readonly usedBytes: number; readonly sizeBytes: number; readonly usedPercent: number };
  readonly certificate?: { readonly expires: string; readonly daysLeft: number };
  /** The newest reading's time in the database (undefined: none stored yet, or not readable). */
  readonly lastWrite?: string;
  readonly lastDeploy?: AuditEntry;
  /** What could not be read, in words. */
  readonly notes: string[];
}

const MARK = '@@myt-status:';

function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let name = '';
  for (const line of text.split('\n')) {
    if (line.startsWith(MARK)) {
      name = line.slice(MARK.length).trim();
      out.set(name, '');
    } else if (name) out.set(name, `${out.get(name)}${line}\n`);
  }
  return out;
}

/** What the platform's database is asked for its newest reading's time. */
export interface DatabaseFacts {
  readonly engine: Engine;
  /** The declared measurement tables (SQL engines). */
  readonly tables: readonly string[];
  /** Default MyTData. */
  readonly database?: string;
}

/**
 * A command, run with `sh -c` in the database's container, that prints the epoch seconds of the
 * newest reading of each table or measurement, one per line (a table the processor has not made
 * yet prints nothing). SQL stores declared names in lowercase (docs/processor.md).
 */
export function lastWriteCommand(db: DatabaseFacts): string | undefined {
  const database = db.database ?? DB_NAME;
  const tables = db.tables.map((t) => t.toLowerCase()).filter((t) => /^[a-z_][a-z0-9_]*$/.test(t));
  switch (db.engine) {
    case 'timescaledb':
      return tables.map((t) => `psql -X -At -U "$POSTGRES_USER" -d ${q(database)} -c ${q(`SELECT extract(epoch FROM max(ts)) FROM ${t}`)} 2>/dev/null`).join('; ') || undefined;
    case 'mysql':
      return tables.map((t) => `MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql -uroot -N -B -e ${q(`SELECT UNIX_TIMESTAMP(MAX(ts)) FROM ${t}`)} ${q(database)} 2>/dev/null`).join('; ') || undefined;
    case 'influxdb':
      return `influx -database ${q(database)} -format json -precision s -execute ${q('SELECT * FROM /.*/ ORDER BY time DESC LIMIT 1')}`;
    case 'mongodb':
      return undefined;
  }
}

/** The newest of the times lastWriteCommand printed, as ISO 8601. */
export function parseLastWrite(engine: Engine, text: string): string | undefined {
  let epochs: number[];
  if (engine === 'influxdb') {
    try {
      const r = JSON.parse(text) as { results?: { series?: { values?: unknown[][] }[] }[] };
      epochs = (r.results ?? []).flatMap((x) => x.series ?? []).flatMap((x) => x.values ?? []).map((v) => Number(v[0]));
    } catch {
      return undefined;
    }
  } else epochs = text.split('\n').map((l) => l.trim()).filter((l) => /^\d+(\.\d+)?$/.test(l)).map(Number);
  const newest = Math.max(...epochs.filter((e) => Number.isFinite(e)));
  return Number.isFinite(newest) ? new Date(newest * 1000).toISOString() : undefined;
}

/** Sums a Prometheus counter over every sample (all replicas, all labels). */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`).exec(line.trim());
    if (m) sum += Number(m[1]);
  }
  return sum;
}

export async function platformStatus(host: Host, platform: string, replicas: number, tls: boolean, db: DatabaseFacts, now = new Date()): Promise<PlatformStatus> {
  const lastWrite = lastWriteCommand(db);
  const home = host.layout.home;
  const cert = hostPath(host.layout, platform, `${rabbitmqTlsDir(platform)}/server.pem`);
  const ports = Array.from({ length: replicas }, (_, i) => METRICS_PORT + i);
  // Each part starts on a line of its own: a file without a final newline (a PEM) cannot hide the next marker.
  const script = [
    `cd ${q(`${home}/current`)} 2>/dev/null || { echo '${MARK}none'; exit 0; }`,
    `echo; echo '${MARK}release'; readlink ${q(`${home}/current`)}`,
    `echo; echo '${MARK}ps'; docker compose ps --all --format json 2>&1`,
    `echo; echo '${MARK}queues'; docker compose exec -T rabbitmq rabbitmqctl -q list_queues name messages --formatter json 2>&1`,
    `echo; echo '${MARK}df'; df -P -B1 ${q(host.layout.dataRoot)} 2>&1 | tail -n 1`,
    tls ? `echo; echo '${MARK}cert'; cat ${q(cert)} 2>/dev/null` : '',
    `echo; echo '${MARK}metrics'; for p in ${ports.join(' ')}; do curl -sf --max-time 3 http://127.0.0.1:$p/metrics 2>/dev/null; done`,
    `echo; echo '${MARK}audit'; tail -n 20 ${q(`${home}/audit.log`)} 2>/dev/null`,
    lastWrite ? `echo; echo '${MARK}lastwrite'; docker compose exec -T ${q(databaseService(db.engine))} sh -c ${q(lastWrite)} 2>&1` : '',
    // Each part says what it could not read; the reading as a whole succeeded.
    'exit 0',
  ]
    .filter(Boolean)
    .join('\n');
  const r = await host.run('read the status', script);
  const s = sections(r.stdout);
  const notes: string[] = [];
  if (s.has('none')) return { platform, host: host.label, healthy: false, services: [], notes: ['nothing is deployed yet'] };

  let services: ServiceStatus[] = [];
  try {
    services = parseComposePs(s.get('ps') ?? '').map((c) => ({ service: c.Service, state: c.State, health: c.Health || 'no check', status: c.Status }));
  } catch {
    notes.push(`docker compose ps: ${host.mask((s.get('ps') ?? '').trim().split('\n').slice(-1)[0] ?? '')}`);
  }
  let queues: PlatformStatus['queues'];
  try {
    const list = JSON.parse(s.get('queues') ?? '') as { name: string; messages: number }[];
    queues = list.map((x) => ({ name: x.name, messages: Number(x.messages) || 0 }));
  } catch {
    notes.push(`queues: the broker did not answer (${host.mask((s.get('queues') ?? '').trim().split('\n').slice(-1)[0] ?? 'no output')})`);
  }
  const df = /^\S+\s+(\d+)\s+(\d+)\s+\d+\s+(\d+)%\s+(\S+)$/.exec((s.get('df') ?? '').trim());
  const dataVolume = df ? { path: df[4]!, sizeBytes: Number(df[1]), usedBytes: Number(df[2]), usedPercent: Number(df[3]) } : undefined;
  if (!dataVolume) notes.push('data volume: df gave no answer');
  let certificate: PlatformStatus['certificate'];
  if (tls) {
    try {
      const c = new X509Certificate(s.get('cert') ?? '');
      const expires = new Date(c.validTo);
      certificate = { expires: expires.toISOString(), daysLeft: Math.floor((expires.getTime() - now.getTime()) / 86_400_000) };
    } catch {
      notes.push("certificate: none on the host (run 'myt deploy')");
    }
  }
  const metrics = s.get('metrics') ?? '';
  const processor = metrics.includes('myt_processor_')
    ? { received: metricSum(metrics, 'myt_processor_received_total'), rowsStored: metricSum(metrics, 'myt_processor_rows_stored_total'), deadLettered: metricSum(metrics, 'myt_processor_dead_lettered_total') }
    : undefined;
  if (!processor) notes.push('processor: its /metrics did not answer');
  const audit = (s.get('audit') ?? '').split('\n').flatMap((l) => {
    try {
      return l.trim() ? [JSON.parse(l) as AuditEntry] : [];
    } catch {
      return [];
    }
  });
  const lastDeploy = [...audit].reverse().find((e) => e.outcome === 'deployed' || e.outcome === 'rolled back');
  const healthy = services.length > 0 && services.every((x) => isHealthy({ Name: x.service, Service: x.service, State: x.state, Health: x.health === 'no check' ? '' : x.health }));
  return {
    platform,
    host: host.label,
    healthy,
    release: (s.get('release') ?? '').trim().replace(/^releases\//, '') || undefined,
    services,
    queues,
    deadLetters: queues?.find((x) => x.name === DEAD_QUEUE.name)?.messages,
    processor,
    dataVolume,
    certificate,
    lastWrite: s.has('lastwrite') ? parseLastWrite(db.engine, s.get('lastwrite') ?? '') : undefined,
    lastDeploy,
    notes,
  };
}

/** The status as lines for a person. */
export function formatStatus(st: PlatformStatus): string {
  const lines = [`${st.platform} on ${st.host}: ${st.healthy ? 'healthy' : 'NOT healthy'}${st.release ? `, release ${st.release}` : ''}`];
  for (const x of st.services) lines.push(`  ${x.service.padEnd(14)} ${x.state}${x.health !== 'no check' ? ` (${x.health})` : ''}`);
  if (st.queues) lines.push(`  queues         ${st.queues.map((x) => `${x.name} ${x.messages}`).join(', ') || 'none'}`);
  if (st.deadLetters !== undefined) lines.push(`  dead letters   ${st.deadLetters}`);
  if (st.processor) lines.push(`  processor      ${st.processor.received} received, ${st.processor.rowsStored} rows stored, ${st.processor.deadLettered} dead-lettered since it started`);
  if (st.dataVolume) lines.push(`  data volume    ${st.dataVolume.usedPercent}% used (${(st.dataVolume.usedBytes / 1e9).toFixed(1)} of ${(st.dataVolume.sizeBytes / 1e9).toFixed(1)} GB) at ${st.dataVolume.path}`);
  if (st.certificate) lines.push(`  certificate    expires ${st.certificate.expires.slice(0, 10)} (${st.certificate.daysLeft} days)`);
  lines.push(`  last write     ${st.lastWrite ?? 'none yet (or not readable)'}`);
  if (st.lastDeploy) lines.push(`  last deploy    ${st.lastDeploy.at} by ${st.lastDeploy.actor}${st.lastDeploy.commit ? ` (${st.lastDeploy.commit})` : ''}: ${st.lastDeploy.outcome}`);
  for (const n of st.notes) lines.push(`  note: ${n}`);
  return `${lines.join('\n')}\n`;
}
