// What `cpath serve` acknowledges survives: the BUILT CLI runs as a child process, senders post
// 50-span protobuf requests, and the server is killed with SIGKILL mid-stream (three times, at
// different moments, on one store) or stopped with SIGTERM. Every request answered 200 must
// then be in the store with all of its spans, no trace may be half-stored (one request is one
// transaction), and after a restart the aggregates count the traces analysed before the stop.
// The CLI runs from dist/: `npm test` runs tsc before vitest.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ResourceInterner } from '../../src/model/span.js';
import type { ReportEndpoint, ReportTraceDetail } from '../../src/report/types.js';
import { SpanStore } from '../../src/store/span-store.js';
import { startServeCli, type ServeCli } from '../helpers/serve-cli.js';
import { T0, getJson, postOtlp, protoRequest, spanIdFor, traceIdFor, until, type ProtoSpan } from '../helpers/serve-harness.js';

const SPANS_PER_REQUEST = 50;
const SENDERS = 4;

type Cli = ServeCli;

const running = new Set<ChildProcess>();
afterEach(() => {
  // A failed test must not leave a server behind (only processes this file started).
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  running.clear();
});

/** `node bin/cpath.js serve` on port 0; resolves once it printed its bound addresses. */
/** `cpath serve` as a separate process, killed after each test if still running. */
async function startCli(dir: string, extra: readonly string[] = []): Promise<Cli> {
  const cli = await startServeCli(dir, extra);
  running.add(cli.child);
  return cli;
}

/** One request: a trace of 50 spans (a root and 49 children) of service "loader". */
let nextTrace = 0;
function traceRequest(salt: number): { traceId: string; body: Buffer } {
  const n = nextTrace++;
  const traceId = traceIdFor(salt, n);
  const start = T0 + BigInt(n) * 1_000_000n;
  const root: ProtoSpan = { traceId, spanId: spanIdFor(0), name: 'GET /durable', kind: 2, startNs: start, endNs: start + 10_000_000n };
  const children: ProtoSpan[] = Array.from({ length: SPANS_PER_REQUEST - 1 }, (_, i) => ({
    traceId,
    spanId: spanIdFor(i + 1),
    parentSpanId: root.spanId,
    name: `step ${i}`,
    kind: 1,
    startNs: start + BigInt(i) * 100_000n,
    endNs: start + BigInt(i) * 100_000n + 90_000n,
    attributes: { 'step.index': String(i) },
  }));
  return { traceId, body: protoRequest({ loader: [root, ...children] }) };
}

interface SendLoop {
  /** Trace ids of the requests answered 200. */
  readonly acked: string[];
  /** Requests that failed (connection refused or reset: not acknowledged). */
  failed: number;
  /** Non-200 answers (must not happen here). */
  readonly otherStatus: number[];
  stop(): Promise<void>;
}

/** SENDERS concurrent loops posting one trace per request until stopped or the server is gone. */
function sendLoop(otlp: string, salt: number): SendLoop {
  const loop: SendLoop = { acked: [], failed: 0, otherStatus: [], stop: async () => {} };
  let stopping = false;
  const one = async (): Promise<void> => {
    while (!stopping) {
      const { traceId, body } = traceRequest(salt);
      try {
        const r = await postOtlp(otlp, body, 'application/x-protobuf');
        if (r.status === 200) loop.acked.push(traceId);
        else loop.otherStatus.push(r.status);
      } catch {
        loop.failed++;
        // The server is gone (or going): a few more attempts prove nothing more.
        if (loop.failed >= 3 * SENDERS) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  const all = Promise.all(Array.from({ length: SENDERS }, one));
  loop.stop = async () => {
    stopping = true;
    await all;
  };
  return loop;
}

/** Every acknowledged trace has all its spans; every stored trace is whole. */
function checkStore(dir: string, acked: readonly string[]): { traces: number; spans: number } {
  const store = SpanStore.openReadOnly(dir);
  try {
    const resources = new ResourceInterner();
    const missing: string[] = [];
    for (const id of acked) {
      const n = store.spansOfTrace(id, resources).length;
      if (n !== SPANS_PER_REQUEST) missing.push(`${id}: ${n} spans`);
    }
    expect(missing, `acknowledged traces not (fully) stored, of ${acked.length}`).toEqual([]);
    const counts = store.counts();
    expect(counts.traces).toBeGreaterThanOrEqual(acked.length);
    // One request is one transaction: no trace is stored in part.
    expect(counts.spans).toBe(counts.traces * SPANS_PER_REQUEST);
    return counts;
  } finally {
    store.close();
  }
}

/** Deterministic kill moments in 300..1500 ms (a fixed-seed LCG, so that runs are repeatable). */
function killTimes(n: number, seed: number): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    out.push(300 + (x % 1201));
  }
  return out;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpath-durable-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cpath serve durability (built CLI)', () => {
  it('keeps every acknowledged span across three kill -9s mid-stream', async () => {
    const store = join(dir, 'kill');
    const acked: string[] = [];
    const times = killTimes(3, 20261126);
    const rounds: string[] = [];
    for (const [round, ms] of times.entries()) {
      const cli = await startCli(store, ['--trace-idle', '100ms']);
      // What earlier rounds had acknowledged is there after the restart, through the API too.
      if (acked.length > 0) {
        const first = await getJson<ReportTraceDetail>(`${cli.api}/api/traces/${acked[0]}`);
        expect(first.status).toBe(200);
        expect(first.body.spans).toHaveLength(SPANS_PER_REQUEST);
        const last = await getJson<ReportTraceDetail>(`${cli.api}/api/traces/${acked[acked.length - 1]}`);
        expect(last.body.spans).toHaveLength(SPANS_PER_REQUEST);
      }
      const loop = sendLoop(cli.otlp, 0xd0 + round);
      await new Promise((r) => setTimeout(r, ms));
      const ackedAtKill = loop.acked.length;
      cli.child.kill('SIGKILL');
      expect(await cli.exited).toEqual({ code: null, signal: 'SIGKILL' });
      await loop.stop();
      expect(loop.otherStatus).toEqual([]);
      // It was really mid-stream: requests had been acknowledged, and requests were cut off.
      expect(ackedAtKill).toBeGreaterThan(0);
      expect(loop.failed).toBeGreaterThan(0);
      acked.push(...loop.acked);
      rounds.push(`kill at ${ms} ms: ${loop.acked.length} acknowledged, ${loop.failed} failed`);
    }
    // Restart once more: the store recovers, and everything acknowledged is in it.
    const cli = await startCli(store, ['--trace-idle', '100ms']);
    const counts = checkStore(store, acked);
    expect(counts.traces - acked.length, `stored but never acknowledged (${rounds.join('; ')})`).toBeLessThanOrEqual(3 * SENDERS);
    const sample = await getJson<ReportTraceDetail>(`${cli.api}/api/traces/${acked[Math.floor(acked.length / 2)]}`);
    expect(sample.body.spans).toHaveLength(SPANS_PER_REQUEST);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it('stops gracefully on SIGTERM mid-stream: exit 0, every acknowledged span kept, aggregates rebuilt after restart', async () => {
    const store = join(dir, 'term');
    const endpoint = async (api: string): Promise<ReportEndpoint | undefined> => {
      const r = await getJson<{ endpoints: ReportEndpoint[] }>(`${api}/api/endpoints`);
      expect(r.status).toBe(200);
      return r.body.endpoints.find((e) => e.service === 'loader' && e.operation === 'GET /durable');
    };
    const cli = await startCli(store, ['--trace-idle', '50ms']);
    // 20 traces analysed before the stop.
    const early: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { traceId, body } = traceRequest(0xe0);
      expect((await postOtlp(cli.otlp, body, 'application/x-protobuf')).status).toBe(200);
      early.push(traceId);
    }
    await until('20 traces analysed', async () => ((await endpoint(cli.api))?.traces === 20 ? true : undefined));

    const loop = sendLoop(cli.otlp, 0xe1);
    await new Promise((r) => setTimeout(r, 600));
    const analysedBeforeStop = (await endpoint(cli.api))?.traces ?? 0;
    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    await loop.stop();
    expect(exit, cli.stderr()).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toMatch(/SIGTERM: stopping/);
    expect(cli.stderr()).toMatch(/stopped/);
    expect(loop.otherStatus).toEqual([]);
    expect(loop.acked.length).toBeGreaterThan(0);
    const acked = [...early, ...loop.acked];
    const counts = checkStore(store, acked);

    // Restart with a long quiet window: nothing is re-analysed yet, so what /api/endpoints
    // counts at once comes from the analyses stored before the stop.
    const again = await startCli(store, ['--trace-idle', '3s']);
    try {
      expect(again.stderr()).toMatch(/analysed traces restored/);
      const restored = await endpoint(again.api);
      expect(restored?.traces).toBeGreaterThanOrEqual(Math.max(20, analysedBeforeStop));
      // Then the traces left unanalysed by the stop are analysed too: every stored trace counts once.
      await until('every stored trace analysed', async () => ((await endpoint(again.api))?.traces === counts.traces ? true : undefined), 15_000, 100);
      expect(counts.traces).toBeGreaterThanOrEqual(acked.length);
      const listed = new Map<string, number>();
      for (let cursor: string | undefined, pages = 0; pages === 0 || cursor; pages++) {
        const page: { body: { traces: { traceId: string; spans: number }[]; next?: string } } = await getJson(`${again.api}/api/traces?service=loader&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        for (const t of page.body.traces) listed.set(t.traceId, t.spans);
        cursor = page.body.next;
      }
      expect(listed.size).toBe(counts.traces);
      for (const id of early) expect(listed.get(id), id).toBe(SPANS_PER_REQUEST);
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exited).toEqual({ code: 0, signal: null });
    }
  });
});
