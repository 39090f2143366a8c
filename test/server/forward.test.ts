// --forward: a cpath beside an existing setup passes every accepted request on. The downstream
// "Collector" here is a second cpath; a dead downstream never affects cpath's own answers.
import { afterEach, describe, expect, it } from 'vitest';
import { T0, getJson, postOtlp, protoRequest, startTestServer, traceIdFor, spanIdFor, until, type TestServer } from '../helpers/serve-harness.js';

const PROTO = 'application/x-protobuf';
const started: TestServer[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
});

function request(salt: number): Buffer {
  const traceId = traceIdFor(salt, 1);
  return protoRequest({ frontend: [{ traceId, spanId: spanIdFor(1), name: 'GET /x', kind: 2, startNs: T0, endNs: T0 + 5_000_000n }] });
}

describe('--forward', () => {
  it('passes accepted requests on to another OTLP endpoint', async () => {
    const downstream = await startTestServer();
    started.push(downstream);
    const front = await startTestServer({ forward: downstream.otlp });
    started.push(front);
    for (let i = 0; i < 5; i++) expect((await postOtlp(front.otlp, request(i), PROTO)).status).toBe(200);
    // A bad request is not forwarded.
    expect((await postOtlp(front.otlp, Buffer.from('\x0a\xff\xff'), PROTO)).status).toBe(400);
    await until('the downstream has the 5 traces', async () => {
      const r = await getJson<{ traces: unknown[] }>(`${downstream.api}/api/traces`);
      return r.body.traces.length === 5 ? true : undefined;
    });
    const metrics = await (await fetch(`${front.api}/metrics`)).text();
    expect(metrics).toMatch(/cpath_forward_requests_total\{outcome="sent"\} 5\n/);
  });

  it('counts failures and keeps answering when the downstream is down', async () => {
    const front = await startTestServer({ forward: 'http://127.0.0.1:9' });
    started.push(front);
    for (let i = 0; i < 3; i++) expect((await postOtlp(front.otlp, request(100 + i), PROTO)).status).toBe(200);
    await until('3 failures counted', async () => {
      const m = await (await fetch(`${front.api}/metrics`)).text();
      return /cpath_forward_requests_total\{outcome="failed"\} 3\n/.test(m) ? true : undefined;
    });
  });
});
