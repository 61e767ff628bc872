// A STAND-IN for GitHub's REST API (the real one cannot be reached from tests), on 127.0.0.1.
// The contract it stands in for is GitHub's own OpenAPI description (@octokit/openapi,
// api.github.com.json): every request is matched to an operation of it and validated (method, path,
// parameters, JSON body) with openapi-backend; a request that is not in it, or breaks it, is
// answered 400/404 and recorded as a violation, which tests assert to be none. Only the operations
// MyT uses have behaviour here (issue comments, Actions secrets and their public key), with
// responses shaped as the description's examples are. The token stands for the workflow's
// github-actions[bot]: like GitHub, the stand-in refuses (403) an edit of anyone else's comment.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import formats from 'ajv-formats';
import { OpenAPIBackend } from 'openapi-backend';

const require = createRequire(import.meta.url);

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly operationId?: string;
  readonly body: unknown;
  readonly authorization?: string;
}

export interface StoredComment {
  id: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
}

type Backend = InstanceType<typeof OpenAPIBackend>;
let backend: Promise<Backend> | undefined;

/** GitHub's OpenAPI description, loaded once per test file (it is 13 MB). */
function openApi(): Promise<Backend> {
  backend ??= (async () => {
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    const api = new OpenAPIBackend({ definition: JSON.parse(readFileSync(file, 'utf8')) as never, quick: true, validate: true, strict: false, customizeAjv: (ajv) => formats.default(ajv) });
    await api.init();
    return api;
  })();
  return backend;
}

export interface GitHubStandIn {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Requests the OpenAPI description does not allow, with why. */
  readonly violations: string[];
  readonly comments: Map<number, StoredComment[]>;
  readonly secrets: Map<string, { encrypted_value: string; key_id: string }>;
  /** The repository's secrets key pair (libsodium sealed boxes), public part served by the API. */
  keyPair?: { publicKey: Uint8Array; privateKey: Uint8Array; keyId: string };
  /** Answer the next requests with these statuses first (a 502, a rate limit), to exercise retries. */
  failNext: number[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startGitHubStandIn(): Promise<GitHubStandIn> {
  const api = await openApi();
  let nextId = 1000;
  const state: Omit<GitHubStandIn, 'url' | 'close'> = { requests: [], violations: [], comments: new Map(), secrets: new Map(), failNext: [] };
  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3; format=json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        state.violations.push(`${req.method} ${url.pathname}: body is not JSON`);
        return send(res, 400, { message: 'Problems parsing JSON' });
      }
      const request = {
        method: (req.method ?? 'GET').toLowerCase(),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        headers: req.headers as Record<string, string>,
      };
      const operation = api.matchOperation(request);
      state.requests.push({ method: req.method ?? 'GET', path: url.pathname, operationId: operation?.operationId, body, authorization: req.headers.authorization });
      if (!operation) {
        state.violations.push(`${req.method} ${url.pathname}: no such operation in GitHub's REST API description`);
        return send(res, 404, { message: 'Not Found' });
      }
      const validation = api.validateRequest(request, operation);
      if (!validation.valid) {
        state.violations.push(`${req.method} ${url.pathname} (${operation.operationId}): ${JSON.stringify(validation.errors)}`);
        return send(res, 422, { message: 'Validation Failed', errors: validation.errors });
      }
      const fail = state.failNext.shift();
      if (fail === 403) return send(res, 403, { message: 'API rate limit exceeded' }, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 1), 'retry-after': '1' });
      if (fail !== undefined) return send(res, fail, { message: 'Server Error' });
      const p = operation.operationId;
      const params = (api.router.parseRequest(request, operation).params ?? {}) as Record<string, string>;
      const now = new Date().toISOString();
      const commentJson = (c: StoredComment, issue: number) => ({
        id: c.id,
        node_id: `IC_${c.id}`,
        url: `http://127.0.0.1/repos/${params.owner}/${params.repo}/issues/comments/${c.id}`,
        html_url: `https://github.com/${params.owner}/${params.repo}/pull/${issue}#issuecomment-${c.id}`,
        body: c.body,
        user: { login: c.user.login, id: 41898282, type: c.user.type },
        created_at: now,
        updated_at: now,
        issue_url: `http://127.0.0.1/repos/${params.owner}/${params.repo}/issues/${issue}`,
        author_association: 'NONE',
      });
      switch (p) {
        case 'issues/list-comments': {
          // Paged as GitHub pages: per_page (default 30, at most 100), page, and a Link header to the next page.
          const issue = Number(params.issue_number);
          const all = state.comments.get(issue) ?? [];
          const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
          const page = Number(url.searchParams.get('page') ?? 1);
          const next: Record<string, string> = page * perPage < all.length ? { link: `<http://127.0.0.1:${(server.address() as AddressInfo).port}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"` } : {};
          return send(res, 200, all.slice((page - 1) * perPage, page * perPage).map((c) => commentJson(c, issue)), next);
        }
        case 'issues/create-comment': {
          const issue = Number(params.issue_number);
          const c: StoredComment = { id: nextId++, body: (body as { body: string }).body, user: { login: 'github-actions[bot]', type: 'Bot' } };
          state.comments.set(issue, [...(state.comments.get(issue) ?? []), c]);
          return send(res, 201, commentJson(c, issue));
        }
        case 'issues/update-comment': {
          for (const [issue, list] of state.comments) {
            const c = list.find((x) => x.id === Number(params.comment_id));
            if (c) {
              // A token edits only comments its own identity made (GitHub: 403 "Resource not accessible by integration").
              if (c.user.login !== 'github-actions[bot]') return send(res, 403, { message: 'Resource not accessible by integration' });
              c.body = (body as { body: string }).body;
              return send(res, 200, commentJson(c, issue));
            }
          }
          return send(res, 404, { message: 'Not Found' });
        }
        case 'actions/get-repo-public-key': {
          if (!state.keyPair) return send(res, 404, { message: 'Not Found' });
          return send(res, 200, { key_id: state.keyPair.keyId, key: Buffer.from(state.keyPair.publicKey).toString('base64') });
        }
        case 'actions/get-repo-secret': {
          // Metadata only: GitHub never returns a secret's value.
          if (!state.secrets.has(params.secret_name!)) return send(res, 404, { message: 'Not Found' });
          return send(res, 200, { name: params.secret_name, created_at: now, updated_at: now });
        }
        case 'actions/create-or-update-repo-secret': {
          const created = !state.secrets.has(params.secret_name!);
          state.secrets.set(params.secret_name!, body as { encrypted_value: string; key_id: string });
          return send(res, created ? 201 : 204, created ? {} : undefined);
        }
        default:
          state.violations.push(`${req.method} ${url.pathname} (${p}): the stand-in has no behaviour for it`);
          return send(res, 501, { message: 'Not implemented by the stand-in' });
      }
    })().catch((err: unknown) => {
      state.violations.push(`stand-in error: ${String(err)}`);
      if (!res.headersSent) send(res, 500, { message: 'stand-in error' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // The same object the server reads: a test may set keyPair or failNext on it.
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
