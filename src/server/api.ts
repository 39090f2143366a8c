// The query API of `cpath serve` (JSON over HTTP, default 127.0.0.1:4320): the questions
// `cpath analyze` answers, over what the server has stored, while traffic flows.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { UsageError } from '../params/values.js';
import { PageAssetsMissing, renderPage } from '../report/html.js';
import { VERSION } from '../version.js';
import { ApiParamError, cursorParam, durationParam, encodeCursor, limitParam, timeParam as parseTimeParam, traceIdParam } from '../params/api-params.js';
import { TOKEN_COOKIE, type TokenCheck } from './auth.js';
import { hostAllowed, type HostPolicy } from './host-check.js';
import type { Metrics } from './metrics.js';
import { PageSnapshot, attrParam, type AnalysisSettings } from './page-api.js';
import type { QuerySource } from './query-source.js';

export interface ApiContext {
  /** Undefined on a cluster node without the api role: it answers /healthz and /metrics only. */
  readonly query: QuerySource | undefined;
  /** What /healthz says; default: always healthy. */
  readonly health?: () => { readonly ok: boolean; readonly text: string };
  readonly metrics: Metrics;
  readonly token: TokenCheck;
  readonly settings: AnalysisSettings;
  /** Which `Host` names are answered (DNS rebinding). */
  readonly hosts: HostPolicy;
}

/** The page only talks to this server; inline script and style are the page's own (one file); no other page may frame it (clickjacking). */
const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'";

/** How long the browser keeps the token cookie. */
const COOKIE_MAX_AGE_S = 7 * 24 * 3600;

const MAX_LIMIT = 1000;

export function createApiHandler(ctx: ApiContext): (req: IncomingMessage, res: ServerResponse) => void {
  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown): void => {
    // UsageError: attrParam (page-api.ts) shares the CLI's error type.
    if (e instanceof ApiParamError || e instanceof UsageError) return json(res, 400, { error: e.message });
    process.stderr.write(`cpath serve: internal error on ${req.method ?? '?'} ${req.url ?? '?'}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (!res.headersSent && !res.destroyed) json(res, 500, { error: 'internal error' });
  };
  const snapshot = new PageSnapshot();
  return (req, res) => {
    try {
      const answer = route(req, res, ctx, snapshot);
      if (answer instanceof Promise) answer.catch((e: unknown) => fail(req, res, e));
    } catch (e) {
      fail(req, res, e);
    }
  };
}

/** Answers synchronously, or returns the promise of an answer (a search scanning in slices). */
function route(req: IncomingMessage, res: ServerResponse, ctx: ApiContext, snapshot: PageSnapshot): Promise<void> | void {
  // Every answer, errors included: a browser must not read JSON or text as HTML or script.
  res.setHeader('X-Content-Type-Options', 'nosniff');
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // An absolute-form target such as `http://[bad`: Node passes it on as it came.
    return json(res, 400, { error: `the request target ${JSON.stringify(req.url)} is not a URL` });
  }
  const path = url.pathname;
  const q = url.searchParams;
  // Before the token: a rebinding page must not even learn whether a token is set.
  if (!hostAllowed(ctx.hosts, req.headers.host, req.socket.localPort ?? 0)) {
    return json(res, 403, { error: `Host ${JSON.stringify(req.headers.host ?? '')} is not a name this server answers to (localhost, 127.0.0.1, [::1] with its port or none, and --allowed-host names: a guard against DNS rebinding); start cpath serve with --allowed-host NAME to allow another name` });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return json(res, 405, { error: `method ${req.method ?? '?'} not allowed; the API is read-only` });
  }
  // `/?token=T` trades the token for a cookie once, so a browser can use the API and the page.
  if (path === '/' && q.has('token')) {
    if (!ctx.token.matches(q.get('token') ?? '')) return json(res, 401, { error: 'wrong token' });
    // cpath serves plain HTTP; a TLS socket (or a TLS proxy saying so) gets a Secure cookie.
    const tls = ('encrypted' in req.socket && req.socket.encrypted === true) || req.headers['x-forwarded-proto'] === 'https';
    const expires = new Date(Date.now() + COOKIE_MAX_AGE_S * 1000).toUTCString();
    res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${encodeURIComponent(q.get('token') ?? '')}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${COOKIE_MAX_AGE_S}; Expires=${expires}${tls ? '; Secure' : ''}`);
    res.setHeader('Location', '/');
    res.statusCode = 302;
    res.end();
    return;
  }
  if (!ctx.token.request(req, true)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="cpath"');
    json(res, 401, { error: 'missing or wrong token: send Authorization: Bearer <token>, or open /?token=<token> once in a browser' });
    return;
  }
  if (path === '/healthz') {
    const h = ctx.health?.() ?? { ok: true, text: 'ok' };
    return text(res, h.ok ? 200 : 503, `${h.text}\n`);
  }
  if (path === '/metrics') return text(res, 200, ctx.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
  const source = ctx.query;
  if (source === undefined) return json(res, 404, { error: `${path}: this node has no api role (cluster roles: receiver, analyser, api); ask a node started with --role api or all` });
  if (path === '/api') {
    return json(res, 200, {
      cpath: VERSION,
      api: [
        '/ (the live page)',
        '/api/page?since=&until=',
        '/api/endpoints?since=&until=',
        '/api/traces?service=&operation=&attr=key=value&minDuration=&maxDuration=&since=&until=&limit=&cursor=',
        '/api/traces/{traceId}',
        '/api/outliers?service=&operation=',
        '/api/diagnostics',
        '/metrics',
        '/healthz',
      ],
    });
  }
  if (path === '/api/page') {
    const sinceNs = timeParam(q, 'since');
    const untilNs = timeParam(q, 'until');
    // What every open page polls: shared and rate-limited. A window is built on demand.
    if (sinceNs === undefined && untilNs === undefined) return text(res, 200, snapshot.get(() => source.page()), 'application/json');
    return json(res, 200, source.page(sinceNs, untilNs));
  }
  if (path === '/api/endpoints') {
    return json(res, 200, { endpoints: source.endpoints(timeParam(q, 'since'), timeParam(q, 'until')) });
  }
  if (path === '/api/outliers') {
    const service = q.get('service') ?? undefined;
    const operation = q.get('operation') ?? undefined;
    const eps = source.endpoints(timeParam(q, 'since'), timeParam(q, 'until')).filter((e) => (service === undefined || e.service === service) && (operation === undefined || e.operation === operation));
    const outliers = eps.flatMap((e) => e.outliers.map((o) => ({ service: e.service, operation: e.operation, thresholdNs: e.outlierThresholdNs, ...o })));
    outliers.sort((a, b) => b.durationNs - a.durationNs);
    return json(res, 200, { outliers });
  }
  if (path === '/api/diagnostics') return json(res, 200, { diagnostics: source.diagnostics() });
  if (path === '/api/traces') {
    const limit = q.has('limit') ? limitParam(q.get('limit') ?? '', MAX_LIMIT) : 100;
    const minDuration = q.get('minDuration');
    const maxDuration = q.get('maxDuration');
    const sinceNs = timeParam(q, 'since');
    const untilNs = timeParam(q, 'until');
    const cursor = q.get('cursor');
    const attrs = q.getAll('attr').map(attrParam);
    const query = {
      ...(q.get('service') !== null ? { service: q.get('service') ?? '' } : {}),
      ...(q.get('operation') !== null ? { operation: q.get('operation') ?? '' } : {}),
      ...(minDuration !== null ? { minDurationNs: durationParam('minDuration', minDuration) } : {}),
      ...(maxDuration !== null ? { maxDurationNs: durationParam('maxDuration', maxDuration) } : {}),
      ...(sinceNs !== undefined ? { sinceNs } : {}),
      ...(untilNs !== undefined ? { untilNs } : {}),
      ...(cursor !== null ? { cursor: cursorParam(cursor) } : {}),
      limit,
    };
    if (attrs.length === 0) {
      return then(source.listTraces(query), (page) => json(res, 200, { traces: page.traces, ...(page.next ? { next: encodeCursor(page.next) } : {}) }));
    }
    // Attributes are not indexed (an index would slow every ingest): the search scans, in slices.
    return source.searchTraces(query, attrs, () => res.destroyed).then((page) => {
      if (!res.destroyed) json(res, 200, { traces: page.traces, ...(page.next ? { next: encodeCursor(page.next) } : {}), scanned: page.scanned });
    });
  }
  if (path === '/') return page(res);
  const m = /^\/api\/traces\/([^/]+)$/.exec(path);
  if (m) {
    const id = traceIdParam(m[1] ?? '');
    return then(source.trace(id), (detail) => (detail ? json(res, 200, detail) : json(res, 404, { error: `trace ${id} is not stored` })));
  }
  return json(res, 404, { error: `no such endpoint ${path}` });
}

/** `f` of a value now, or of a promised one (the single node answers at once; PostgreSQL later). */
function then<T>(a: T | Promise<T>, f: (v: T) => void): Promise<void> | void {
  return a instanceof Promise ? a.then(f) : f(a);
}

function page(res: ServerResponse): void {
  let html: string;
  try {
    html = renderPage(undefined, 'cpath serve');
  } catch (e) {
    // A source checkout without `npm run build`: say so instead of "internal error".
    if (e instanceof PageAssetsMissing) return text(res, 500, `${e.message}\n`);
    throw e;
  }
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  text(res, 200, html, 'text/html; charset=utf-8');
}

function timeParam(q: URLSearchParams, name: string): bigint | undefined {
  const v = q.get(name);
  return v === null || v === '' ? undefined : parseTimeParam(name, v);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  text(res, status, `${JSON.stringify(body)}\n`, 'application/json');
}

function text(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  const buf = Buffer.from(body);
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', buf.length);
  res.setHeader('Cache-Control', 'no-store');
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}
