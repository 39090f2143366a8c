// The thread-level analysis end to end on the committed recordings (samples/threads/, see
// handoff.expected.md): thread-only root calls, and spans decomposed into threads.
import { describe, expect, it } from 'vitest';
import { analyzeFiles, type AnalyzeOptions } from '../../src/pipeline/analyze.js';
import type { ReportTrace } from '../../src/report/types.js';

const base: AnalyzeOptions = { files: [], skewAdjust: true, filter: {}, outliers: { kind: 'auto' }, top: 20 };
const HANDOFF = 'samples/threads/handoff.events.log.gz';
const POOL_SPANS = 'samples/threads/node-pool.otlp.jsonl';
const POOL_EVENTS = 'samples/threads/node-pool.events.log.gz';

const sum = (t: ReportTrace): number => t.criticalPath.reduce((n, s) => n + s.durationNs, 0);

describe('thread-only analysis of the handoff recording', () => {
  it('blames each serve_order call on the chain of handoff.expected.md', async () => {
    const { report } = await analyzeFiles({ ...base, files: [HANDOFF], rootFunction: 'serve_order' });
    expect(report.input.spans).toBe(0);
    expect(report.traces).toHaveLength(20);
    const [e] = report.endpoints;
    expect(e?.operation).toBe('serve_order');
    const top = e?.criticalPath.slice(0, 4).map((c) => `${c.thread} ${c.operation} ${c.state}`);
    expect(top).toEqual(['db-pool query sleeping', 'db-pool encode_row running', 'worker validate running', 'acceptor serve_order running']);
    // ~30 ms timer sleep, ~9 ms and ~7 ms of CPU, ~1 ms on the acceptor (per call, median).
    expect(e?.criticalPath[0]?.selfNs.p50).toBeGreaterThan(29e6);
    expect(e?.criticalPath[0]?.selfNs.p50).toBeLessThan(32e6);
    expect(e?.waits?.[0]?.reason).toBe('timer');
    for (const t of report.traces) {
      // Every instant of the call is blamed once.
      expect(sum(t)).toBe(t.durationNs);
      expect(t.traceId).toMatch(/^\d+-\d+-\d+$/);
      for (const s of t.criticalPath) {
        expect(s.spanId).toBeUndefined();
        expect(s.thread?.comm).toBeDefined();
        if (s.state === 'sleeping' || s.state === 'blocked') expect(s.wait).toBeDefined();
      }
      // The timer sleep of db-pool in query is on every call's path.
      expect(t.criticalPath.some((s) => s.thread?.comm === 'db-pool' && s.function === 'query' && s.wait?.reason === 'timer' && s.durationNs > 29e6)).toBe(true);
    }
  });
});

describe('spans and threads together (node-pool)', () => {
  it('splits span sections into threads without changing the span-level answer', async () => {
    const plain = await analyzeFiles({ ...base, files: [POOL_SPANS] });
    const merged = await analyzeFiles({ ...base, files: [POOL_SPANS], threads: [POOL_EVENTS] });
    expect(merged.report.endpoints).toEqual(plain.report.endpoints);
    expect(merged.report.input.threads?.logs).toBe(1);
    const byId = new Map(plain.report.traces.map((t) => [t.traceId, t]));
    let onWorker = 0;
    for (const t of merged.report.traces) {
      const p = byId.get(t.traceId);
      expect(p).toBeDefined();
      expect(sum(t)).toBe(t.durationNs);
      // Each span section is covered exactly by its sub-sections, which keep the span's id.
      for (const ps of p?.criticalPath ?? []) {
        const subs = t.criticalPath.filter((s) => s.spanId === ps.spanId && BigInt(s.startUnixNano) >= BigInt(ps.startUnixNano) && BigInt(s.startUnixNano) < BigInt(ps.startUnixNano) + BigInt(ps.durationNs));
        expect(subs.reduce((n, s) => n + s.durationNs, 0)).toBe(ps.durationNs);
        for (const s of subs) expect(s.thread).toBeDefined();
      }
      onWorker += t.criticalPath.filter((s) => s.thread && s.thread.tid !== s.thread.pid).length;
    }
    // Requests waited on the libuv pool: the path descends into worker threads.
    expect(onWorker).toBeGreaterThan(0);
    expect(merged.report.diagnostics.some((d) => d.code === 'thread_shared')).toBe(true);
  });
});
