// The script's worker thread: what no in-process timer can stop (a synchronous loop, an exit) costs
// only the message that caused it. The worker is the processor's bundle started again, as on the VM,
// with the script given as MYT_SCRIPT would give it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptWorkerRunner } from '../../processor/src/script-worker.js';
import { ScriptLoadError } from '../../processor/src/script.js';
import { silentLogger } from '../../processor/src/log.js';
import { bundleForTest } from './support.js';

const SCRIPT = `
export default function (message) {
  if (message.action === 'spin') for (;;);
  if (message.action === 'exit') process.exit(3);
  if (message.action === 'throw') throw new Error('no');
  if (message.action === 'exit-later') setTimeout(() => process.exit(4), 10);
  return { ...message, data: { t: message.data.t * 2 } };
}`;

describe('script worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'myt-script-worker-'));
  let bundle: URL;
  let runner: ScriptWorkerRunner;
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
  const message = (t: number, action?: string) => ({ measurement: 'm', data: { t }, ...(action ? { action } : {}) });
  // Bodies cross to the worker as text, as the processor hands them over; outputs carry the messages.
  const msg = (t: number, action?: string) => JSON.stringify(message(t, action));
  const out = (t: number, action?: string) => ({ ok: true, head: {}, messages: [message(t, action)] });

  beforeAll(async () => {
    bundle = pathToFileURL(await bundleForTest());
    writeFileSync(join(dir, 'script.mjs'), SCRIPT);
    runner = new ScriptWorkerRunner(bundle, 300, log, join(dir, 'script.mjs'));
    await runner.start();
  }, 60_000);
  afterAll(() => runner.close());

  it('runs a batch in the worker, one result per message in order', async () => {
    const results = await runner.run([msg(1), msg(2, 'throw'), msg(3)]);
    expect(results).toEqual([out(2), { ok: false, stage: 'script', reason: 'script threw Error: no' }, out(6)]);
  });

  it('stops a synchronous loop and an exit, failing only the message that caused each, and goes on', async () => {
    const results = await runner.run([msg(1), msg(2, 'spin'), msg(3), msg(4, 'exit'), msg(5)]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, true]);
    expect(results[1]).toEqual({ ok: false, stage: 'script', reason: expect.stringMatching(/longer than 300 ms \(it blocked its thread/) as string });
    expect(results[3]).toEqual({ ok: false, stage: 'script', reason: 'script ended its worker (exit code 3)' });
    expect(results[4]).toEqual(out(10));
    // The restarted worker serves the next batch at full speed again.
    expect(await runner.run([msg(7)])).toEqual([out(14)]);
  }, 30_000);

  it('replaces a worker that died between batches before the next one', async () => {
    expect(await runner.run([msg(1, 'exit-later')])).toEqual([out(2, 'exit-later')]);
    await new Promise((done) => setTimeout(done, 200)); // its timer ends the worker meanwhile
    warnings.length = 0;
    expect(await runner.run([msg(3)])).toEqual([out(6)]);
    // Replaced before the batch, not found dead by it (which runs the batch again message by message).
    expect(warnings.filter((w) => /one message at a time/.test(w))).toEqual([]);
  }, 30_000);

  it('refuses to start when the script does not load, with the reason', async () => {
    writeFileSync(join(dir, 'broken.mjs'), 'throw new Error("cannot load me");');
    const broken = new ScriptWorkerRunner(bundle, 300, silentLogger, join(dir, 'broken.mjs'));
    await expect(broken.start()).rejects.toThrow(ScriptLoadError);
    await expect(new ScriptWorkerRunner(bundle, 300, silentLogger, join(dir, 'broken.mjs')).start()).rejects.toThrow(/cannot load me/);
  }, 30_000);
});
