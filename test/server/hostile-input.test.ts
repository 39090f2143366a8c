// `cpath serve` against hostile and broken clients (issue 15): one client's bad data must never
// refuse, stall or hide another's. Each block drives the real server over HTTP.
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExportTraceServiceResponse, RpcStatus } from '../../collectors/otlp-schema.js';
import { UnstorableRequest } from '../../collectors/otlp-http.js';
import type { SpanInput } from '../../src/model/span.js';
import { Ingest } from '../../src/server/ingest.js';
import type { StoredBatch } from '../../src/store/span-store.js';
import { T0, postOtlp, protoRequest, spanIdFor, startTestServer, traceIdFor, type ProtoSpan, type RawReply, type TestServer } from '../helpers/serve-harness.js';

const PROTO = 'application/x-protobuf';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ maxBody: 4 * 1024 * 1024, traceIdleMs: 50 });
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
