/** Whether the process is gone within `ms` (polled every 100 ms): a bound, not a speed test. */
export async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 100) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return false;
}
