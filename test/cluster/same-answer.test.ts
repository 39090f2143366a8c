// Issue 11, "Same answer": spans sent by the real OpenTelemetry exporters (HTTP protobuf, HTTP
// JSON, gRPC), batch by batch round-robin to two receivers, analysed by two analysers sharing
// PostgreSQL: the api role's /api/endpoints and /api/traces/{id} equal `cpath analyze` of the
// same spans from the file, exactly. Once for the shop sample, once for a generated load of
// 100k spans.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/pipeline/analyze.js';
import type { ReportEndpoint, ReportTrace } from '../../src/report/types.js';
import type { RunningClusterNode } from '../../src/server/cluster-serve.js';
import { clusterSkipReason, startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { importPath } from '../helpers/import.js';
import { exportOnce, toReadableSpans } from '../helpers/replay.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = clusterSkipReason();

/** The exporters of one receiver: HTTP protobuf, HTTP JSON and gRPC. */
function exportersOf(n: RunningClusterNode): SpanExporter[] {
  const http = `http://${n.addresses.otlpHttp ?? ''}/v1/traces`;
  return [
    new ProtoExporter({ url: http, timeoutMillis: 30_000 }),
    new JsonExporter({ url: http, timeoutMillis: 30_000 }),
    new GrpcExporter({ url: `http://${n.addresses.otlpGrpc ?? ''}`, credentials: credentials.createInsecure(), timeoutMillis: 30_000 }),
  ];
}

/** Sends the file's spans in batches of `batch`, batch i through exporter i mod 3 of receiver i mod 2. */
async function sendFile(file: string, receivers: readonly RunningClusterNode[], batch: number): Promise<number> {
  const { spans } = await importPath(file);
  const readable = toReadableSpans(spans);
  const exporters = receivers.map(exportersOf);
  for (let i = 0, b = 0; i < readable.length; i += batch, b++) {
    const ex = exporters[b % receivers.length]?.[Math.floor(b / receivers.length) % 3];
    if (!ex) throw new Error('no exporter');
    await exportOnce(ex, readable.slice(i, i + batch));
  }
  for (const list of exporters) for (const e of list) await e.shutdown();
  return new Set(spans.map((s) => s.traceId)).size;
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  expect(r.status).toBe(200);
  return (await r.json()) as T;
}

/** Waits until the api role knows every trace and no analyser has one waiting. */
async function settled(api: RunningClusterNode, analysers: readonly RunningClusterNode[], traces: number): Promise<void> {
  await waitFor(`${traces} analysed traces`, async () => {
    await api.query?.follow();
    return (api.query?.tracesKnown ?? 0) >= traces && analysers.every((a) => (a.analyser?.pending ?? 0) === 0);
  });
}

/** What /api/traces/{id} shares with a report's trace entry (the detail lists its spans where the entry counts them). */
function pathOf(t: ReportTrace | (Omit<ReportTrace, 'spans'> & { spans: unknown[] })): unknown {
  const spans = Array.isArray(t.spans) ? t.spans.length : t.spans;
  return { traceId: t.traceId, service: t.service, operation: t.operation, startUnixNano: t.startUnixNano, durationNs: t.durationNs, spans, errors: t.errors, criticalPath: t.criticalPath, otherRoots: t.otherRoots };
}

describe.skipIf(skip !== undefined)(`a cluster gives the answer of cpath analyze${skip !== undefined ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let tmp: string;
  let cluster: TestCluster | undefined;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cpath-same-'));
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A fresh cluster (NATS, PostgreSQL) per file: the store holds that file's spans only. */
  async function check(file: string, batch: number): Promise<void> {
    await cluster?.stop();
    const c = (cluster = await startTestCluster());
    const a = await c.node(['receiver', 'analyser', 'api']);
    const b = await c.node(['receiver', 'analyser']);
    await waitFor('both analysers to own partitions', () => (a.analyser?.owned().length ?? 0) > 0 && (b.analyser?.owned().length ?? 0) > 0, 30_000);
    const traces = await sendFile(file, [a, b], batch);
    await settled(a, [a, b], traces);
    const fromFile = (await analyzeFiles({ files: [file], skewAdjust: true, filter: {}, outliers: { kind: 'auto' }, top: 20 })).report;
    const api = `http://${a.addresses.api ?? ''}`;
    const { endpoints } = await getJson<{ endpoints: ReportEndpoint[] }>(`${api}/api/endpoints`);
    expect(endpoints).toEqual(fromFile.endpoints);
    // Every trace of the shop sample; a spread of 200 of the big one (each costs a PostgreSQL read).
    const all = fromFile.traces;
    const step = Math.max(1, Math.floor(all.length / 200));
    for (let i = 0; i < all.length; i += step) {
      const t = all[i];
      if (!t) continue;
      const detail = await getJson<Omit<ReportTrace, 'spans'> & { spans: unknown[] }>(`${api}/api/traces/${t.traceId}`);
      expect(pathOf(detail)).toEqual(pathOf(t));
    }
  }

  it('the shop sample', async () => {
    await check(join(ROOT, 'samples/shop.otlp.jsonl'), 50);
  }, 120_000);

  it('a generated load of 100k spans', async () => {
    const file = join(tmp, 'load.otlp.jsonl');
    execFileSync(process.execPath, [join(ROOT, 'dist/samples/generate-big.js'), '--spans', '100000', '--out', file]);
    await check(file, 512);
  }, 300_000);
});
