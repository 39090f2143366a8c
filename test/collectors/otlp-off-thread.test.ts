// Big request bodies are decoded on worker threads (collectors/protobuf-decode-worker.ts,
// json-parse-worker.ts) so one hostile 16 MB request does not hold the event loop (issue 15).
// The worker's result crosses threads as a structured clone (ids as Uint8Array, int64 as
// Long-shaped objects, the skipped counts as keys): the spans, diagnostics and replies must be
// those of the in-line decoder, for good, truncated and broken bodies. Checked by equality of
// the two paths, and by which path the receivers took (no timings: they flake here).
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteBudget } from '../../collectors/http-body.js';
import { startOtlpGrpcServer, type OtlpGrpcServer } from '../../collectors/otlp-grpc.js';
import { createOtlpHttpHandler, type OtlpSink } from '../../collectors/otlp-http.js';
import { decodeExportRequest, decodeExportRequestOffThread, OffThreadDecoders, type DecodedRequest, type OtlpEncoding } from '../../collectors/otlp-request.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../../collectors/otlp-schema.js';
import { OFF_THREAD_PROTOBUF_BYTES } from '../../collectors/protobuf-decode-worker.js';
import { DEFAULT_SPAN_LIMITS, MAX_ATTRIBUTE_DEPTH } from '../../src/model/limits.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';

const MiB = 1024 * 1024;
const T0 = 1_764_151_200_000_000_000n;
const hex = (n: number, bytes: number): string => n.toString(16).padStart(bytes * 2, 'a');

/** A span as protobufjs's fromObject takes it (ids as hex, decoded by `bytes` below). */
function span(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { traceId: Buffer.from(hex(n, 16), 'hex'), spanId: Buffer.from(hex(n, 8), 'hex'), name: `span ${n}`, kind: 2, startTimeUnixNano: (T0 + BigInt(n)).toString(), endTimeUnixNano: (T0 + BigInt(n) + 1000n).toString(), ...extra };
}

const attrs = (n: number): object[] => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: { intValue: i } }));

function proto(spans: Record<string, unknown>[], resourceAttributes: object[] = [{ key: 'service.name', value: { stringValue: 'big' } }]): Buffer {
  const msg = ExportTraceServiceRequest.fromObject({ resourceSpans: [{ resource: { attributes: resourceAttributes }, scopeSpans: [{ scope: { name: 'test' }, spans }] }] });
  return Buffer.from(ExportTraceServiceRequest.encode(msg).finish());
}

/**
 * Past every limit, with each kind of value: 200,000 attributes (over 1 MiB on its own), events
 * and links past 128, a string and a bytes value past 16 KiB, int64 values past 2^53 and
 * negative, a parent id, a status, a span with a zero id (rejected: partial success) and one
 * with an empty trace id.
 */
function bigRequest(): Buffer {
  const big = 'x'.repeat(DEFAULT_SPAN_LIMITS.valueLength + 10);
  const values = [
    { key: 'str', value: { stringValue: big } },
    { key: 'bytes', value: { bytesValue: Buffer.alloc(DEFAULT_SPAN_LIMITS.valueLength + 10, 7) } },
    { key: 'small bytes', value: { bytesValue: Buffer.from([1, 2, 3]) } },
    { key: 'int64', value: { intValue: '9007199254740993' } },
    { key: 'negative', value: { intValue: '-9223372036854775808' } },
    { key: 'double', value: { doubleValue: 0.5 } },
    { key: 'bool', value: { boolValue: false } },
    { key: 'empty', value: {} },
    { key: 'array', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }, { kvlistValue: { values: [{ key: 'x', value: { boolValue: true } }] } }] } } },
  ];
  const events = Array.from({ length: 200 }, (_, i) => ({ timeUnixNano: (T0 + BigInt(i)).toString(), name: `e${i}`, attributes: attrs(3) }));
  const links = Array.from({ length: 150 }, (_, i) => ({ traceId: Buffer.from(hex(i + 1, 16), 'hex'), spanId: Buffer.from(hex(i + 1, 8), 'hex') }));
  return proto(
    [
      span(1, { attributes: [...values, ...attrs(200_000)], events, links, parentSpanId: Buffer.from(hex(9, 8), 'hex'), status: { code: 2, message: 'failed' }, flags: 1 }),
      span(2, { spanId: Buffer.alloc(8) }),
      span(3, { traceId: Buffer.alloc(0) }),
      span(4, { status: { code: 1 } }),
    ],
    [{ key: 'service.name', value: { stringValue: 'big' } }, ...attrs(300)],
  );
}

/** What a decode gives, comparable across paths (the Diagnostics object by its entries). */
function comparable(d: DecodedRequest): unknown {
  if (!d.ok) return d;
  const { diag, spans, ...rest } = d;
  return { ...rest, diag: diag.entries(), spans: spans.map((s: SpanInput) => ({ ...s })) };
}

let decoders: OffThreadDecoders;
beforeAll(() => {
  decoders = new OffThreadDecoders();
});
afterAll(async () => {
  await decoders.close();
});

/** Both paths on copies of `body` (one buffer, or parts as read from a socket); the off-thread one must have gone to the worker. */
async function bothPaths(body: Uint8Array | readonly Uint8Array[], encoding: OtlpEncoding): Promise<{ inLine: DecodedRequest; offThread: DecodedRequest; back: Uint8Array }> {
  const parts = Array.isArray(body) ? body : [body];
  const expected = Buffer.concat(parts);
  const inLine = decodeExportRequest(Buffer.from(expected), encoding, 'http test', new ResourceInterner(), DEFAULT_SPAN_LIMITS);
  const which = encoding === 'json' ? 'json' : 'protobuf';
  const sent = decoders[which].sent;
  const { decoded: offThread, body: back } = await decodeExportRequestOffThread(parts, encoding, 'http test', new ResourceInterner(), DEFAULT_SPAN_LIMITS, decoders);
  expect(decoders[which].sent, 'decoded on the worker').toBe(sent + 1);
  // The bytes to forward are the body as it came, whatever travelled between threads.
  expect(Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.byteLength), expected)).toBe(0);
  return { inLine, offThread, back };
}

/** `b` cut into chunks of `size` bytes, each owning its buffer, as Node's HTTP parser hands them over. */
function chunks(b: Uint8Array, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(Buffer.from(b.subarray(i, i + size)));
  return out;
}

describe('a big protobuf body decoded on the worker gives what the in-line decoder gives', () => {
  it('past every limit: the same spans (ids, int64 times and values, bytes), diagnostics and partial success', async () => {
    const body = bigRequest();
    expect(body.length).toBeGreaterThan(OFF_THREAD_PROTOBUF_BYTES);
    const { inLine, offThread } = await bothPaths(body, 'protobuf');
    expect(comparable(offThread)).toEqual(comparable(inLine));
    // And what the in-line decoder gives is what the limits promise (so the equality means something).
    if (!inLine.ok) throw new Error(inLine.message);
    expect(inLine.spans.map((s) => s.name)).toEqual(['span 1', 'span 4']);
    expect(inLine.rejected).toBe(2);
    const first = inLine.spans[0];
    // The first 128 attributes are read; the empty value among them is skipped.
    expect(Object.keys(first?.attributes ?? {})).toHaveLength(DEFAULT_SPAN_LIMITS.attributes - 1);
    expect(first?.attributes['int64']).toBe(9007199254740993n);
    expect(first?.attributes['negative']).toBe(-9223372036854775808n);
    expect(first?.attributes['small bytes']).toBe('AQID');
    expect(first?.startNs).toBe(T0 + 1n);
    expect(first?.parentSpanId).toBe(hex(9, 8));
    expect(first?.links).toHaveLength(DEFAULT_SPAN_LIMITS.links);
    const codes = inLine.diag.entries().map((e) => e.code);
    for (const c of ['attributes_truncated', 'attribute_value_truncated', 'events_truncated', 'links_truncated', 'id_invalid'] as const) expect(codes).toContain(c);
  });

  it('a body cut short: the same 400 message', async () => {
    const body = bigRequest();
    const { inLine, offThread } = await bothPaths(body.subarray(0, body.length - 1000), 'protobuf');
    expect(inLine.ok).toBe(false);
    expect(offThread).toEqual(inLine);
  });

  it('corrupt bodies (field number 0, garbage, a bad wire type): the same 400 messages', async () => {
    const body = bigRequest();
    const zero = Buffer.from(body);
    zero[0] = 0;
    const garbage = Buffer.alloc(2 * MiB, 0xff);
    const badWireType = Buffer.concat([body, Buffer.from([0x17])]); // then field 2 with wire type 7
    for (const bad of [zero, garbage, badWireType]) {
      const { inLine, offThread } = await bothPaths(bad, 'protobuf');
      expect(inLine.ok).toBe(false);
      expect(offThread).toEqual(inLine);
    }
  });

  it('an attribute nested past the bound: the same 400 naming it', async () => {
    let v: object = { stringValue: 'x' };
    for (let i = 0; i < MAX_ATTRIBUTE_DEPTH + 10; i++) v = { arrayValue: { values: [v] } };
    const body = proto([span(1, { attributes: [{ key: 'deep', value: v }, ...attrs(100_000)] })]);
    expect(body.length).toBeGreaterThan(OFF_THREAD_PROTOBUF_BYTES);
    const { inLine, offThread } = await bothPaths(body, 'protobuf');
    expect(inLine.ok).toBe(false);
    expect(offThread).toEqual(inLine);
  });

  it('a body that views part of a larger buffer (a gRPC message) is copied out, not cloned whole, and decodes the same', async () => {
    const body = bigRequest();
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body, Buffer.alloc(100)]);
    const view = framed.subarray(5, 5 + body.length);
    const { inLine, offThread } = await bothPaths(view, 'protobuf');
    expect(comparable(offThread)).toEqual(comparable(inLine));
    expect(framed.length, 'the larger buffer stays whole').toBe(body.length + 105);
  });

  it('a body in 64 KiB chunks (and one that views part of a larger buffer) is joined on the worker and decodes the same', async () => {
    const body = bigRequest();
    const parts: Uint8Array[] = chunks(body.subarray(100), 64 * 1024);
    const framed = Buffer.concat([Buffer.alloc(7), body.subarray(0, 100), Buffer.alloc(9)]);
    parts.unshift(framed.subarray(7, 107));
    const { inLine, offThread } = await bothPaths(parts, 'protobuf');
    expect(comparable(offThread)).toEqual(comparable(inLine));
    // Moved, not copied: the chunks are empty here now; the view's larger buffer is left whole.
    expect(parts.slice(1).every((p) => p.byteLength === 0)).toBe(true);
    expect(framed.length).toBe(116);
  });

  it('a body under the bound stays on the event loop', async () => {
    const sent = decoders.protobuf.sent;
    const { decoded } = await decodeExportRequestOffThread([proto([span(1)])], 'protobuf', 'http test', new ResourceInterner(), DEFAULT_SPAN_LIMITS, decoders);
    expect(decoded.ok).toBe(true);
    expect(decoders.protobuf.sent).toBe(sent);
  });
});

describe('a big JSON body parsed on the worker gives what the in-line parser gives', () => {
  const json = (spans: object[]): Buffer => Buffer.from(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'big' } }] }, scopeSpans: [{ spans }] }] }));
  const jsonSpan = (n: number, extra: object = {}): object => ({ traceId: hex(n, 16), spanId: hex(n, 8), name: `span ${n}`, kind: 2, startTimeUnixNano: String(T0 + BigInt(n)), endTimeUnixNano: String(T0 + BigInt(n) + 1000n), ...extra });

  it('past the limits, with bare-number int64 times and values', async () => {
    const body = json([jsonSpan(1, { attributes: attrs(100_000), events: Array.from({ length: 130 }, (_, i) => ({ name: `e${i}`, timeUnixNano: String(T0) })) }), jsonSpan(2, { spanId: '0000000000000000' })]);
    const withBareNumbers = Buffer.from(body.toString().replace(`"startTimeUnixNano":"${T0 + 1n}"`, `"startTimeUnixNano":${T0 + 1n}`).replace('{"key":"k0","value":{"intValue":0}}', '{"key":"k0","value":{"intValue":9007199254740993}}'));
    expect(withBareNumbers.length).toBeGreaterThan(OFF_THREAD_PROTOBUF_BYTES);
    const { inLine, offThread } = await bothPaths(chunks(withBareNumbers, 64 * 1024), 'json');
    expect(comparable(offThread)).toEqual(comparable(inLine));
    if (!inLine.ok) throw new Error(inLine.message);
    expect(inLine.spans[0]?.startNs).toBe(T0 + 1n);
    expect(inLine.spans[0]?.attributes['k0']).toBe(9007199254740993n);
    expect(inLine.rejected).toBe(1);
  });

  it('text cut short and a top-level array: the same 400 messages', async () => {
    const body = json([jsonSpan(1, { attributes: attrs(100_000) })]);
    for (const bad of [body.subarray(0, body.length - 10), Buffer.from(`[${body.toString()}]`)]) {
      const { inLine, offThread } = await bothPaths(bad, 'json');
      expect(inLine.ok).toBe(false);
      expect(offThread).toEqual(inLine);
    }
  });
});

/** Keeps what a receiver hands over. */
class Sink implements OtlpSink {
  readonly resources = new ResourceInterner();
  readonly limits = DEFAULT_SPAN_LIMITS;
  readonly spans: SpanInput[] = [];
  readonly forwarded: Buffer[] = [];
  busy(): boolean {
    return false;
  }
  submit(spans: readonly SpanInput[]): Promise<void> {
    this.spans.push(...spans);
    return Promise.resolve();
  }
  noteDiagnostics(): void {}
  accepted(body: Buffer): void {
    this.forwarded.push(body);
  }
  count(): void {}
}

describe('the receivers decode big protobuf bodies on the worker', () => {
  it('OTLP/HTTP: the same partial success, the spans stored, the body forwarded as sent', async () => {
    const sink = new Sink();
    const server: Server = createServer(createOtlpHttpHandler({ sink, maxBody: 64 * MiB, budget: new ByteBudget(256 * MiB), cors: [], authorize: () => true, retryAfterSeconds: 1, decoders }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const body = bigRequest();
      const sent = decoders.protobuf.sent;
      const reply = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const req = request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': String(body.length) } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        });
        req.on('error', reject);
        req.end(body);
      });
      expect(reply.status).toBe(200);
      expect(decoders.protobuf.sent).toBe(sent + 1);
      const inLine = decodeExportRequest(body, 'protobuf', 'x', new ResourceInterner(), DEFAULT_SPAN_LIMITS);
      if (!inLine.ok) throw new Error(inLine.message);
      const partial = (ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(reply.body), { longs: Number }) as { partialSuccess?: { rejectedSpans?: number; errorMessage?: string } }).partialSuccess;
      // The message names the request's source (the client's address there, `x` here).
      expect({ ...partial, errorMessage: partial?.errorMessage?.replace(/^http [^@]*@/, 'x@') }).toEqual({ rejectedSpans: inLine.rejected, errorMessage: inLine.rejectReason });
      expect(sink.spans.map((s) => s.name)).toEqual(['span 1', 'span 4']);
      expect(sink.forwarded.map((b) => Buffer.compare(b, body))).toEqual([0]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('OTLP/gRPC: the same spans and partial success', async () => {
    const sink = new Sink();
    const server: OtlpGrpcServer = await startOtlpGrpcServer({ host: '127.0.0.1', port: 0, sink, maxBody: 64 * MiB, authorize: () => true, decoders });
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * MiB });
    try {
      const body = bigRequest();
      const sent = decoders.protobuf.sent;
      const reply = await new Promise<Buffer>((resolve, reject) => {
        client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, body, new grpc.Metadata(), (err, r) => (err ? reject(err) : resolve(r ?? Buffer.alloc(0))));
      });
      expect(decoders.protobuf.sent).toBe(sent + 1);
      const partial = (ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(reply), { longs: Number }) as { partialSuccess?: { rejectedSpans?: number } }).partialSuccess;
      expect(partial?.rejectedSpans).toBe(2);
      expect(sink.spans.map((s) => s.name)).toEqual(['span 1', 'span 4']);
      expect(sink.forwarded.map((b) => Buffer.compare(b, body))).toEqual([0]);
    } finally {
      client.close();
      await server.close();
    }
  });
});
