// `cpath serve` end to end with the real OpenTelemetry JS exporters: OTLP/HTTP JSON, OTLP/HTTP
// protobuf (plain and gzip) and OTLP/gRPC (plain and gzip) send a known two-service trace to an
// in-process server; the query API must then show it analysed: listed with the right duration
// and span count, its critical path, its endpoint, its outlier entry, and /metrics counting the
// spans per transport. Also: one trace from two providers in two batches, and a late span that
// reopens an analysed trace.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, trace, type HrTime, type Span } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReportEndpoint, ReportOutlier, ReportTraceDetail } from '../../src/report/types.js';
import type { TraceListEntry } from '../../src/store/span-store.js';
import { getJson, startTestServer, until, type TestServer } from '../helpers/serve-harness.js';

const MS = 1_000_000;
/** Trace times start here (whole seconds since the epoch) plus an offset per trace. */
const BASE_S = 1_764_151_200;

let srv: TestServer;
/** A pass-through proxy in front of the OTLP/HTTP receiver that records what the exporters send. */
let proxy: Server;
let proxyUrl: string;
const seen: { path: string; contentType: string; contentEncoding: string; bytes: number }[] = [];

beforeAll(async () => {
  // Every trace is 100 ms: a 50 ms outlier rule lists each of them under /api/outliers.
  srv = await startTestServer({ grpcOn: true, traceIdleMs: 50, outliers: { kind: 'duration', ns: 50 * MS } });
  const target = new URL(srv.otlp);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ path: req.url ?? '', contentType: String(req.headers['content-type'] ?? ''), contentEncoding: String(req.headers['content-encoding'] ?? ''), bytes: body.length });
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      // The body is forwarded whole: no chunked framing, and a connection of its own.
      delete headers['transfer-encoding'];
      delete headers.connection;
      const out = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent: false }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => proxy.close(() => r()));
  await srv.stop();
});

/** Records every export's result so that a failed export fails the test (forceFlush does not). */
class Recording implements SpanExporter {
  readonly results: ExportResult[] = [];
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.inner.export(spans, (r) => {
      this.results.push(r);
      done(r);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

type Transport = 'http-json' | 'http-proto' | 'http-proto-gzip' | 'grpc' | 'grpc-gzip';

function exporter(t: Transport): SpanExporter {
  switch (t) {
    case 'http-json':
      return new JsonExporter({ url: `${proxyUrl}/v1/traces` });
    case 'http-proto':
      return new ProtoExporter({ url: `${proxyUrl}/v1/traces` });
    case 'http-proto-gzip':
      return new ProtoExporter({ url: `${proxyUrl}/v1/traces`, compression: CompressionAlgorithm.GZIP });
    case 'grpc':
      return new GrpcExporter({ url: `http://${srv.grpc}` });
    case 'grpc-gzip':
      return new GrpcExporter({ url: `http://${srv.grpc}`, compression: CompressionAlgorithm.GZIP });
  }
}

class Service {
  readonly exporter: Recording;
  readonly provider: BasicTracerProvider;
  constructor(name: string, t: Transport) {
    this.exporter = new Recording(exporter(t));
    this.provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': name, 'host.name': `${name}-host` }), spanProcessors: [new BatchSpanProcessor(this.exporter)] });
  }
  get tracer() {
    return this.provider.getTracer('cpath-exporters-test');
  }
  /** Flushes and checks that every export so far succeeded. */
  async flush(): Promise<void> {
    await this.provider.forceFlush();
    expect(this.exporter.results.length).toBeGreaterThan(0);
    for (const r of this.exporter.results) expect(r.code, r.error?.message).toBe(ExportResultCode.SUCCESS);
  }
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** `ms` after the trace's base second, exact to the nanosecond. */
const at = (traceSecond: number, ms: number): HrTime => [BASE_S + traceSecond, ms * MS];

interface Sent {
  traceId: string;
  root: Span;
  rootId: string;
  clientId: string;
  backendId: string;
}

/**
 * frontend SERVER `operation` [0, 100] ms
 *   frontend CLIENT "POST /pay" [10, 90] ms
 *     backend SERVER "POST /pay" [15, 85] ms (another resource, parent = the CLIENT span)
 * The backend batch is flushed separately when `split` (two batches from two services).
 */
async function sendTrace(frontend: Service, backend: Service, operation: string, second: number, split = false): Promise<Sent> {
  const root = frontend.tracer.startSpan(operation, { kind: SpanKind.SERVER, startTime: at(second, 0), attributes: { 'http.route': operation, 'http.response.status_code': 200 } });
  const client = frontend.tracer.startSpan('POST /pay', { kind: SpanKind.CLIENT, startTime: at(second, 10) }, trace.setSpan(ROOT_CONTEXT, root));
  const remote = trace.setSpanContext(ROOT_CONTEXT, { ...client.spanContext(), isRemote: true });
  const server = backend.tracer.startSpan('POST /pay', { kind: SpanKind.SERVER, startTime: at(second, 15), attributes: { 'payment.method': 'card' } }, remote);
  server.end(at(second, 85));
  client.end(at(second, 90));
  root.end(at(second, 100));
  if (split) {
    await frontend.flush();
    await backend.flush();
  } else {
    await Promise.all([frontend.flush(), backend.flush()]);
  }
  return { traceId: root.spanContext().traceId, root, rootId: root.spanContext().spanId, clientId: client.spanContext().spanId, backendId: server.spanContext().spanId };
}

/** The trace's row in `/api/traces?service=frontend&operation=...` once it is analysed with `spans` spans. */
function listed(operation: string, traceId: string, spans: number): Promise<TraceListEntry> {
  return until(`trace ${traceId} listed with ${spans} spans`, async () => {
    const r = await getJson<{ traces: TraceListEntry[] }>(`${srv.api}/api/traces?service=frontend&operation=${encodeURIComponent(operation)}`);
    expect(r.status).toBe(200);
    const t = r.body.traces.find((x) => x.traceId === traceId);
    return t && t.spans === spans ? t : undefined;
  });
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await fetch(`${srv.api}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

const sectionNames = (d: ReportTraceDetail): string[] => d.criticalPath.map((c) => `${c.service} ${c.operation} ${c.durationNs / MS}`);

async function checkAnalysed(sent: Sent, operation: string, second: number): Promise<void> {
  // Listed, with the exact root duration and all three spans.
  const row = await listed(operation, sent.traceId, 3);
  expect(row).toMatchObject({ service: 'frontend', operation, durationNs: 100 * MS, spans: 3, errors: 0 });
  expect(row.startUnixNano).toBe(`${BASE_S + second}000000000`);

  // The detail: critical path root -> client -> backend -> client -> root, summing to the root.
  const d = await getJson<ReportTraceDetail>(`${srv.api}/api/traces/${sent.traceId}`);
  expect(d.status).toBe(200);
  expect(d.body).toMatchObject({ traceId: sent.traceId, service: 'frontend', operation, durationNs: 100 * MS });
  expect(d.body.criticalPath.reduce((a, c) => a + c.durationNs, 0)).toBe(100 * MS);
  expect(sectionNames(d.body)).toEqual([`frontend ${operation} 10`, 'frontend POST /pay 5', 'backend POST /pay 70', 'frontend POST /pay 5', `frontend ${operation} 10`]);
  expect(d.body.criticalPath.map((c) => c.spanId)).toEqual([sent.rootId, sent.clientId, sent.backendId, sent.clientId, sent.rootId]);
  expect(BigInt(d.body.criticalPath[0]?.startUnixNano ?? '0')).toBe(BigInt(row.startUnixNano));

  // Every span, with its attributes and resource.
  const spans = [...d.body.spans].sort((a, b) => Number(BigInt(a.startUnixNano) - BigInt(b.startUnixNano)));
  expect(spans.map((s) => `${s.service} ${s.kind} ${s.operation} ${s.durationNs / MS} < ${s.parentSpanId ?? '-'}`)).toEqual([
    `frontend server ${operation} 100 < -`,
    `frontend client POST /pay 80 < ${sent.rootId}`,
    `backend server POST /pay 70 < ${sent.clientId}`,
  ]);
  expect(spans[0]?.attributes).toMatchObject({ 'http.route': operation, 'http.response.status_code': 200 });
  expect(spans[2]?.attributes).toMatchObject({ 'payment.method': 'card' });
  expect(spans[2]?.resource).toMatchObject({ 'service.name': 'backend', 'host.name': 'backend-host' });

  // The endpoint (one per transport: the operation names differ).
  const eps = await getJson<{ endpoints: ReportEndpoint[] }>(`${srv.api}/api/endpoints`);
  expect(eps.status).toBe(200);
  const ep = eps.body.endpoints.find((e) => e.service === 'frontend' && e.operation === operation);
  expect(ep).toBeDefined();
  expect(ep?.traces).toBe(1);
  expect(ep?.latencyNs.max).toBe(100 * MS);
  expect(ep?.criticalPath.map((c) => `${c.service} ${c.operation} ${c.selfNs.total / MS}`)).toEqual(['backend POST /pay 70', `frontend ${operation} 20`, 'frontend POST /pay 10']);

  // The outlier list (rule: 50 ms) has it, dominated by the backend.
  const out = await getJson<{ outliers: (ReportOutlier & { service: string; operation: string; thresholdNs: number })[] }>(
    `${srv.api}/api/outliers?service=frontend&operation=${encodeURIComponent(operation)}`,
  );
  expect(out.status).toBe(200);
  expect(out.body.outliers).toHaveLength(1);
  expect(out.body.outliers[0]).toMatchObject({ traceId: sent.traceId, service: 'frontend', operation, durationNs: 100 * MS, thresholdNs: 50 * MS, dominant: { service: 'backend', operation: 'POST /pay', selfNs: 70 * MS } });
}

const CASES: { t: Transport; transport: 'http' | 'grpc'; contentType?: string; gzip?: boolean }[] = [
  { t: 'http-json', transport: 'http', contentType: 'application/json' },
  { t: 'http-proto', transport: 'http', contentType: 'application/x-protobuf' },
  { t: 'http-proto-gzip', transport: 'http', contentType: 'application/x-protobuf', gzip: true },
  { t: 'grpc', transport: 'grpc' },
  { t: 'grpc-gzip', transport: 'grpc', gzip: true },
];

describe('cpath serve with the OpenTelemetry JS exporters', () => {
  CASES.forEach((c, i) => {
    it(`${c.t}: a two-service trace is stored, analysed and answered by the API`, async () => {
      const operation = `GET /checkout/${c.t}`;
      const received = await metric('cpath_spans_received_total', `{transport="${c.transport}"}`);
      const seenBefore = seen.length;
      // grpc-js inflates gzip messages with zlib.createGunzip.
      const gunzip = vi.spyOn(zlib, 'createGunzip');
      const frontend = new Service('frontend', c.t);
      const backend = new Service('backend', c.t);
      try {
        const sent = await sendTrace(frontend, backend, operation, i);
        if (c.contentType) {
          const posts = seen.slice(seenBefore);
          expect(posts.length).toBeGreaterThanOrEqual(2);
          for (const p of posts) expect(p).toMatchObject({ path: '/v1/traces', contentType: expect.stringContaining(c.contentType), contentEncoding: c.gzip ? 'gzip' : '' });
        } else {
          expect(seen.length).toBe(seenBefore);
          if (c.gzip) expect(gunzip).toHaveBeenCalled();
          else expect(gunzip).not.toHaveBeenCalled();
        }
        await checkAnalysed(sent, operation, i);
        expect(await metric('cpath_spans_received_total', `{transport="${c.transport}"}`)).toBe(received + 3);
      } finally {
        gunzip.mockRestore();
        await Promise.all([frontend.shutdown(), backend.shutdown()]);
      }
    });
  });

  it('assembles one trace from two providers sent in two batches, and re-analyses it when a late span arrives', async () => {
    const operation = 'GET /checkout/split';
    const frontend = new Service('frontend', 'http-proto');
    const backend = new Service('backend', 'grpc');
    try {
      const analysedBefore = await metric('cpath_traces_analysed_total', '');
      const sent = await sendTrace(frontend, backend, operation, 10, true);
      // Both batches went out separately, over different transports.
      expect(frontend.exporter.results).toHaveLength(1);
      expect(backend.exporter.results).toHaveLength(1);
      await checkAnalysed(sent, operation, 10);
      const list = await getJson<{ traces: TraceListEntry[] }>(`${srv.api}/api/traces?service=frontend&limit=1000`);
      expect(list.body.traces.filter((t) => t.traceId === sent.traceId)).toHaveLength(1);
      expect((await getJson<{ traces: TraceListEntry[] }>(`${srv.api}/api/traces?service=backend`)).body.traces.map((t) => t.traceId)).not.toContain(sent.traceId);
      const analysedOnce = await metric('cpath_traces_analysed_total', '');
      expect(analysedOnce).toBeGreaterThan(analysedBefore);

      // A late span (an INTERNAL child of the root) reopens the analysed trace.
      const late = frontend.tracer.startSpan('render', { kind: SpanKind.INTERNAL, startTime: at(10, 92), attributes: { late: true } }, trace.setSpan(ROOT_CONTEXT, sent.root));
      late.end(at(10, 98));
      await frontend.flush();
      const row = await listed(operation, sent.traceId, 4);
      expect(row.durationNs).toBe(100 * MS);
      expect(await metric('cpath_traces_analysed_total', '')).toBeGreaterThan(analysedOnce);
      const d = await getJson<ReportTraceDetail>(`${srv.api}/api/traces/${sent.traceId}`);
      expect(d.body.spans).toHaveLength(4);
      expect(d.body.spans.find((s) => s.operation === 'render')?.attributes).toEqual({ late: true });
      // The late span is on the path now: root 90..92, render 92..98, root 98..100.
      expect(sectionNames(d.body)).toEqual([
        `frontend ${operation} 10`,
        'frontend POST /pay 5',
        'backend POST /pay 70',
        'frontend POST /pay 5',
        `frontend ${operation} 2`,
        'frontend render 6',
        `frontend ${operation} 2`,
      ]);
      // Still one endpoint entry for it (re-analysis replaced, not added).
      const ep = (await getJson<{ endpoints: ReportEndpoint[] }>(`${srv.api}/api/endpoints`)).body.endpoints.find((e) => e.operation === operation);
      expect(ep?.traces).toBe(1);
    } finally {
      await Promise.all([frontend.shutdown(), backend.shutdown()]);
    }
  });
});
