// InfluxDB 1.x's HTTP API (/query, /write, /ping), called with fetch. The `influx` package did this
// before; it was replaced because its host pool kept answering "No host available" long after an
// InfluxDB restart (seen in the database-restart test: the processor never caught up), and because
// its point writer floors integers through a JavaScript number (see line-protocol.ts). Every call
// here fails by itself and is retried by the pipeline, so no pool is needed.

/** One statement's result: its series (name, columns, rows) or its error. */
interface StatementResult {
  readonly error?: string;
  readonly series?: readonly { readonly name: string; readonly columns: readonly string[]; readonly values: readonly (readonly unknown[])[] }[];
}

/** An answer from InfluxDB other than success, with its HTTP status (400 and 413 are the data's fault). */
export class InfluxHttpError extends Error {
  override readonly name = 'InfluxHttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 30_000;

export class InfluxHttp {
  private readonly base: string;
  private readonly headers: Record<string, string> = {};

  /** `url` is MYT_DB_URL: scheme, host, port and optional credentials (its path names the database). */
  constructor(url: string) {
    const u = new URL(url);
    this.base = `${u.protocol}//${u.host}`;
    const username = decodeURIComponent(u.username);
    if (username) this.headers.authorization = `Basic ${Buffer.from(`${username}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  }

  private async call(method: 'GET' | 'POST', path: string, params: Record<string, string>, body?: string, timeoutMs = TIMEOUT_MS): Promise<Response> {
    const res = await fetch(`${this.base}${path}?${new URLSearchParams(params).toString()}`, {
      method,
      headers: body === undefined ? this.headers : { ...this.headers, 'content-type': 'text/plain; charset=utf-8' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status >= 300) throw new InfluxHttpError(res.status, `InfluxDB answered ${res.status} to ${path}: ${(await res.text()).slice(0, 300)}`);
    return res;
  }

  /** Runs InfluxQL statements; rows come back as objects by column name (times as epoch ns numbers). */
  async query(database: string | undefined, q: string): Promise<Record<string, unknown>[]> {
    const res = await this.call(q.trimStart().toUpperCase().startsWith('SELECT') ? 'GET' : 'POST', '/query', { ...(database ? { db: database } : {}), q, epoch: 'ns' });
    const { results } = (await res.json()) as { results?: readonly StatementResult[] };
    const rows: Record<string, unknown>[] = [];
    for (const result of results ?? []) {
      // MyT's own query failing is never a record's fault: not a 400, so it is retried, not dead-lettered.
      if (result.error) throw new InfluxHttpError(500, `InfluxDB could not run a query: ${result.error}`);
      for (const series of result.series ?? []) {
        for (const values of series.values) rows.push(Object.fromEntries(series.columns.map((c, i) => [c, values[i]])));
      }
    }
    return rows;
  }

  /** Writes line-protocol points at nanosecond precision. */
  async write(database: string, lines: string): Promise<void> {
    await this.call('POST', '/write', { db: database, precision: 'n' }, lines);
  }

  async ping(timeoutMs: number): Promise<void> {
    await this.call('GET', '/ping', {}, undefined, timeoutMs);
  }
}

/** An InfluxQL string literal. */
export function stringLiteral(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** An InfluxQL identifier (measurement or field name), double-quoted. */
export function identifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
