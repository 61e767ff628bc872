// CPU time per process group, from /proc, so a benchmark can say where each message's CPU went
// (broker, database, processor, the benchmark itself). Linux only; elsewhere the figures are empty.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux

export const GROUPS = ['broker', 'database', 'processor', 'bench', 'other'] as const;
export type Group = (typeof GROUPS)[number];

/** CPU microseconds used so far by every live process, keyed by pid. */
export type Snapshot = Map<number, { group: Group; us: number }>;

function groupOf(pid: number, comm: string, processor: number | undefined): Group {
  if (pid === processor) return 'processor';
  if (pid === process.pid) return 'bench';
  if (comm === 'beam.smp') return 'broker';
  if (comm === 'postgres' || comm === 'mariadbd') return 'database';
  return 'other';
}

export function snapshot(processorPid?: number): Snapshot {
  const out: Snapshot = new Map();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // comm is in parentheses and may contain spaces: the fields after it are split on ") ".
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const rest = stat.slice(close + 2).split(' ');
      const ticks = Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14 and 15)
      const pid = Number(p);
      out.set(pid, { group: groupOf(pid, comm, processorPid), us: ticks * TICK_US });
    } catch {
      // exited between readdir and read
    }
  }
  return out;
}

/**
 * CPU microseconds per message of each group between two snapshots. A process that exited in
 * between is not counted (its last figures are lost), so take `after` before stopping connections.
 */
export function perMessage(before: Snapshot, after: Snapshot, messages: number): Record<Group, number> {
  const sums = Object.fromEntries(GROUPS.map((g) => [g, 0])) as Record<Group, number>;
  for (const [pid, { group, us }] of after) sums[group] += us - (before.get(pid)?.us ?? 0);
  for (const g of GROUPS) sums[g] /= messages;
  return sums;
}

export const formatCpu = (c: Record<Group, number>) =>
  `broker ${c.broker.toFixed(1)}, database ${c.database.toFixed(1)}, processor ${c.processor.toFixed(1)}, bench ${c.bench.toFixed(1)}, other ${c.other.toFixed(1)} µs/msg`;
