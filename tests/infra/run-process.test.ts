// runProcess stopping a program with its whole process group. The program is a STAND-IN for
// Terraform (a small Node script, run directly, no shell): it starts a child of its own (what a
// provider or a local-exec provisioner is to Terraform), which stays in its process group and
// holds none of our pipes, as Terraform's children do not; once that grandchild has written its
// pid to a file, the stand-in prints 'ready' and waits. Unlike the real Terraform, the stand-in
// never stops its own children, so only MyT's signals to the group can stop the grandchild.
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProcess, type RunResult } from '../../src/infra/terraform/run-process.js';
import { goneWithin } from '../helpers/processes.js';

const STAND_IN = `
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const [pidFile, terraformOnSigint, grandchildOnSigint] = process.argv.slice(2);
// A grandchild that 'ignore's is stubborn: it ignores SIGTERM too, so only SIGKILL stops it. It
// writes its pid once its handlers are in place.
const handlers = grandchildOnSigint === 'ignore' ? "process.on('SIGINT', () => {}); process.on('SIGTERM', () => {}); " : '';
const code = handlers + 'require("node:fs").writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000);';
spawn(process.execPath, ['-e', code, pidFile], { stdio: 'ignore' });
if (terraformOnSigint === 'ignore') process.on('SIGINT', () => {});
const ready = setInterval(() => {
  if (!existsSync(pidFile)) return;
  clearInterval(ready);
  console.log('ready');
}, 50);
setInterval(() => {}, 1000);
`;

let dir: string;
let script: string;
let pidFile: string;
const started: number[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'myt-run-process-'));
  script = join(dir, 'terraform-stand-in.cjs');
  pidFile = join(dir, 'grandchild.pid');
  writeFileSync(script, STAND_IN);
});
afterEach(() => {
  // Whatever a failed test left running is not left for the next one.
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

type OnSigint = 'exit' | 'ignore';

/** Runs the stand-in; with `interruptWhenReady`, that signal reaches us (Ctrl-C, a cancelled job) once it printed 'ready'. */
async function runStandIn(opts: { terraform: OnSigint; grandchild: OnSigint; timeoutMs?: number; graceMs: number; interruptWhenReady?: 'SIGINT' | 'SIGTERM' }): Promise<RunResult> {
  const signals = new EventEmitter();
  const result = await runProcess(process.execPath, [script, pidFile, opts.terraform, opts.grandchild], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '' },
    timeoutMs: opts.timeoutMs ?? 120_000,
    graceMs: opts.graceMs,
    signals,
    onLine: (line) => {
      if (line !== 'ready') return;
      started.push(grandchildPid());
      if (opts.interruptWhenReady) signals.emit(opts.interruptWhenReady);
    },
  });
  expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
  return result;
}

function grandchildPid(): number {
  return Number(readFileSync(pidFile, 'utf8'));
}

describe('runProcess stops the whole process group (a stand-in Terraform that leaves a grandchild)', () => {
  it('on timeout, SIGINT goes to the group: a grandchild that Terraform does not stop is stopped too', async () => {
    // The grace period is long: only the SIGINT to the group can have stopped the grandchild in time.
    const result = await runStandIn({ terraform: 'exit', grandchild: 'exit', timeoutMs: 6_000, graceMs: 600_000 });
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGINT');
    expect(await goneWithin(grandchildPid(), 10_000)).toBe(true);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('on an interrupt by %s (Ctrl-C, a cancelled CI job), SIGINT goes to the group too', async (signal) => {
    const result = await runStandIn({ terraform: 'exit', grandchild: 'exit', graceMs: 600_000, interruptWhenReady: signal });
    expect(result.interrupted).toBe(true);
    expect(await goneWithin(grandchildPid(), 10_000)).toBe(true);
  });

  it('when Terraform exits after SIGINT, what it left in its group is killed (a grandchild that ignores SIGINT and SIGTERM)', async () => {
    const result = await runStandIn({ terraform: 'exit', grandchild: 'ignore', graceMs: 2_000, interruptWhenReady: 'SIGINT' });
    expect(result.signal).toBe('SIGINT');
    expect(await goneWithin(grandchildPid(), 10_000)).toBe(true);
  });

  it('a Terraform that ignores SIGINT is killed with its whole group when the grace period ends', async () => {
    const result = await runStandIn({ terraform: 'ignore', grandchild: 'ignore', graceMs: 1_000, interruptWhenReady: 'SIGINT' });
    expect(result.signal).toBe('SIGKILL');
    expect(result.interrupted).toBe(true);
    expect(await goneWithin(grandchildPid(), 10_000)).toBe(true);
  });
});
