/** Exponential back-off: 100 ms, 200 ms, … up to `maxMs`, with ±20% jitter so restarts do not stampede. */
export function backoffDelay(attempt: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, 100 * 2 ** Math.min(attempt, 20));
  return Math.round(Math.min(maxMs, base * (0.8 + 0.4 * random())));
}

/** Waits `ms`, waking early (in slices of at most 100 ms) once `stop()` says so. */
export async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!stop() && Date.now() < end) {
    await new Promise((done) => setTimeout(done, Math.min(100, end - Date.now())));
  }
}
