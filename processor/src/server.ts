// /healthz and /metrics over plain HTTP (scraped by Prometheus and checked by `myt status`).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Health {
  readonly broker: boolean;
  readonly database: boolean;
  /** ISO time of the last committed batch, null before the first. */
  readonly lastWriteAt: string | null;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(host: string, port: number, health: () => Promise<Health>, registry: Registry): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = async () => {
      if (req.method !== 'GET') return [405, 'text/plain', 'method not allowed\n'] as const;
      if (path === '/healthz') {
        const h = await health();
        const ok = h.broker && h.database;
        return [ok ? 200 : 503, 'application/json', `${JSON.stringify({ status: ok ? 'ok' : 'unhealthy', ...h })}\n`] as const;
      }
      if (path === '/metrics') return [200, registry.contentType, await registry.metrics()] as const;
      return [404, 'text/plain', 'not found: try /healthz or /metrics\n'] as const;
    };
    reply().then(
      ([status, type, body]) => res.writeHead(status, { 'content-type': type }).end(body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`error: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
