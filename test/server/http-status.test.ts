// `cpath serve` over raw HTTP: every answer the OTLP/HTTP receiver and the query API give, as
// docs/otlp.md says exporters expect them (status, body in the request's encoding,
// headers), plus the size limits, a gzip bomb, busy, the token, CORS and API paging.
import { randomBytes } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportTraceServiceResponse, RpcStatus } from '../../collectors/otlp-schema.js';
import type { TraceListEntry } from '../../src/store/span-store.js';
import {
  T0,
  getJson,
  jsonRequest,
  postOtlp,
  protoRequest,
  rawRequest,
  spanIdFor,
  startTestServer,
  traceIdFor,
  until,
  type ProtoSpan,
  type RawReply,
  type TestServer,
} from '../helpers/serve-harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const PROTO = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
const ORIGIN = 'https://ui.example';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ maxBody: 64 * KiB, cors: [ORIGIN], traceIdleMs: 50 });
});
afterAll(async () => {
  await srv.stop();
});

let counter = 0;
/** A fresh trace of one span "GET /status-test" (plus `extra` spans in it): its id and spans. */
function oneSpan(extra: Partial<ProtoSpan>[] = []): { traceId: string; spans: ProtoSpan[] } {
  const n = counter++;
  const traceId = traceIdFor(0x5e, n);
  const spans: ProtoSpan[] = [{ traceId, spanId: spanIdFor(n), name: 'GET /status-test', startNs: T0 + BigInt(n) * 1_000_000n, endNs: T0 + BigInt(n) * 1_000_000n + 2_000_000n }];
  const first = spans[0]!;
  for (const e of extra) spans.push({ ...first, spanId: spanIdFor(10_000 + counter++), name: 'extra', ...e });
  return { traceId, spans };
}

const stored = (s: TestServer, traceId: string): string[] => s.server.store.spansOfTrace(traceId, s.server.live.resources).map((x) => x.name);
const rpcStatus = (r: RawReply): { code?: number; message?: string } => RpcStatus.toObject(RpcStatus.decode(r.body)) as { code?: number; message?: string };
const jsonBody = (r: RawReply): Record<string, unknown> => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;

async function expectStillServing(s: TestServer = srv): Promise<void> {
  const { traceId, spans } = oneSpan();
  const ok = await postOtlp(s.otlp, protoRequest({ 'status-test': spans }), PROTO);
  expect(ok.status).toBe(200);
  expect(stored(s, traceId)).toEqual(['GET /status-test']);
}

describe('OTLP/HTTP success answers', () => {
  it('answers a valid protobuf request 200 with an empty protobuf body, after the span is stored', async () => {
    const { traceId, spans } = oneSpan();
    const r = await postOtlp(srv.otlp, protoRequest({ 'status-test': spans }), PROTO);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(PROTO);
    expect(r.body.length).toBe(0);
    expect(stored(srv, traceId)).toEqual(['GET /status-test']);
  });

  it('answers a valid JSON request 200 with {} (and ignores a charset parameter)', async () => {
    const { traceId, spans } = oneSpan();
    const r = await postOtlp(srv.otlp, jsonRequest({ 'status-test': spans }), 'application/json; charset=utf-8');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(JSON_TYPE);
    expect(jsonBody(r)).toEqual({});
    expect(stored(srv, traceId)).toEqual(['GET /status-test']);
  });

  it('answers an empty body 200, in both encodings', async () => {
    const p = await postOtlp(srv.otlp, Buffer.alloc(0), PROTO);
    expect(p.status).toBe(200);
    expect(p.body.length).toBe(0);
    const j = await postOtlp(srv.otlp, Buffer.alloc(0), JSON_TYPE);
    expect(j.status).toBe(200);
    expect(jsonBody(j)).toEqual({});
  });

  it('reports partial success (protobuf) for a span with an all-zero span id, and keeps the valid one', async () => {
    const { traceId, spans } = oneSpan([{ spanId: '0000000000000000', name: 'zero id' }]);
    const r = await postOtlp(srv.otlp, protoRequest({ 'status-test': spans }), PROTO);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(PROTO);
    const reply = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(r.body), { longs: Number }) as { partialSuccess?: { rejectedSpans?: number; errorMessage?: string } };
    expect(reply.partialSuccess?.rejectedSpans).toBe(1);
    expect(reply.partialSuccess?.errorMessage).toMatch(/spanId/);
    expect(reply.partialSuccess?.errorMessage).toMatch(/zero/i);
    expect(stored(srv, traceId)).toEqual(['GET /status-test']);
  });

  it('reports partial success (JSON) for a span with an all-zero span id', async () => {
    const { traceId, spans } = oneSpan([{ spanId: '0000000000000000', name: 'zero id' }]);
    const r = await postOtlp(srv.otlp, jsonRequest({ 'status-test': spans }), JSON_TYPE);
    expect(r.status).toBe(200);
    const body = jsonBody(r) as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } };
    // int64 in proto3 JSON is a decimal string; a number is accepted by clients too.
    expect(String(body.partialSuccess?.rejectedSpans)).toBe('1');
    expect(body.partialSuccess?.errorMessage).toMatch(/spanId.*zero/i);
    expect(stored(srv, traceId)).toEqual(['GET /status-test']);
  });

  it('accepts deflate as well as gzip', async () => {
    for (const [enc, zip] of [
      ['deflate', deflateSync],
      ['gzip', gzipSync],
    ] as const) {
      const { traceId, spans } = oneSpan();
      const r = await postOtlp(srv.otlp, zip(protoRequest({ 'status-test': spans })), PROTO, { 'Content-Encoding': enc });
      expect(r.status, enc).toBe(200);
      expect(stored(srv, traceId)).toEqual(['GET /status-test']);
    }
  });
});

describe('OTLP/HTTP error answers', () => {
  it('415 for text/plain and for Content-Encoding br', async () => {
    const { spans } = oneSpan();
    const text = await postOtlp(srv.otlp, Buffer.from('hello'), 'text/plain');
    expect(text.status).toBe(415);
    expect(jsonBody(text)).toMatchObject({ code: 3, message: expect.stringMatching(/text\/plain/) });
    const br = await postOtlp(srv.otlp, protoRequest({ 'status-test': spans }), PROTO, { 'Content-Encoding': 'br' });
    expect(br.status).toBe(415);
    expect(br.headers['content-type']).toBe(PROTO);
    expect(rpcStatus(br).message).toMatch(/"br"/);
    await expectStillServing();
  });

  it('405 with Allow for GET /v1/traces', async () => {
    const r = await rawRequest(`${srv.otlp}/v1/traces`);
    expect(r.status).toBe(405);
    expect(r.headers.allow).toMatch(/POST/);
    expect(jsonBody(r).message).toMatch(/GET/);
  });

  it('404 for /v1/logs and /v1/metrics, saying that only traces are taken', async () => {
    for (const path of ['/v1/logs', '/v1/metrics']) {
      const r = await rawRequest(`${srv.otlp}${path}`, { method: 'POST', headers: { 'Content-Type': PROTO }, body: Buffer.from([0x0a, 0x00]) });
      expect(r.status, path).toBe(404);
      expect(String(jsonBody(r).message)).toMatch(/traces only/);
      expect(String(jsonBody(r).message)).toContain(path);
    }
  });

  it('400 with a google.rpc.Status in the request encoding for malformed protobuf and JSON, then keeps serving', async () => {
    // Field 1, length-delimited, claiming 255 bytes that are not there.
    const p = await postOtlp(srv.otlp, Buffer.from([0x0a, 0xff, 0x01, 0x02]), PROTO);
    expect(p.status).toBe(400);
    expect(p.headers['content-type']).toBe(PROTO);
    expect(rpcStatus(p)).toMatchObject({ code: 3, message: expect.stringMatching(/not a valid OTLP protobuf/) });

    const j = await postOtlp(srv.otlp, Buffer.from('{"resourceSpans": [ '), JSON_TYPE);
    expect(j.status).toBe(400);
    expect(j.headers['content-type']).toBe(JSON_TYPE);
    expect(jsonBody(j)).toMatchObject({ code: 3, message: expect.stringMatching(/not valid JSON/) });

    const arr = await postOtlp(srv.otlp, Buffer.from('[]'), JSON_TYPE);
    expect(arr.status).toBe(400);

    const badGzip = await postOtlp(srv.otlp, Buffer.from('definitely not gzip'), PROTO, { 'Content-Encoding': 'gzip' });
    expect(badGzip.status).toBe(400);
    expect(rpcStatus(badGzip).message).toMatch(/decompress/);

    await expectStillServing();
  });

  it('413 for a body over --max-body, plain (by Content-Length) and gzip (after decompression)', async () => {
    const plain = await postOtlp(srv.otlp, randomBytes(100 * KiB), PROTO);
    expect(plain.status).toBe(413);
    expect(rpcStatus(plain)).toMatchObject({ code: 8, message: expect.stringMatching(/65536/) });

    // ~120 KiB of concatenated valid requests (one valid request, as protobuf merges them): a
    // few KiB gzipped, under the limit until inflated.
    const one = protoRequest({ 'status-test': oneSpan().spans });
    const big = Buffer.concat(Array.from({ length: Math.ceil((120 * KiB) / one.length) }, () => one));
    expect(big.length).toBeGreaterThan(64 * KiB);
    const gz = gzipSync(big);
    expect(gz.length).toBeLessThan(64 * KiB);
    const zipped = await postOtlp(srv.otlp, gz, PROTO, { 'Content-Encoding': 'gzip' });
    expect(zipped.status).toBe(413);
    expect(rpcStatus(zipped).message).toMatch(/after decompression/);

    const asJson = await postOtlp(srv.otlp, gzipSync(Buffer.alloc(256 * KiB, 0x20)), JSON_TYPE, { 'Content-Encoding': 'gzip' });
    expect(asJson.status).toBe(413);
    expect(jsonBody(asJson)).toMatchObject({ code: 8 });
    await expectStillServing();
  });

  it('refuses gzip bombs with 413 quickly, without inflating them', async () => {
    // A gzip bomb under the limit as sent: ~16 KB that inflates to 16 MiB.
    const member = gzipSync(Buffer.alloc(16 * MiB), { level: 9 });
    expect(member.length).toBeLessThan(20 * KiB);
    // And one of 1 GiB inflated: 64 concatenated gzip members (~1 MB), sent chunked so that no
    // Content-Length gives it away. (Deflate compresses at most ~1000:1, so 1 GiB cannot come
    // from fewer than ~1 MB.)
    const giga = Buffer.concat(Array.from({ length: 64 }, () => member));

    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
    const t = Date.now();
    try {
      const small = await postOtlp(srv.otlp, member, PROTO, { 'Content-Encoding': 'gzip' });
      expect(small.status).toBe(413);
      expect(rpcStatus(small).message).toMatch(/after decompression/);
      const huge = await postOtlp(srv.otlp, giga, PROTO, { 'Content-Encoding': 'gzip', 'Transfer-Encoding': 'chunked' });
      expect(huge.status).toBe(413);
      // Over the limit already as sent (the limit applies before and after decompression).
      expect(rpcStatus(huge).message).toMatch(/exceeds the limit/);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    // Inflating 1 GiB takes seconds and a GiB; stopping at 64 KiB takes milliseconds.
    expect(Date.now() - t).toBeLessThan(2_000);
    expect(peak - before).toBeLessThan(100 * MiB);
    await expectStillServing();
  });
});

describe('busy', () => {
  it('503 with Retry-After when the analysis queue is full, and 200 again once it drains', async () => {
    // One trace may wait for analysis; the idle window is long, so the first one stays.
    const busy = await startTestServer({ maxPendingTraces: 1, traceIdleMs: 60_000 });
    try {
      const first = oneSpan();
      expect((await postOtlp(busy.otlp, protoRequest({ 'status-test': first.spans }), PROTO)).status).toBe(200);
      const second = oneSpan();
      const p = await postOtlp(busy.otlp, protoRequest({ 'status-test': second.spans }), PROTO);
      expect(p.status).toBe(503);
      expect(p.headers['retry-after']).toBe('1');
      expect(rpcStatus(p)).toMatchObject({ code: 14, message: expect.stringMatching(/busy/) });
      const j = await postOtlp(busy.otlp, jsonRequest({ 'status-test': second.spans }), JSON_TYPE);
      expect(j.status).toBe(503);
      expect(j.headers['retry-after']).toBe('1');
      expect(jsonBody(j)).toMatchObject({ code: 14 });
      expect(stored(busy, second.traceId)).toEqual([]);

      busy.server.live.flushAll();
      expect((await postOtlp(busy.otlp, protoRequest({ 'status-test': second.spans }), PROTO)).status).toBe(200);
      expect(stored(busy, second.traceId)).toEqual(['GET /status-test']);
      const metrics = await (await fetch(`${busy.api}/metrics`)).text();
      // Refused before the body was read: the spans were not counted, the requests were.
      expect(metrics).toMatch(/^cpath_spans_rejected_total\{reason="busy"\} \d+$/m);
      expect(metrics).toMatch(/^cpath_requests_total\{transport="http",code="503"\} 2$/m);
    } finally {
      await busy.stop();
    }
  });
});

describe('--token', () => {
  let tok: TestServer;
  beforeAll(async () => {
    tok = await startTestServer({ token: 's3cret' });
  });
  afterAll(async () => {
    await tok.stop();
  });

  it('401 on /v1/traces without or with a wrong bearer token, 200 with it', async () => {
    const { traceId, spans } = oneSpan();
    const body = protoRequest({ 'status-test': spans });
    const none = await postOtlp(tok.otlp, body, PROTO);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(rpcStatus(none).code).toBe(16);
    expect((await postOtlp(tok.otlp, body, PROTO, { Authorization: 'Bearer wrong' })).status).toBe(401);
    // The cookie is for the API (browsers), not for the receiver.
    expect((await postOtlp(tok.otlp, body, PROTO, { Cookie: 'cpath_token=s3cret' })).status).toBe(401);
    expect(stored(tok, traceId)).toEqual([]);
    expect((await postOtlp(tok.otlp, body, PROTO, { Authorization: 'Bearer s3cret' })).status).toBe(200);
    expect(stored(tok, traceId)).toEqual(['GET /status-test']);
  });

  it('401 on the API without the token, 200 with the bearer', async () => {
    for (const path of ['/api/endpoints', '/api/traces', '/api/page', '/api', '/metrics', '/']) {
      const none = await rawRequest(`${tok.api}${path}`);
      expect(none.status, path).toBe(401);
      expect(none.headers['www-authenticate'], path).toMatch(/^Bearer/);
      expect(jsonBody(none).error, path).toMatch(/token/);
      expect((await rawRequest(`${tok.api}${path}`, { headers: { Authorization: 'Bearer nope' } })).status, path).toBe(401);
      expect((await rawRequest(`${tok.api}${path}`, { headers: { Authorization: 'Bearer s3cret' } })).status, path).toBe(200);
    }
  });

  it('/?token=T sets a cookie that then opens the API; a wrong token sets none', async () => {
    const wrong = await rawRequest(`${tok.api}/?token=nope`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const r = await rawRequest(`${tok.api}/?token=s3cret`);
    expect(r.status).toBe(302);
    const cookie = r.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    const pair = cookie.split(';')[0] ?? '';
    expect(pair).toBe('cpath_token=s3cret');
    const ok = await getJson<{ endpoints: unknown[] }>(`${tok.api}/api/endpoints`, { Cookie: pair });
    expect(ok.status).toBe(200);
    expect(Array.isArray(ok.body.endpoints)).toBe(true);
    expect((await rawRequest(`${tok.api}/api/endpoints`, { headers: { Cookie: 'cpath_token=nope' } })).status).toBe(401);
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin 204 with the Allow-* headers', async () => {
    const r = await rawRequest(`${srv.otlp}/v1/traces`, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,content-encoding' },
    });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(r.headers['access-control-allow-methods']).toMatch(/POST/);
    expect(r.headers['access-control-allow-headers']).toMatch(/content-type/i);
  });

  it('refuses a preflight from another origin with 403 and no Allow-Origin', async () => {
    const r = await rawRequest(`${srv.otlp}/v1/traces`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(r.status).toBe(403);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(String(jsonBody(r).message)).toMatch(/--cors/);
  });

  it('puts Access-Control-Allow-Origin on a POST from the allowed origin only', async () => {
    const allowed = await postOtlp(srv.otlp, jsonRequest({ 'status-test': oneSpan().spans }), JSON_TYPE, { Origin: ORIGIN });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(ORIGIN);
    const other = await postOtlp(srv.otlp, jsonRequest({ 'status-test': oneSpan().spans }), JSON_TYPE, { Origin: 'https://evil.example' });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('query API', () => {
  it('400 with a JSON error for a bad since, limit or cursor', async () => {
    for (const q of ['since=yesterday-ish', 'until=%3F', 'limit=abc', 'limit=0', 'limit=100000', 'limit=-1', 'cursor=not-a-cursor', `cursor=${Buffer.from('12.xyz').toString('base64url')}`, 'minDuration=fast', 'maxDuration=slow', 'attr=novalue', 'attr==x']) {
      const r = await getJson<{ error?: string }>(`${srv.api}/api/traces?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.headers['content-type'], q).toBe(JSON_TYPE);
      expect(typeof r.body.error, q).toBe('string');
    }
    const ep = await getJson<{ error?: string }>(`${srv.api}/api/endpoints?since=soon`);
    expect(ep.status).toBe(400);
    expect(ep.body.error).toMatch(/since/);
  });

  it('404 for an unknown trace id, 400 for a malformed one, 404 for an unknown path, 405 for POST', async () => {
    const unknown = await getJson<{ error?: string }>(`${srv.api}/api/traces/${'ab'.repeat(16)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/not stored/);
    expect((await getJson(`${srv.api}/api/traces/not-hex`)).status).toBe(400);
    expect((await getJson(`${srv.api}/api/nothing`)).status).toBe(404);
    expect((await rawRequest(`${srv.api}/api/traces`, { method: 'POST', body: Buffer.from('{}') })).status).toBe(405);
  });

  it('pages through every trace newest first with limit and the next cursor, without repeats', async () => {
    // 23 traces of service "pager", three per start time (ties are ordered by trace id).
    const spans: ProtoSpan[] = Array.from({ length: 23 }, (_, i) => {
      const start = T0 + 5_000_000_000n + BigInt(Math.floor(i / 3)) * 1_000_000n;
      return { traceId: traceIdFor(0xa9e, (i * 7) % 23), spanId: spanIdFor(i), name: 'GET /page', startNs: start, endNs: start + 500_000n };
    });
    expect((await postOtlp(srv.otlp, protoRequest({ pager: spans }), PROTO)).status).toBe(200);
    await until('the 23 pager traces analysed', async () => {
      const r = await getJson<{ traces: TraceListEntry[] }>(`${srv.api}/api/traces?service=pager&limit=1000`);
      return r.body.traces.length === 23 ? true : undefined;
    });
    const expected = [...spans].sort((a, b) => (a.startNs !== b.startNs ? (a.startNs > b.startNs ? -1 : 1) : a.traceId > b.traceId ? -1 : 1)).map((s) => s.traceId);

    const got: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await getJson<{ traces: TraceListEntry[]; next?: string }>(`${srv.api}/api/traces?service=pager&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(r.status).toBe(200);
      got.push(...r.body.traces.map((t) => t.traceId));
      pageSizes.push(r.body.traces.length);
      cursor = r.body.next;
      if (!cursor) break;
    }
    expect(pageSizes).toEqual([5, 5, 5, 5, 3]);
    expect(new Set(got).size).toBe(got.length);
    expect(got).toEqual(expected);

    // An exact multiple of the limit ends without a dangling cursor.
    const all = await getJson<{ traces: TraceListEntry[]; next?: string }>(`${srv.api}/api/traces?service=pager&limit=23`);
    expect(all.body.traces).toHaveLength(23);
    expect(all.body.next).toBeUndefined();
  });
});
