// The query API of `cpath serve` (JSON over HTTP, default 127.0.0.1:4320): the questions
// `cpath analyze` answers, over what the server has stored, while traffic flows.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { UsageError, durationOpt, positiveIntOpt, timeOpt, traceIdOpt } from '../cli/options.js';
import type { SpanStore } from '../store/span-store.js';
import { VERSION } from '../version.js';
import { TOKEN_COOKIE, type TokenCheck } from './auth.js';
import type { LiveAnalysis } from './live-analysis.js';
import type { Metrics } from './metrics.js';

export interface ApiContext {
  readonly store: SpanStore;
  readonly live: LiveAnalysis;
  readonly metrics: Metrics;
  readonly token: TokenCheck;
}

const MAX_LIMIT = 1000;

export function createApiHandler(ctx: ApiContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    try {
      route(req, res, ctx);
    } catch (e) {
      if (e instanceof UsageError) return json(res, 400, { error: e.message });
      process.stderr.write(`cpath serve: internal error on ${req.method ?? '?'} ${req.url ?? '?'}: ${e instanceof Error ? e.message : String(e)}\n`);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    }
  };
}

function route(req: IncomingMessage, res: ServerResponse, ctx: ApiContext): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const q = url.searchParams;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return json(res, 405, { error: `method ${req.method ?? '?'} not allowed; the API is read-only` });
  }
  // `/?token=T` trades the token for a cookie once, so a browser can use the API and the page.
  if (path === '/' && q.has('token')) {
    if (!ctx.token.matches(q.get('token') ?? '')) return json(res, 401, { error: 'wrong token' });
    res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${encodeURIComponent(q.get('token') ?? '')}; Path=/; HttpOnly; SameSite=Strict`);
    res.setHeader('Location', '/');
    res.statusCode = 302;
    return void res.end();
  }
  if (!ctx.token.request(req, true)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="cpath"');
    return json(res, 401, { error: 'missing or wrong token: send Authorization: Bearer <token>, or open /?token=<token> once in a browser' });
  }
  if (path === '/healthz') return text(res, 200, 'ok\n');
  if (path === '/metrics') return text(res, 200, ctx.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
  if (path === '/') {
    return json(res, 200, {
      cpath: VERSION,
      api: ['/api/endpoints?since=&until=', '/api/traces?service=&operation=&minDuration=&since=&until=&limit=&cursor=', '/api/traces/{traceId}', '/api/outliers?service=&operation=', '/api/diagnostics', '/metrics', '/healthz'],
    });
  }
  if (path === '/api/endpoints') {
    return json(res, 200, { endpoints: ctx.live.endpoints(timeParam(q, 'since'), timeParam(q, 'until')) });
  }
  if (path === '/api/outliers') {
    const service = q.get('service') ?? undefined;
    const operation = q.get('operation') ?? undefined;
    const eps = ctx.live.endpoints(timeParam(q, 'since'), timeParam(q, 'until')).filter((e) => (service === undefined || e.service === service) && (operation === undefined || e.operation === operation));
    const outliers = eps.flatMap((e) => e.outliers.map((o) => ({ service: e.service, operation: e.operation, thresholdNs: e.outlierThresholdNs, ...o })));
    outliers.sort((a, b) => b.durationNs - a.durationNs);
    return json(res, 200, { outliers });
  }
  if (path === '/api/diagnostics') return json(res, 200, { diagnostics: ctx.live.diag.entries() });
  if (path === '/api/traces') {
    const limit = q.has('limit') ? positiveIntOpt('limit', q.get('limit') ?? '') : 100;
    if (limit < 1 || limit > MAX_LIMIT) throw new UsageError(`limit: ${limit} is outside 1..${MAX_LIMIT}`);
    const minDuration = q.get('minDuration');
    const sinceNs = timeParam(q, 'since');
    const untilNs = timeParam(q, 'until');
    const cursor = q.get('cursor');
    const page = ctx.store.listTraces({
      ...(q.get('service') !== null ? { service: q.get('service') ?? '' } : {}),
      ...(q.get('operation') !== null ? { operation: q.get('operation') ?? '' } : {}),
      ...(minDuration !== null ? { minDurationNs: durationOpt('minDuration', minDuration) } : {}),
      ...(sinceNs !== undefined ? { sinceNs } : {}),
      ...(untilNs !== undefined ? { untilNs } : {}),
      ...(cursor !== null ? { cursor: decodeCursor(cursor) } : {}),
      limit,
    });
    return json(res, 200, { traces: page.traces, ...(page.next ? { next: encodeCursor(page.next) } : {}) });
  }
  const m = /^\/api\/traces\/([^/]+)$/.exec(path);
  if (m) {
    const id = traceIdOpt(decodeURIComponent(m[1] ?? ''));
    const detail = ctx.live.trace(id);
    if (!detail) return json(res, 404, { error: `trace ${id} is not stored` });
    return json(res, 200, detail);
  }
  return json(res, 404, { error: `no such endpoint ${path}` });
}

function timeParam(q: URLSearchParams, name: string): bigint | undefined {
  const v = q.get(name);
  return v === null || v === '' ? undefined : timeOpt(name, v);
}

function encodeCursor(c: { startNs: bigint; traceId: string }): string {
  return Buffer.from(`${c.startNs}.${c.traceId}`).toString('base64url');
}

function decodeCursor(s: string): { startNs: bigint; traceId: string } {
  const m = /^(\d{1,20})\.([0-9a-f]{32})$/.exec(Buffer.from(s, 'base64url').toString());
  if (!m) throw new UsageError(`cursor: "${s}" is not a cursor this API returned`);
  return { startNs: BigInt(m[1] ?? '0'), traceId: m[2] ?? '' };
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
