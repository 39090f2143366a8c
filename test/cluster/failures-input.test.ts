// Issue 11: a cluster receiver answers auth, limits and bad input as the single node does
// (test/server/http-status.test.ts, a meaningful subset: --token, --max-body, malformed
// protobuf and JSON, partial success for a bad span id, over OTLP/HTTP and OTLP/gRPC), and
// answers 503 + Retry-After, never 200, while JetStream is unavailable (its NATS server killed):
// a span is acknowledged only once JetStream stored it. Once NATS is back, 200 again.
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Client, Metadata, credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportTraceServiceResponse, RpcStatus } from '../../collectors/otlp-schema.js';
import type { RunningClusterNode } from '../../src/server/cluster-serve.js';
import { clusterSkipReason, startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { T0, jsonRequest, postOtlp, protoRequest, rawRequest, spanIdFor, traceIdFor, type ProtoSpan, type RawReply } from '../helpers/serve-harness.js';

const skip = clusterSkipReason();
const KiB = 1024;
const PROTO = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
const TOKEN = 's3cret';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

let counter = 0;
function oneSpan(extra: Partial<ProtoSpan>[] = []): { traceId: string; spans: ProtoSpan[] } {
  const n = counter++;
  const traceId = traceIdFor(0xc1, n);
  const first: ProtoSpan = { traceId, spanId: spanIdFor(n), name: 'GET /cluster-status', startNs: T0 + BigInt(n) * 1_000_000n, endNs: T0 + BigInt(n) * 1_000_000n + 2_000_000n };
  return { traceId, spans: [first, ...extra.map((e) => ({ ...first, spanId: spanIdFor(10_000 + counter++), name: 'extra', ...e }))] };
}

const rpcStatus = (r: RawReply): { code?: number; message?: string } => RpcStatus.toObject(RpcStatus.decode(r.body)) as { code?: number; message?: string };
const jsonBody = (r: RawReply): Record<string, unknown> => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;

/** One OTLP/gRPC Export call: the status code (0 = OK). */
function grpcExport(address: string, spans: ProtoSpan[], token?: string): Promise<number> {
  const client = new Client(address, credentials.createInsecure());
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  const body = protoRequest({ 'cluster-status': spans });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      { deadline: Date.now() + 20_000 },
      (err: ServiceError | null) => {
        client.close();
        resolve(err ? err.code : grpcStatus.OK);
      },
    );
  });
}

describe.skipIf(skip !== undefined)(`a cluster receiver: auth, limits, bad input, JetStream down${skip !== undefined ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let cluster: TestCluster;
  let node: RunningClusterNode;
  let otlp: string;
  let api: string;
  beforeAll(async () => {
    cluster = await startTestCluster();
    // One span in flight at most: while JetStream hangs, a second request is refused as busy at once.
    node = await cluster.node(['receiver', 'analyser', 'api'], { token: TOKEN, maxBody: 64 * KiB, maxQueuedSpans: 1 });
    otlp = `http://${node.addresses.otlpHttp ?? ''}`;
    api = `http://${node.addresses.api ?? ''}`;
    await waitFor('the analyser to own its partitions', () => (node.analyser?.owned().length ?? 0) === 8, 30_000);
  }, 90_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  /** Until the api role shows the trace: its span names. */
  async function storedNames(traceId: string): Promise<string[]> {
    let names: string[] = [];
    await waitFor(`trace ${traceId} analysed`, async () => {
      await node.query?.follow();
      const r = await rawRequest(`${api}/api/traces/${traceId}`, { headers: AUTH });
      if (r.status !== 200) return false;
      names = (jsonBody(r).spans as { operation: string }[]).map((s) => s.operation).sort();
      return true;
    }, 20_000);
    return names;
  }

  it('--token: 401 on /v1/traces and on the API without or with a wrong bearer, UNAUTHENTICATED over gRPC; with it, 200 and stored', async () => {
    const { traceId, spans } = oneSpan();
    const body = protoRequest({ 'cluster-status': spans });
    const none = await postOtlp(otlp, body, PROTO);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(rpcStatus(none).code).toBe(16);
    expect((await postOtlp(otlp, body, PROTO, { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await postOtlp(otlp, body, PROTO, { Cookie: `cpath_token=${TOKEN}` })).status).toBe(401);
    expect(await grpcExport(node.addresses.otlpGrpc ?? '', spans)).toBe(grpcStatus.UNAUTHENTICATED);
    expect(await grpcExport(node.addresses.otlpGrpc ?? '', spans, 'wrong')).toBe(grpcStatus.UNAUTHENTICATED);
    for (const path of ['/api/endpoints', '/api/traces', '/metrics']) {
      expect((await rawRequest(`${api}${path}`)).status, path).toBe(401);
      expect((await rawRequest(`${api}${path}`, { headers: { Authorization: 'Bearer nope' } })).status, path).toBe(401);
      expect((await rawRequest(`${api}${path}`, { headers: AUTH })).status, path).toBe(200);
    }
    // Nothing of the refused requests reached JetStream.
    expect(node.publisher?.counts.messages).toBe(0);
    expect((await postOtlp(otlp, body, PROTO, AUTH)).status).toBe(200);
    expect(await storedNames(traceId)).toEqual(['GET /cluster-status']);
    const viaGrpc = oneSpan();
    expect(await grpcExport(node.addresses.otlpGrpc ?? '', viaGrpc.spans, TOKEN)).toBe(grpcStatus.OK);
    expect(await storedNames(viaGrpc.traceId)).toEqual(['GET /cluster-status']);
  });

  it('--max-body: 413 for a body over the limit, plain and after gzip decompression', async () => {
    const plain = await postOtlp(otlp, randomBytes(100 * KiB), PROTO, AUTH);
    expect(plain.status).toBe(413);
    expect(rpcStatus(plain)).toMatchObject({ code: 8, message: expect.stringMatching(/65536/) });
    const one = protoRequest({ 'cluster-status': oneSpan().spans });
    const big = Buffer.concat(Array.from({ length: Math.ceil((120 * KiB) / one.length) }, () => one));
    const gz = gzipSync(big);
    expect(gz.length).toBeLessThan(64 * KiB);
    const zipped = await postOtlp(otlp, gz, PROTO, { ...AUTH, 'Content-Encoding': 'gzip' });
    expect(zipped.status).toBe(413);
    expect(rpcStatus(zipped).message).toMatch(/after decompression/);
  });

  it('400 for malformed protobuf and JSON (in the request encoding), 415 for text/plain; then still serving', async () => {
    const p = await postOtlp(otlp, Buffer.from([0x0a, 0xff, 0x01, 0x02]), PROTO, AUTH);
    expect(p.status).toBe(400);
    expect(p.headers['content-type']).toBe(PROTO);
    expect(rpcStatus(p)).toMatchObject({ code: 3, message: expect.stringMatching(/not a valid OTLP protobuf/) });
    const j = await postOtlp(otlp, Buffer.from('{"resourceSpans": [ '), JSON_TYPE, AUTH);
    expect(j.status).toBe(400);
    expect(j.headers['content-type']).toBe(JSON_TYPE);
    expect(jsonBody(j)).toMatchObject({ code: 3, message: expect.stringMatching(/not valid JSON/) });
    expect((await postOtlp(otlp, Buffer.from('hello'), 'text/plain', AUTH)).status).toBe(415);
    const { traceId, spans } = oneSpan();
    expect((await postOtlp(otlp, jsonRequest({ 'cluster-status': spans }), JSON_TYPE, AUTH)).status).toBe(200);
    expect(await storedNames(traceId)).toEqual(['GET /cluster-status']);
  });

  it('partial success for a span with an all-zero span id (protobuf and JSON); the valid spans are stored', async () => {
    const a = oneSpan([{ spanId: '0000000000000000', name: 'zero id' }, { name: 'kept' }]);
    const r = await postOtlp(otlp, protoRequest({ 'cluster-status': a.spans }), PROTO, AUTH);
    expect(r.status).toBe(200);
    const reply = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(r.body), { longs: Number }) as { partialSuccess?: { rejectedSpans?: number; errorMessage?: string } };
    expect(reply.partialSuccess?.rejectedSpans).toBe(1);
    expect(reply.partialSuccess?.errorMessage).toMatch(/spanId.*zero/i);
    expect(await storedNames(a.traceId)).toEqual(['GET /cluster-status', 'kept']);

    const b = oneSpan([{ spanId: '0000000000000000', name: 'zero id' }]);
    const j = await postOtlp(otlp, jsonRequest({ 'cluster-status': b.spans }), JSON_TYPE, AUTH);
    expect(j.status).toBe(200);
    expect(String((jsonBody(j) as { partialSuccess?: { rejectedSpans?: unknown } }).partialSuccess?.rejectedSpans)).toBe('1');
    expect(await storedNames(b.traceId)).toEqual(['GET /cluster-status']);
  });

  it('503 + Retry-After (never 200) while its NATS server is down, UNAVAILABLE over gRPC; 200 and stored once it is back', async () => {
    const ackedBefore = node.publisher?.counts.acked;
    await cluster.nats.kill9(0);
    const down = oneSpan();
    const answers: RawReply[] = [];
    // One request waits for JetStream's ack (in flight), the next is refused as busy at once.
    const first = postOtlp(otlp, protoRequest({ 'cluster-status': down.spans }), PROTO, AUTH);
    await new Promise((r) => setTimeout(r, 300));
    answers.push(await postOtlp(otlp, jsonRequest({ 'cluster-status': down.spans }), JSON_TYPE, AUTH));
    answers.push(await first);
    // Nothing in flight any more: this one waits for JetStream's ack again, and is refused.
    answers.push(await postOtlp(otlp, protoRequest({ 'cluster-status': down.spans }), PROTO, AUTH));
    const grpcCode = await grpcExport(node.addresses.otlpGrpc ?? '', down.spans, TOKEN);
    expect(answers.map((a) => a.status)).toEqual([503, 503, 503]);
    for (const a of answers) expect(a.headers['retry-after']).toBe('1');
    expect(jsonBody(answers[0] as RawReply)).toMatchObject({ code: 14, message: expect.stringMatching(/busy/) });
    expect(rpcStatus(answers[1] as RawReply)).toMatchObject({ code: 14, message: expect.stringMatching(/refused the write/) });
    expect(grpcCode).toBe(grpcStatus.UNAVAILABLE);
    const metrics = await (await fetch(`${api}/metrics`, { headers: AUTH })).text();
    expect(metrics).toMatch(/^cpath_requests_total\{transport="http",code="503"\} 3$/m);
    // JetStream acknowledged nothing meanwhile.
    expect(node.publisher?.counts.acked).toBe(ackedBefore);

    await cluster.nats.restart(0);
    let status = 0;
    await waitFor('a 200 once NATS is back', async () => {
      status = (await postOtlp(otlp, protoRequest({ 'cluster-status': down.spans }), PROTO, AUTH)).status;
      return status === 200;
    }, 30_000);
    expect(await storedNames(down.traceId)).toEqual(['GET /cluster-status']);
  }, 90_000);
});
