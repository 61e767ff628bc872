// A STAND-IN for the npm registry: an HTTP server on 127.0.0.1 (tests must not depend on
// registry.npmjs.org). The contract it stands in for is npm's documented packument endpoint:
// `GET /<name>` (a scoped name as `@scope%2fname`), with `Accept: application/vnd.npm.install-v1+json`
// for the abbreviated document, answers 200 with `{name, "dist-tags": {latest}, versions:
// {<version>: {...}}}`, or 404 `{"error":"Not found"}` for a package that does not exist.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRegistry {
  /** Its base URL, ending in '/'. */
  readonly url: string;
  /** Every request received: path and Accept header. */
  readonly requests: { url: string; accept: string | undefined }[];
  close(): Promise<void>;
}

/** Starts a stand-in registry publishing the given versions of each package. */
export async function startStandInRegistry(published: Record<string, readonly string[]>): Promise<StandInRegistry> {
  const requests: StandInRegistry['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', accept: req.headers.accept });
    const name = decodeURIComponent((req.url ?? '/').slice(1));
    const versions = published[name];
    res.setHeader('content-type', 'application/json');
    if (!versions) {
      res.statusCode = 404;
      res.end('{"error":"Not found"}');
      return;
    }
    res.end(JSON.stringify({ name, 'dist-tags': { latest: versions.at(-1) }, versions: Object.fromEntries(versions.map((v) => [v, { name, version: v }])) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
