/** One JSON line per event on stderr, so `docker logs` and journald keep them whole. Never pass secrets. */
export interface Logger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

export function jsonLogger(write: (line: string) => void = (line) => void process.stderr.write(line)): Logger {
  const emit = (level: string) => (msg: string, extra?: Record<string, unknown>) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...extra })}\n`);
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
