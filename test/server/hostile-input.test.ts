// `cpath serve` against hostile and broken clients (issue 15): one client's bad data must never
// refuse, stall or hide another's. Each block drives the real server over HTTP.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RpcStatus } from '../../collectors/otlp-schema.js';
import { UnstorableRequest } from '../../collectors/otlp-http.js';
import type { SpanInput } from '../../src/model/span.js';
import { Ingest } from '../../src/server/ingest.js';
import type { StoredBatch } from '../../src/store/span-store.js';
import { cpath } from '../helpers/cli.js';
import { startServeCli } from '../helpers/serve-cli.js';
import { T0, getJson, postOtlp, rawRequest, until, protoRequest, spanIdFor, startTestServer, traceIdFor, type ProtoSpan, type RawReply, type TestServer } from '../helpers/serve-harness.js';

const PROTO = 'application/x-protobuf';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ maxBody: 16 * 1024 * 1024, traceIdleMs: 50 });
});
afterAll(async () => {
  await srv.stop();
});

let counter = 0;
function span(name: string, over: Partial<ProtoSpan> = {}): ProtoSpan {
  const n = counter++;
  return { traceId: traceIdFor(0x15, n), spanId: spanIdFor(n), name, startNs: T0 + BigInt(n) * 1_000n, endNs: T0 + BigInt(n) * 1_000n + 5_000n, ...over };
}

const stored = (traceId: string): string[] => srv.server.store.spansOfTrace(traceId, srv.server.live.resources).map((x) => x.name);
const partial = (r: RawReply): { rejectedSpans?: number; errorMessage?: string } | undefined =>
  (ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(r.body), { longs: Number }) as { partialSuccess?: { rejectedSpans?: number; errorMessage?: string } }).partialSuccess;
const rpcStatus = (r: RawReply): { code?: number; message?: string } => RpcStatus.toObject(RpcStatus.decode(r.body)) as { code?: number; message?: string };

describe('finding 1: one bad span never refuses everyone', () => {
  const realAppend = (): ((b: readonly StoredBatch[]) => Set<string>) => srv.server.store.append.bind(srv.server.store);
  let restore: (() => void) | undefined;
  afterEach(() => {
    restore?.();
    restore = undefined;
  });

  it('rejects times past int64 at decode (partial success) while 200 honest requests sent at the same time are all stored', async () => {
    const honest = Array.from({ length: 200 }, () => span('honest'));
    // 2^63 and 2^64-1 are legal fixed64 values that a signed 64-bit column cannot hold.
    const poison = Array.from({ length: 20 }, (_, i) => span('poison', { startNs: 1n << 63n, endNs: i % 2 === 0 ? (1n << 63n) + 1n : (1n << 64n) - 1n }));
    const sends = [...honest.map((s) => ({ s, poison: false })), ...poison.map((s) => ({ s, poison: true }))].sort((a, b) => (a.s.spanId < b.s.spanId ? -1 : 1));
    const replies = await Promise.all(sends.map(async ({ s, poison: p }) => ({ p, s, r: await postOtlp(srv.otlp, protoRequest({ hostile: [s] }), PROTO) })));
    for (const { p, s, r } of replies) {
      expect(r.status).toBe(200);
      if (p) {
        expect(partial(r)?.rejectedSpans).toBe(1);
        expect(partial(r)?.errorMessage).toMatch(/past 2\^63-1 ns/);
        expect(stored(s.traceId)).toEqual([]);
      } else {
        expect(partial(r)).toBeUndefined();
        expect(stored(s.traceId)).toEqual(['honest']);
      }
    }
  });

  /** A span as the receivers hand it on, built without the decoder (which now refuses such times). */
  function input(name: string, startNs = T0): SpanInput {
    const n = counter++;
    return { traceId: traceIdFor(0x16, n), spanId: spanIdFor(n), name, kind: 'server', startNs, endNs: startNs === T0 ? T0 + 1000n : startNs, status: 'unset', attributes: {}, resource: srv.server.live.resources.intern({ 'service.name': 'x' }), source: { file: 'test' } };
  }

  /**
   * One poison request and 30 honest ones submitted in one turn of the event loop, so in one
   * group commit, to the running server's own store and analysis.
   */
  async function submitGroup(poison: SpanInput): Promise<{ poison: PromiseSettledResult<void>; honest: { s: SpanInput; r: PromiseSettledResult<void> }[]; groups: number[] }> {
    const groups: number[] = [];
    const append = realAppend();
    srv.server.store.append = (batches) => {
      groups.push(batches.length);
      return append(batches);
    };
    restore = () => {
      srv.server.store.append = append;
    };
    const ingest = new Ingest(srv.server.store, srv.server.live, { maxQueuedSpans: 1000 });
    const honest = Array.from({ length: 30 }, () => input('honest'));
    const waits = [poison, ...honest].map((s) => ingest.submit([s]));
    const [p, ...rest] = await Promise.allSettled(waits.map((w) => (w === 'busy' ? Promise.reject(new Error('busy')) : w)));
    if (!p) throw new Error('no result');
    return { poison: p, honest: honest.map((s, i) => ({ s, r: rest[i] as PromiseSettledResult<void> })), groups };
  }

  it('when a group write fails for one request\'s data (a real bind error), only that request fails, as unstorable (400, never retried)', async () => {
    const { poison, honest, groups } = await submitGroup(input('poison', 1n << 63n));
    expect(groups[0]).toBe(31);
    expect(poison.status).toBe('rejected');
    expect(poison.status === 'rejected' ? poison.reason : undefined).toBeInstanceOf(UnstorableRequest);
    for (const { s, r } of honest) {
      expect(r.status).toBe('fulfilled');
      expect(stored(s.traceId)).toEqual(['honest']);
    }
  });

  it('a transient store error (I/O) stays retryable, for the failing request only', async () => {
    const poison = input('poison');
    const append = realAppend();
    srv.server.store.append = (batches) => {
      if (batches.some((b) => b.spans.includes(poison))) throw new Database.SqliteError('disk I/O error', 'SQLITE_IOERR');
      return append(batches);
    };
    const result = await submitGroup(poison);
    srv.server.store.append = append;
    expect(result.poison.status === 'rejected' ? result.poison.reason : undefined).toBeInstanceOf(Database.SqliteError);
    for (const { r } of result.honest) expect(r.status).toBe('fulfilled');
  });

  it('the receiver answers an unstorable request 400 with a google.rpc.Status (code 3), the others 200', async () => {
    const append = realAppend();
    srv.server.store.append = (batches) => {
      if (batches.some((b) => b.spans.some((s) => s.name === 'poison'))) throw new RangeError('The bound bigint is too big');
      return append(batches);
    };
    restore = () => {
      srv.server.store.append = append;
    };
    const [bad, good] = await Promise.all([postOtlp(srv.otlp, protoRequest({ hostile: [span('poison')] }), PROTO), postOtlp(srv.otlp, protoRequest({ hostile: [span('honest')] }), PROTO)]);
    expect(bad?.status).toBe(400);
    if (bad) expect(rpcStatus(bad)).toMatchObject({ code: 3, message: expect.stringMatching(/cannot hold this request's data.*bound bigint/) as unknown });
    expect(good?.status).toBe(200);
  });
});

/** An AnyValue nesting `depth` arrayValues (or kvlistValues) around a string, as OTLP/JSON text. */
function deepJsonValue(depth: number, kind: 'array' | 'kvlist'): string {
  const open = kind === 'array' ? '{"arrayValue":{"values":[' : '{"kvlistValue":{"values":[{"key":"k","value":';
  const close = kind === 'array' ? ']}}' : '}]}}';
  return `${open.repeat(depth)}{"stringValue":"x"}${close.repeat(depth)}`;
}

function deepJsonRequest(traceId: string, depth: number, kind: 'array' | 'kvlist'): Buffer {
  const spanJson = `{"traceId":"${traceId}","spanId":"00000000000000a1","name":"deep","startTimeUnixNano":"${T0}","endTimeUnixNano":"${T0 + 1000n}","attributes":[{"key":"deep","value":${deepJsonValue(depth, kind)}}]}`;
  return Buffer.from(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"deep"}}]},"scopeSpans":[{"spans":[${spanJson}]}]}]}`);
}

/** The same as protobuf bytes, built by hand (protobufjs's own encoder recurses). */
function deepProtoRequest(traceId: string, depth: number): Buffer {
  const varint = (n: number): Buffer => {
    const b: number[] = [];
    while (n > 127) {
      b.push((n & 127) | 128);
      n >>>= 7;
    }
    b.push(n);
    return Buffer.from(b);
  };
  const ld = (field: number, buf: Buffer): Buffer => Buffer.concat([varint((field << 3) | 2), varint(buf.length), buf]);
  const fixed64 = (field: number, v: bigint): Buffer => {
    const b = Buffer.alloc(9);
    b[0] = (field << 3) | 1;
    b.writeBigUInt64LE(v, 1);
    return b;
  };
  // Prefixes only (an AnyValue holding an ArrayValue holding the next level), joined once at the end.
  const inner = ld(1, Buffer.from('x'));
  const prefixes: Buffer[] = [];
  let len = inner.length;
  for (let i = 0; i < depth; i++) {
    const arrayPrefix = Buffer.concat([varint((1 << 3) | 2), varint(len)]);
    len += arrayPrefix.length;
    const anyPrefix = Buffer.concat([varint((5 << 3) | 2), varint(len)]);
    len += anyPrefix.length;
    prefixes.push(arrayPrefix, anyPrefix);
  }
  const value = Buffer.concat([...prefixes.reverse(), inner]);
  const attr = Buffer.concat([ld(1, Buffer.from('deep')), ld(2, value)]);
  const s = Buffer.concat([ld(1, Buffer.from(traceId, 'hex')), ld(2, Buffer.from('00000000000000a1', 'hex')), ld(5, Buffer.from('deep')), fixed64(7, T0), fixed64(8, T0 + 1000n), ld(9, attr)]);
  return ld(1, ld(2, ld(2, s)));
}

describe('finding 4: deep nesting is a 400, never a stack overflow', () => {
  it('answers 400 naming the attribute for 100,000 levels of arrayValue and kvlistValue (JSON) and arrayValue (protobuf), and keeps serving', async () => {
    for (const [body, type] of [
      [deepJsonRequest(traceIdFor(0x44, 1), 100_000, 'array'), 'application/json'],
      [deepJsonRequest(traceIdFor(0x44, 2), 100_000, 'kvlist'), 'application/json'],
      [deepProtoRequest(traceIdFor(0x44, 3), 100_000), PROTO],
    ] as const) {
      const r = await postOtlp(srv.otlp, body, type);
      expect(r.status, type).toBe(400);
      const message = type === PROTO ? rpcStatus(r).message : (JSON.parse(r.body.toString('utf8')) as { message?: string }).message;
      expect(message).toMatch(/attribute "deep" nests arrays or key-value lists more than 32 levels deep/);
    }
    const ok = span('after-deep');
    expect((await postOtlp(srv.otlp, protoRequest({ hostile: [ok] }), PROTO)).status).toBe(200);
    expect(stored(ok.traceId)).toEqual(['after-deep']);
  });

  it('accepts 32 levels (the bound) in both encodings', async () => {
    const a = traceIdFor(0x44, 4);
    const b = traceIdFor(0x44, 5);
    expect((await postOtlp(srv.otlp, deepJsonRequest(a, 32, 'array'), 'application/json')).status).toBe(200);
    expect((await postOtlp(srv.otlp, deepProtoRequest(b, 32), PROTO)).status).toBe(200);
    let v: unknown = srv.server.store.spansOfTrace(b, srv.server.live.resources)[0]?.attributes['deep'];
    let depth = 0;
    while (Array.isArray(v)) {
      v = v[0];
      depth++;
    }
    expect([depth, v]).toEqual([32, 'x']);
  });

  it('`cpath analyze` of a file holding such a span exits 0 and counts attribute_too_deep (JSON, and a JSON array of requests nested 100,000 deep)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpath-deep-'));
    try {
      const ok = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[{"traceId":"${traceIdFor(0x45, 1)}","spanId":"00000000000000b1","name":"GET /ok","kind":2,"startTimeUnixNano":"${T0}","endTimeUnixNano":"${T0 + 5000n}"}]}]}]}`;
      writeFileSync(join(dir, 'deep.jsonl'), `${deepJsonRequest(traceIdFor(0x45, 2), 100_000, 'kvlist').toString()}\n${ok}\n`);
      writeFileSync(join(dir, 'nested.json'), `${'['.repeat(100_000)}${ok}${']'.repeat(100_000)}`);
      for (const f of ['deep.jsonl', 'nested.json']) {
        // --group-by makes analyze convert that attribute (it skips attributes nothing reads).
        const run = await cpath(['analyze', '--format', 'json', '--group-by', 'deep', '--input-format', 'otlp-json', join(dir, f)]);
        expect(run.stderr, f).not.toMatch(/internal error/);
        expect(run.code, `${f}: ${run.stderr}`).toBe(0);
        const report = JSON.parse(run.stdout) as { diagnostics: { code: string; count: number }[]; input: { spans: number } };
        if (f === 'deep.jsonl') expect(report.diagnostics).toContainEqual(expect.objectContaining({ code: 'attribute_too_deep', count: 1 }));
        expect(report.input.spans, f).toBeGreaterThanOrEqual(1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('finding 2: span limits truncate with a counted diagnostic instead of refusing', () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ spanLimits: { attributes: 10, valueLength: 100, events: 2, links: 3 } });
  });
  afterAll(async () => {
    await small.stop();
  });

  it('keeps the first N attributes, cuts long values, drops extra links and events, tells the client (partial success, 0 rejected) and counts each', async () => {
    const traceId = traceIdFor(0x46, 1);
    const attributes = [...Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } }))];
    attributes.splice(1, 0, { key: 'long', value: { stringValue: 'y'.repeat(100_000) } } as never);
    const link = (i: number): { traceId: Buffer; spanId: Buffer } => ({ traceId: Buffer.from(traceIdFor(0x47, i), 'hex'), spanId: Buffer.from(spanIdFor(i), 'hex') });
    const msg = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'limits' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.from(traceId, 'hex'),
                  spanId: Buffer.from(spanIdFor(1), 'hex'),
                  name: 'big',
                  kind: 2,
                  startTimeUnixNano: T0.toString(),
                  endTimeUnixNano: (T0 + 1000n).toString(),
                  attributes,
                  events: Array.from({ length: 50 }, (_, i) => ({ timeUnixNano: T0.toString(), name: `e${i}` })),
                  links: Array.from({ length: 7 }, (_, i) => link(i)),
                },
              ],
            },
          ],
        },
      ],
    };
    const body = Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(msg)).finish());
    const r = await postOtlp(small.otlp, body, PROTO);
    expect(r.status).toBe(200);
    expect(partial(r)).toMatchObject({ rejectedSpans: 0, errorMessage: expect.stringMatching(/attributes past the first 10 dropped/) as unknown });
    const [stored1] = small.server.store.spansOfTrace(traceId, small.server.live.resources);
    expect(Object.keys(stored1?.attributes ?? {})).toEqual(['k0', 'long', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8']);
    expect(stored1?.attributes['long']).toBe('y'.repeat(100));
    expect(stored1?.links?.length).toBe(3);
    const diags = (await getJson<{ diagnostics: { code: string; count: number }[] }>(`${small.api}/api/diagnostics`)).body.diagnostics;
    expect(diags).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'attributes_truncated', count: 1 }),
        expect.objectContaining({ code: 'attribute_value_truncated', count: 1 }),
        expect.objectContaining({ code: 'events_truncated', count: 1 }),
        expect.objectContaining({ code: 'links_truncated', count: 1 }),
      ]),
    );
  });
});

describe('finding 6: a trace made only of a parent cycle is listed, flagged, never hidden', () => {
  it('lists the trace with its diagnostics and answers /api/traces/{id} with them (not "not stored")', async () => {
    const traceId = traceIdFor(0x66, 1);
    // A -> B -> A: no root.
    const a: ProtoSpan = { traceId, spanId: spanIdFor(0xa), parentSpanId: spanIdFor(0xb), name: 'cycle-a', startNs: T0, endNs: T0 + 3000n };
    const b: ProtoSpan = { traceId, spanId: spanIdFor(0xb), parentSpanId: spanIdFor(0xa), name: 'cycle-b', startNs: T0 + 1000n, endNs: T0 + 2000n };
    expect((await postOtlp(srv.otlp, protoRequest({ cyclic: [a, b] }), PROTO)).status).toBe(200);
    type Listed = { traceId: string; service: string; operation: string; spans: number; durationNs: number; diagnostics?: { code: string; count: number }[] };
    const listed = await until('the cyclic trace listed', async () => {
      const page = await getJson<{ traces: Listed[] }>(`${srv.api}/api/traces?service=cyclic`);
      return page.body.traces.find((t) => t.traceId === traceId);
    });
    expect(listed).toMatchObject({ service: 'cyclic', operation: 'cycle-a', spans: 2, durationNs: 3000 });
    expect(listed.diagnostics).toEqual([expect.objectContaining({ code: 'parent_cycle', count: 2 })]);
    const detail = await getJson<{ traceId: string; analysed: boolean; diagnostics: { code: string }[] }>(`${srv.api}/api/traces/${traceId}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ traceId, analysed: false, diagnostics: [expect.objectContaining({ code: 'parent_cycle' })] });
    // It is not a latency sample: the endpoints never count it.
    const eps = await getJson<{ endpoints: { service: string }[] }>(`${srv.api}/api/endpoints`);
    expect(eps.body.endpoints.some((e) => e.service === 'cyclic')).toBe(false);
  });

  it('keeps the flag across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpath-cycle-'));
    try {
      const first = await startTestServer({ storeDir: dir });
      const traceId = traceIdFor(0x66, 2);
      const a: ProtoSpan = { traceId, spanId: spanIdFor(0xa), parentSpanId: spanIdFor(0xa), name: 'self-parent', startNs: T0, endNs: T0 + 3000n };
      expect((await postOtlp(first.otlp, protoRequest({ cyclic2: [a] }), PROTO)).status).toBe(200);
      await until('analysed', () => (first.server.live.analysed > 0 ? true : undefined));
      await first.stop();
      const second = await startTestServer({ storeDir: dir });
      try {
        const page = await getJson<{ traces: { traceId: string; diagnostics?: unknown[] }[] }>(`${second.api}/api/traces`);
        expect(page.body.traces.find((t) => t.traceId === traceId)?.diagnostics?.length).toBe(1);
        expect(second.server.live.tracesKnown).toBe(0);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('finding 2: a span with 10^6 attributes does not stall the server', () => {
  /** The slowest /healthz answer while `work` runs, polling every 20 ms. */
  async function slowestHealthz(api: string, work: () => Promise<unknown>): Promise<number> {
    let slowest = 0;
    let running = true;
    const poll = (async () => {
      while (running) {
        const t = performance.now();
        await rawRequest(`${api}/healthz`);
        slowest = Math.max(slowest, performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await work();
    await new Promise((r) => setTimeout(r, 100));
    running = false;
    await poll;
    return slowest;
  }

  it('keeps /healthz under 2 s (it took ~5 s) while ingesting it as protobuf (16 MB) and JSON (44 MB), and while serving it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpath-huge-'));
    const cli = await startServeCli(dir, ['--trace-idle', '50ms']);
    try {
      const attributes = Array.from({ length: 1_000_000 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } }));
      const request = (traceId: string, json: boolean): Record<string, unknown> => ({
        resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'huge' } }] }, scopeSpans: [{ spans: [{ traceId: json ? traceId : Buffer.from(traceId, 'hex'), spanId: json ? spanIdFor(1) : Buffer.from(spanIdFor(1), 'hex'), name: 'huge', kind: 2, startTimeUnixNano: T0.toString(), endTimeUnixNano: (T0 + 1000n).toString(), attributes }] }] }],
      });
      const protoId = traceIdFor(0x22, 1);
      const jsonId = traceIdFor(0x22, 2);
      const proto = Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request(protoId, false))).finish());
      const json = Buffer.from(JSON.stringify(request(jsonId, true)));
      expect(proto.length).toBeGreaterThan(15_000_000);
      expect(json.length).toBeGreaterThan(40_000_000);
      for (const [body, type, id] of [[proto, PROTO, protoId], [json, 'application/json', jsonId]] as const) {
        let reply: RawReply | undefined;
        const slowIngest = await slowestHealthz(cli.api, async () => (reply = await postOtlp(cli.otlp, body, type)));
        expect(reply?.status, type).toBe(200);
        expect(slowIngest, `${type}: slowest /healthz while ingesting`).toBeLessThan(2000);
        await until('analysed', async () => ((await rawRequest(`${cli.api}/api/traces/${id}`)).status === 200 ? true : undefined));
        let detail: RawReply | undefined;
        const slowServe = await slowestHealthz(cli.api, async () => (detail = await rawRequest(`${cli.api}/api/traces/${id}`)));
        expect(detail?.status).toBe(200);
        expect(slowServe, `${type}: slowest /healthz while serving the trace`).toBeLessThan(2000);
      }
    } finally {
      cli.child.kill('SIGKILL');
      await cli.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
