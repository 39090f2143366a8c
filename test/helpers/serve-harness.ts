// Shared by the `cpath serve` tests (test/server/): an in-process server on port 0 with a temp
// store, raw HTTP requests that survive the server cutting a connection short, OTLP protobuf
// request builders, and polling.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportTraceServiceRequest } from '../../collectors/otlp-schema.js';
import { startServe, type RunningServer, type ServeOptions } from '../../src/server/serve.js';

export interface TestServer {
  readonly server: RunningServer;
  /** `http://127.0.0.1:PORT` of the OTLP/HTTP receiver (undefined when off). */
  readonly otlp: string;
  /** `127.0.0.1:PORT` of the OTLP/gRPC receiver (undefined when off). */
  readonly grpc: string;
  /** `http://127.0.0.1:PORT` of the query API. */
  readonly api: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export type TestServeOptions = Partial<ServeOptions> & { grpcOn?: boolean };

/** startServe on 127.0.0.1 port 0 (every listener) with a fresh temp store; `stop()` closes and deletes it. */
export async function startTestServer(o: TestServeOptions = {}): Promise<TestServer> {
  const dir = o.storeDir ?? mkdtempSync(join(tmpdir(), 'cpath-serve-'));
  const { grpcOn, ...rest } = o;
  const server = await startServe({
    otlpHttp: { host: '127.0.0.1', port: 0 },
    ...(grpcOn ? { otlpGrpc: { host: '127.0.0.1', port: 0 } } : {}),
    api: { host: '127.0.0.1', port: 0 },
    maxBody: 4 * 1024 * 1024,
    cors: [],
    traceIdleMs: 50,
    storeDir: dir,
    fsync: 'batch',
    retention: {},
    skewAdjust: true,
    outliers: { kind: 'auto' },
    top: 20,
    maxQueuedSpans: 200_000,
    maxPendingTraces: 1_000_000,
    log: () => {},
    ...rest,
  });
  let stopped = false;
  return {
    server,
    otlp: `http://${server.addresses.otlpHttp ?? 'off'}`,
    grpc: server.addresses.otlpGrpc ?? 'off',
    api: `http://${server.addresses.api}`,
    dir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      if (o.storeDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * One HTTP request with node:http. Resolves once the reply is complete, even if the server
 * then resets the connection while the body is still being written (a refused upload).
 */
export function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer; agent?: false } = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (e) => {
        if (!settled) reject(e);
      });
    });
    req.on('error', (e) => {
      // EPIPE / ECONNRESET after the server answered and closed: the answer is what counts.
      if (!settled) setTimeout(() => !settled && reject(e), 200);
    });
    if (opts.body) req.end(opts.body);
    else req.end();
  });
}

export function postOtlp(base: string, body: Buffer, contentType: string, headers: Record<string, string> = {}): Promise<RawReply> {
  return rawRequest(`${base}/v1/traces`, { method: 'POST', headers: { 'Content-Type': contentType, ...headers }, body });
}

export async function getJson<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: IncomingHttpHeaders }> {
  const r = await rawRequest(url, { headers });
  return { status: r.status, headers: r.headers, body: JSON.parse(r.body.toString('utf8')) as T };
}

/** Polls `f` until it returns something other than undefined (or throws after `timeoutMs`). */
export async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const T0 = 1_764_151_200_000_000_000n;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

export interface ProtoSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** OTLP kind number: 1 internal, 2 server, 3 client. */
  readonly kind?: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes?: Record<string, string>;
}

/** An ExportTraceServiceRequest (protobuf bytes) with one resource per service. */
export function protoRequest(byService: Record<string, readonly ProtoSpan[]>): Buffer {
  const msg = ExportTraceServiceRequest.fromObject({
    resourceSpans: Object.entries(byService).map(([service, spans]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          scope: { name: 'cpath-test' },
          spans: spans.map((s) => ({
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            ...(s.parentSpanId ? { parentSpanId: hex(s.parentSpanId) } : {}),
            name: s.name,
            kind: s.kind ?? 2,
            startTimeUnixNano: s.startNs.toString(),
            endTimeUnixNano: s.endNs.toString(),
            attributes: Object.entries(s.attributes ?? {}).map(([key, v]) => ({ key, value: { stringValue: v } })),
          })),
        },
      ],
    })),
  });
  return Buffer.from(ExportTraceServiceRequest.encode(msg).finish());
}

/** The same request as OTLP/JSON text (hex ids, decimal-string times). */
export function jsonRequest(byService: Record<string, readonly ProtoSpan[]>): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceSpans: Object.entries(byService).map(([service, spans]) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'cpath-test' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind ?? 2,
              startTimeUnixNano: s.startNs.toString(),
              endTimeUnixNano: s.endNs.toString(),
              attributes: Object.entries(s.attributes ?? {}).map(([key, v]) => ({ key, value: { stringValue: v } })),
            })),
          },
        ],
      })),
    }),
  );
}

/** A deterministic 32-hex-digit trace id (never all zeros) for test number `n`, salted. */
export function traceIdFor(salt: number, n: number): string {
  return `${(salt >>> 0).toString(16).padStart(8, '0')}${'c0ffee00'}${(n + 1).toString(16).padStart(16, '0')}`;
}

/** A deterministic 16-hex-digit span id (never all zeros). */
export function spanIdFor(n: number): string {
  return (n + 1).toString(16).padStart(16, '0');
}
