// The audit log on the host: one JSON line per deploy, appended (`>>`), never rewritten: when, which
// commit, who, from where, what it did.
import { q, type Host } from './host.js';

export interface AuditEntry {
  readonly at: string;
  readonly command: 'deploy' | 'redeploy' | 'release-lock';
  readonly actor: string;
  readonly from: string;
  readonly commit?: string;
  /** deployed | unchanged | rolled back | failed | took over a stale lock | released the lock */
  readonly outcome: string;
  readonly release?: string;
  readonly changes?: readonly string[];
  readonly detail?: string;
}

export function auditFile(host: Host): string {
  return `${host.layout.home}/audit.log`;
}

export async function appendAudit(host: Host, entry: AuditEntry): Promise<void> {
  await host.run('write the audit log', `umask 077; printf '%s\\n' ${q(host.mask(JSON.stringify(entry)))} >> ${q(auditFile(host))}`);
}

/** The audit log's entries (the last `n`), for `myt status` and tests. */
export async function readAudit(host: Host, n = 20): Promise<AuditEntry[]> {
  const r = await host.exec(`tail -n ${Math.max(1, Math.floor(n))} ${q(auditFile(host))} 2>/dev/null`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as AuditEntry];
      } catch {
        return [];
      }
    });
}
