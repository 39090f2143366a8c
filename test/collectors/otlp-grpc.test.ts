// The OTLP/gRPC receiver (collectors/otlp-grpc.ts) against the real OpenTelemetry gRPC exporter
// (plain and gzip) and a raw grpc-js client for the error paths: malformed bytes, busy sink,
// store failure, over the size limit, a gzip bomb, missing token, partial success.
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENDED_BY_GRPC, bearerFromMetadata, startOtlpGrpcServer, type OtlpGrpcServer } from '../../collectors/otlp-grpc.js';
import { UnstorableRequest, type OtlpSink, type ReceiverEvent } from '../../collectors/otlp-http.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../../collectors/otlp-schema.js';
import type { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';

const EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const MiB = 1024 * 1024;

/** Keeps what the receiver hands over; `mode` makes it refuse in each of the ways a real one can. */
class FakeSink implements OtlpSink {
  readonly resources = new ResourceInterner();
  readonly spans: SpanInput[] = [];
  readonly events: ReceiverEvent[] = [];
  readonly diags: Diagnostics[] = [];
  readonly forwarded: Buffer[] = [];
  mode: 'ok' | 'busy' | 'submit-busy' | 'reject' | 'unstorable' = 'ok';

  busy(): boolean {
    return this.mode === 'busy';
  }
  submit(spans: readonly SpanInput[]): Promise<void> | 'busy' {
    if (this.mode === 'submit-busy') return 'busy';
    if (this.mode === 'reject') return Promise.reject(new Error('disk full'));
    if (this.mode === 'unstorable') return Promise.reject(new UnstorableRequest('the span store cannot hold this request\'s data'));
    // Committed a little later, as a real store would be.
    return new Promise((resolve) => setTimeout(() => (this.spans.push(...spans), resolve()), 5));
  }
  noteDiagnostics(diag: Diagnostics): void {
    this.diags.push(diag);
  }
  accepted(body: Buffer): void {
    this.forwarded.push(body);
  }
  count(event: ReceiverEvent): void {
    this.events.push(event);
  }
  answered(): string[] {
    return this.events.flatMap((e) => (e.kind === 'answered' ? [e.code] : []));
  }
}

let server: OtlpGrpcServer | undefined;
let client: grpc.Client | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await server?.close();
  server = undefined;
  vi.restoreAllMocks();
});

async function start(opts: { maxBody?: number; authorize?: (md: grpc.Metadata) => boolean } = {}): Promise<{ sink: FakeSink; url: string }> {
  const sink = new FakeSink();
  server = await startOtlpGrpcServer({ host: '127.0.0.1', port: 0, sink, maxBody: opts.maxBody ?? 4 * MiB, authorize: opts.authorize ?? (() => true) });
  expect(server.port).toBeGreaterThan(0);
  return { sink, url: `127.0.0.1:${server.port}` };
}

type Outcome = { ok: true; reply: Buffer } | { ok: false; code: grpc.status; details: string };

/** One Export call with raw bytes (pass-through serializers), as any gRPC client would send them. */
function call(address: string, body: Buffer, opts: { metadata?: grpc.Metadata; gzip?: boolean } = {}): Promise<Outcome> {
  client = new grpc.Client(address, grpc.credentials.createInsecure(), opts.gzip ? { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip } : {});
  const c = client;
  return new Promise((resolve) => {
    c.makeUnaryRequest(EXPORT, (b: Buffer) => b, (b: Buffer) => b, body, opts.metadata ?? new grpc.Metadata(), (err, reply) => {
      if (err) resolve({ ok: false, code: err.code, details: err.details });
      else resolve({ ok: true, reply: reply ?? Buffer.alloc(0) });
    });
  });
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const T0 = 1_764_151_200_000_000_000n;

/** A request with one valid span and, if asked, one whose span id is all zeros. */
function request(withBadSpan = false): Buffer {
  const span = (spanId: string, name: string): object => ({
    traceId: hex('5b8efff798038103d269b633813fc60c'),
    spanId: hex(spanId),
    name,
    kind: 2,
    startTimeUnixNano: T0.toString(),
    endTimeUnixNano: (T0 + 1_000_000n).toString(),
  });
  const msg = ExportTraceServiceRequest.fromObject({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeSpans: [{ spans: [span('eee19b7ec3c1b174', 'GET /checkout'), ...(withBadSpan ? [span('0000000000000000', 'zero id')] : [])] }],
      },
    ],
  });
  return Buffer.from(ExportTraceServiceRequest.encode(msg).finish());
}

describe('OTLP/gRPC receiver with the OpenTelemetry exporter', () => {
  async function exportTwoSpans(url: string, compression?: CompressionAlgorithm): Promise<{ traceId: string; parent: string; child: string }> {
    const exporter = new OTLPTraceExporter({ url: `http://${url}`, ...(compression ? { compression } : {}) });
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'checkout' }), spanProcessors: [new BatchSpanProcessor(exporter)] });
    const tracer = provider.getTracer('otlp-grpc-test');
    const parent = tracer.startSpan('GET /checkout');
    const child = tracer.startSpan('SELECT stock', {}, trace.setSpan(ROOT_CONTEXT, parent));
    child.end();
    parent.end();
    await provider.forceFlush();
    await provider.shutdown();
    return { traceId: parent.spanContext().traceId, parent: parent.spanContext().spanId, child: child.spanContext().spanId };
  }

  for (const compression of [undefined, CompressionAlgorithm.GZIP]) {
    it(`receives spans ${compression ? 'gzip-compressed' : 'uncompressed'} and answers only after they are committed`, async () => {
      // grpc-js inflates on the server with zlib.createGunzip: counting calls shows gzip was used.
      const gunzip = vi.spyOn(zlib, 'createGunzip');
      const { sink, url } = await start();
      const ids = await exportTwoSpans(url, compression);

      const got = sink.spans.map((s) => `${s.traceId} ${s.spanId} < ${s.parentSpanId ?? '-'} ${s.kind} "${s.name}" ${s.resource.service}`).sort();
      expect(got).toEqual(
        [`${ids.traceId} ${ids.parent} < - internal "GET /checkout" checkout`, `${ids.traceId} ${ids.child} < ${ids.parent} internal "SELECT stock" checkout`].sort(),
      );
      expect(sink.spans[0]?.source.file).toMatch(/^grpc 127\.0\.0\.1:\d+$/);
      expect(sink.answered()).toEqual(['OK']);
      expect(sink.events).toContainEqual({ kind: 'accepted', transport: 'grpc', spans: 2 });
      expect(sink.diags).toHaveLength(1);
      expect(sink.forwarded).toHaveLength(1);
      expect(gunzip).toHaveBeenCalledTimes(compression ? 1 : 0);
    });
  }
});

describe('OTLP/gRPC receiver status codes', () => {
  it('answers an empty request and a valid one with an empty ExportTraceServiceResponse', async () => {
    const { sink, url } = await start();
    expect(await call(url, Buffer.alloc(0))).toEqual({ ok: true, reply: Buffer.alloc(0) });
    expect(await call(url, request())).toEqual({ ok: true, reply: Buffer.alloc(0) });
    expect(sink.spans.map((s) => s.name)).toEqual(['GET /checkout']);
    expect(sink.answered()).toEqual(['OK', 'OK']);
  });

  it('reports partial success for a span with an all-zero span id', async () => {
    const { sink, url } = await start();
    const out = await call(url, request(true));
    if (!out.ok) throw new Error(`call failed: ${out.details}`);
    const reply = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(out.reply), { longs: Number }) as { partialSuccess?: { rejectedSpans?: number; errorMessage?: string } };
    expect(reply.partialSuccess?.rejectedSpans).toBe(1);
    expect(reply.partialSuccess?.errorMessage).toMatch(/span/i);
    expect(sink.spans.map((s) => s.name)).toEqual(['GET /checkout']);
    expect(sink.events).toContainEqual({ kind: 'rejected', reason: 'invalid_span', spans: 1 });
  });

  it('answers malformed protobuf with INVALID_ARGUMENT and a reason, not INTERNAL', async () => {
    const { sink, url } = await start();
    // Field 1, length-delimited, claiming 255 bytes that are not there.
    const out = await call(url, Buffer.from([0x0a, 0xff, 0x01, 0x02]));
    expect(out).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!out.ok && out.details).toMatch(/not a valid OTLP protobuf ExportTraceServiceRequest/);
    expect(sink.answered()).toEqual(['INVALID_ARGUMENT']);
    expect(sink.events).toContainEqual({ kind: 'rejected', reason: 'bad_request', spans: 0 });
  });

  it('answers UNAVAILABLE when the sink is busy, refuses a submit, or cannot store', async () => {
    const { sink, url } = await start();
    sink.mode = 'busy';
    expect(await call(url, request())).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    sink.mode = 'submit-busy';
    expect(await call(url, request())).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    sink.mode = 'reject';
    const failed = await call(url, request());
    expect(failed).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    expect(!failed.ok && failed.details).toMatch(/store refused/);

    expect(sink.spans).toEqual([]);
    expect(sink.forwarded).toEqual([]);
    expect(sink.answered()).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
    expect(sink.events.filter((e) => e.kind === 'rejected')).toEqual([
      { kind: 'rejected', reason: 'busy', spans: 0 },
      { kind: 'rejected', reason: 'busy', spans: 1 },
      { kind: 'rejected', reason: 'store_failed', spans: 1 },
    ]);
    expect(sink.events.some((e) => e.kind === 'store_failed')).toBe(true);
  });

  it('answers INVALID_ARGUMENT (never retried) when the store can never hold the data', async () => {
    const { sink, url } = await start();
    sink.mode = 'unstorable';
    const failed = await call(url, request());
    expect(failed).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(!failed.ok && failed.details).toMatch(/cannot hold/);
    expect(sink.events).toContainEqual({ kind: 'rejected', reason: 'unstorable', spans: 1 });
  });

  it('answers UNAUTHENTICATED without the bearer token, before decoding anything', async () => {
    const { sink, url } = await start({ authorize: (md) => bearerFromMetadata(md) === 's3cret' });
    expect(await call(url, request())).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    const wrong = new grpc.Metadata();
    wrong.set('authorization', 'Bearer nope');
    expect(await call(url, request(), { metadata: wrong })).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    const right = new grpc.Metadata();
    right.set('authorization', 'bearer s3cret');
    expect(await call(url, request(), { metadata: right })).toMatchObject({ ok: true });
    expect(sink.spans).toHaveLength(1);
    expect(sink.answered()).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'OK']);
  });

  it('answers RESOURCE_EXHAUSTED for a message over maxBody', async () => {
    const { sink, url } = await start({ maxBody: MiB });
    const out = await call(url, Buffer.alloc(2 * MiB, 0x41));
    expect(out).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
    // grpc-js refuses it itself: the receiver only learns that the call ended.
    await vi.waitFor(() => expect(sink.answered()).toEqual([ENDED_BY_GRPC]));
    expect(sink.spans).toEqual([]);
  });

  it('refuses a gzip bomb with RESOURCE_EXHAUSTED without inflating it', async () => {
    const { sink, url } = await start({ maxBody: MiB });
    // 64 MB of zeros: about 64 KB gzipped, well under the limit before inflating.
    const payload = Buffer.alloc(64 * MiB);
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2);
    const out = await call(url, payload, { gzip: true });
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());

    expect(out).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
    expect(!out.ok && out.details).toMatch(/decompresses to a size larger than 1048576/);
    expect(peak - before).toBeLessThan(100 * MiB);
    await vi.waitFor(() => expect(sink.answered()).toEqual([ENDED_BY_GRPC]));
    expect(sink.spans).toEqual([]);
  });

  it('binds port 0 to a free port and closes promptly with a client still connected', async () => {
    const { url } = await start();
    expect(await call(url, request())).toMatchObject({ ok: true });
    const t = Date.now();
    await server?.close();
    server = undefined;
    expect(Date.now() - t).toBeLessThan(1_000);
  });
});

describe('bearerFromMetadata', () => {
  it('takes the token of an authorization: Bearer entry', () => {
    const md = new grpc.Metadata();
    expect(bearerFromMetadata(md)).toBeUndefined();
    md.set('authorization', 'Basic abc');
    expect(bearerFromMetadata(md)).toBeUndefined();
    md.set('authorization', 'Bearer  tok ');
    expect(bearerFromMetadata(md)).toBe('tok');
  });
});
