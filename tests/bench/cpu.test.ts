// The benchmark's CPU accounting reads /proc: a figure per process group must follow real CPU use.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { perMessage, snapshot } from '../../bench/cpu.js';

/** Uses `ms` of this process's CPU time (not wall time: on a loaded machine that would be less CPU). */
function burn(ms: number): void {
  const start = process.cpuUsage();
  const used = () => {
    const d = process.cpuUsage(start);
    return (d.user + d.system) / 1000;
  };
  while (used() < ms);
}

describe('bench CPU accounting', () => {
  it('charges this process to "bench" and a given pid to "processor", per message', async () => {
    // The child burns until it is killed: it must still be alive at the second snapshot.
    const child = spawn(process.execPath, ['-e', 'for (;;);']);
    const exited = new Promise((done) => child.once('exit', done));
    const before = snapshot(child.pid);
    burn(200);
    await new Promise((done) => setTimeout(done, 150)); // the child keeps burning meanwhile
    const after = snapshot(child.pid);
    child.kill('SIGKILL');
    await exited;
    const cpu = perMessage(before, after, 10);
    // 200 ms of this process in 10 messages ≈ 20,000 µs each (ticks are 10 ms: allow for rounding).
    expect(cpu.bench).toBeGreaterThan(15_000);
    expect(cpu.bench).toBeLessThan(40_000);
    expect(cpu.processor).toBeGreaterThan(5_000);
  });

  it('does not count a process that exited between the snapshots', () => {
    const before = new Map([[999_999_999, { group: 'database' as const, us: 5_000 }]]);
    expect(perMessage(before, new Map(), 1).database).toBe(0);
  });
});
