// The OTLP/HTTP receiver: `POST /v1/traces`, protobuf or JSON, gzip/deflate, answered the way
// the exporters expect (docs/otlp.md): the reply in the request's encoding, 400 for
// bad data (never retried), 413 over the limit, 503 + Retry-After when busy, partial success
// for spans with invalid ids.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Diagnostics } from '../src/model/diagnostics.js';
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from '../src/model/limits.js';
import type { ResourceInterner, SpanInput } from '../src/model/span.js';
import { ByteBudget, joinParts, readBody } from './http-body.js';
import { decodeExportRequest, decodeExportRequestOffThread, encodeExportResponse, encodeStatus, type DecodedRequest, type OffThreadDecoders, type OtlpEncoding } from './otlp-request.js';

/** Where accepted spans go (the server's ingest queue). */
export interface OtlpSink {
  readonly resources: ResourceInterner;
  /** Bounds applied while decoding (attributes, value length, events, links per span); default DEFAULT_SPAN_LIMITS. */
  readonly limits?: SpanLimits;
  /** True when new requests should be refused before their body is read. */
  busy(): boolean;
  /**
   * 'busy' at once, or a promise settled when the spans are committed. Rejected: not stored,
   * with an `UnstorableRequest` when retrying can never help (answered 400), else retryable (503).
   */
  submit(spans: readonly SpanInput[]): Promise<void> | 'busy';
  /** Problems found in an accepted request, for the server's diagnostics. */
  noteDiagnostics(diag: Diagnostics): void;
  /** An acknowledged request, for --forward. */
  accepted?(body: Buffer, encoding: OtlpEncoding): void;
  /** Counts for /metrics. */
  count(event: ReceiverEvent): void;
}

/** The store refused a request's spans for what they hold, not for its own state: never retry. */
export class UnstorableRequest extends Error {}

export type ReceiverEvent =
  | { readonly kind: 'answered'; readonly transport: 'http' | 'grpc'; readonly code: string }
  | { readonly kind: 'accepted'; readonly transport: 'http' | 'grpc'; readonly spans: number }
  | { readonly kind: 'rejected'; readonly reason: string; readonly spans: number }
  | { readonly kind: 'store_failed'; readonly error: unknown };

export interface OtlpHttpOptions {
  readonly sink: OtlpSink;
  /** Limit on a request body after decompression, bytes. */
  readonly maxBody: number;
  /** Bytes of bodies held at once across requests. */
  readonly budget: ByteBudget;
  /** Origins allowed to post from a browser; `*` allows any. */
  readonly cors: readonly string[];
  /** False when the request lacks the bearer token. */
  readonly authorize: (req: IncomingMessage) => boolean;
  /** Seconds a throttled client should wait. */
  readonly retryAfterSeconds: number;
  /** Decodes big bodies off the event loop; without them every body is decoded in line. */
  readonly decoders?: OffThreadDecoders;
}

const PROTOBUF_TYPES = new Set(['application/x-protobuf', 'application/protobuf']);

export function createOtlpHttpHandler(opts: OtlpHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res, opts).catch((e: unknown) => {
      // Only a bug gets here; the client still gets an answer it may retry.
      process.stderr.write(`cpath serve: internal error on ${req.method ?? '?'} ${req.url ?? '?'}: ${e instanceof Error ? e.message : String(e)}\n`);
      if (!res.headersSent) reply(res, opts, 'json', 500, encodeStatus('json', 13, 'internal error'));
    });
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: OtlpHttpOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const origin = req.headers.origin;
  const allowedOrigin = origin !== undefined && corsAllowed(origin, opts.cors);
  if (allowedOrigin) {
    res.setHeader('Access-Control-Allow-Origin', opts.cors.includes('*') ? '*' : origin);
    res.setHeader('Vary', 'Origin');
  }
  if (path === '/v1/logs' || path === '/v1/metrics') {
    return void finish(req, res, opts, 'json', 404, encodeStatus('json', 12, `cpath takes traces only: ${path} is not served (send logs and metrics elsewhere)`));
  }
  if (path !== '/v1/traces') return void finish(req, res, opts, 'json', 404, encodeStatus('json', 5, `no such endpoint ${path}; OTLP traces go to POST /v1/traces`));
  if (req.method === 'OPTIONS') return preflight(req, res, opts);
  // A browser marks what it sends (Origin on every POST, Sec-Fetch-Site); exporters send
  // neither. A page must not post spans unless --cors names its origin: not a cross-site page,
  // and not a page whose name was rebound to this address ("same origin" to the browser).
  const site = req.headers['sec-fetch-site'];
  if (!allowedOrigin && (origin !== undefined || (site !== undefined && site !== 'none'))) {
    opts.sink.count({ kind: 'rejected', reason: 'origin_refused', spans: 0 });
    return void finish(req, res, opts, 'json', 403, encodeStatus('json', 7, `browser requests from origin ${origin ?? '(not sent)'} are refused; start cpath serve with --cors ${origin ?? 'ORIGIN'} to accept them`));
  }
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST, OPTIONS');
    return void finish(req, res, opts, 'json', 405, encodeStatus('json', 12, `method ${req.method ?? '?'} not allowed on /v1/traces; use POST`));
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const encoding: OtlpEncoding | undefined = PROTOBUF_TYPES.has(type) ? 'protobuf' : type === 'application/json' ? 'json' : undefined;
  if (!opts.authorize(req)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="cpath"');
    return void finish(req, res, opts, encoding ?? 'json', 401, encodeStatus(encoding ?? 'json', 16, 'missing or wrong bearer token (Authorization: Bearer <token>)'));
  }
  if (!encoding) {
    return void finish(req, res, opts, 'json', 415, encodeStatus('json', 3, `unsupported Content-Type "${type}"; use application/x-protobuf or application/json`));
  }
  if (opts.sink.busy()) return busy(req, res, opts, encoding, 'busy');

  const body = await readBody(req, opts.maxBody, opts.budget);
  if (!body.ok) {
    if (body.status === 503) return busy(req, res, opts, encoding, 'busy');
    opts.sink.count({ kind: 'rejected', reason: body.status === 413 ? 'too_large' : 'bad_request', spans: 0 });
    return void finish(req, res, opts, encoding, body.status, encodeStatus(encoding, body.status === 413 ? 8 : 3, body.message));
  }
  try {
    const source = `http ${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const { decoded, body: bytes } = opts.decoders
      ? await decodeExportRequestOffThread(body.body.parts, encoding, source, opts.sink.resources, opts.sink.limits ?? DEFAULT_SPAN_LIMITS, opts.decoders)
      : inLine(joinParts(body.body), encoding, source, opts.sink);
    if (!decoded.ok) {
      opts.sink.count({ kind: 'rejected', reason: 'bad_request', spans: 0 });
      return void finish(req, res, opts, encoding, 400, encodeStatus(encoding, 3, decoded.message));
    }
    const wait = opts.sink.submit(decoded.spans);
    if (wait === 'busy') return busy(req, res, opts, encoding, 'busy', decoded.spans.length);
    try {
      await wait;
    } catch (e) {
      if (e instanceof UnstorableRequest) {
        opts.sink.count({ kind: 'rejected', reason: 'unstorable', spans: decoded.spans.length });
        return void finish(req, res, opts, encoding, 400, encodeStatus(encoding, 3, e.message));
      }
      opts.sink.count({ kind: 'store_failed', error: e });
      return busy(req, res, opts, encoding, 'store_failed', decoded.spans.length);
    }
    opts.sink.noteDiagnostics(decoded.diag);
    opts.sink.count({ kind: 'accepted', transport: 'http', spans: decoded.spans.length });
    if (decoded.rejected > 0) opts.sink.count({ kind: 'rejected', reason: 'invalid_span', spans: decoded.rejected });
    opts.sink.accepted?.(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), encoding);
    finish(req, res, opts, encoding, 200, encodeExportResponse(encoding, decoded.rejected, decoded.rejectReason));
  } finally {
    body.release();
  }
}

function inLine(body: Buffer, encoding: OtlpEncoding, source: string, sink: OtlpSink): { decoded: DecodedRequest; body: Buffer } {
  return { decoded: decodeExportRequest(body, encoding, source, sink.resources, sink.limits), body };
}

function busy(req: IncomingMessage, res: ServerResponse, opts: OtlpHttpOptions, encoding: OtlpEncoding, reason: string, spans = 0): void {
  opts.sink.count({ kind: 'rejected', reason, spans });
  res.setHeader('Retry-After', String(opts.retryAfterSeconds));
  const message = reason === 'store_failed' ? 'the span store refused the write; retry later' : 'cpath is busy (ingest or analysis queue full); retry later';
  finish(req, res, opts, encoding, 503, encodeStatus(encoding, 14, message));
}

function preflight(req: IncomingMessage, res: ServerResponse, opts: OtlpHttpOptions): void {
  const origin = req.headers.origin;
  if (origin === undefined || !corsAllowed(origin, opts.cors)) {
    return void finish(req, res, opts, 'json', 403, encodeStatus('json', 7, `origin ${origin ?? '(none)'} is not allowed; start cpath serve with --cors ${origin ?? 'ORIGIN'}`));
  }
  res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Content-Type, Content-Encoding, Authorization');
  res.setHeader('Access-Control-Max-Age', '86400');
  res.statusCode = 204;
  res.end();
  opts.sink.count({ kind: 'answered', transport: 'http', code: '204' });
}

/** `*`, an exact origin, or a pattern such as `https://*.example.com` (`*` stands for host name characters). */
function corsAllowed(origin: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => a === '*' || a === origin || (a.includes('*') && originPattern(a).test(origin)));
}

function originPattern(p: string): RegExp {
  return new RegExp(`^${p.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[A-Za-z0-9.-]*')}$`, 'i');
}

function finish(req: IncomingMessage, res: ServerResponse, opts: OtlpHttpOptions, encoding: OtlpEncoding, status: number, body: Buffer): void {
  // A body we did not read is not drained: close the connection rather than read it all.
  if (!req.complete) res.setHeader('Connection', 'close');
  reply(res, opts, encoding, status, body);
}

function reply(res: ServerResponse, opts: OtlpHttpOptions, encoding: OtlpEncoding, status: number, body: Buffer): void {
  res.statusCode = status;
  res.setHeader('Content-Type', encoding === 'json' ? 'application/json' : 'application/x-protobuf');
  res.setHeader('Content-Length', body.length);
  res.end(body);
  opts.sink.count({ kind: 'answered', transport: 'http', code: String(status) });
}
