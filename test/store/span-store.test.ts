// The span store: what goes in comes out exactly (times to the nanosecond, 64-bit attributes,
// links, follows-from), resends are stored once, the trace list pages newest first, retention
// removes whole traces, and a store reopened sees everything committed before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRetention } from '../../src/server/retention.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { SpanStore } from '../../src/store/span-store.js';
import { componentKey } from '../../analysis/endpoints.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpath-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const resources = new ResourceInterner();
const front = resources.intern({ 'service.name': 'frontend', 'host.name': 'h1', 'process.pid': 42 });

function span(traceId: string, spanId: string, over: Partial<SpanInput> = {}): SpanInput {
  return {
    traceId,
    spanId,
    name: 'GET /x',
    kind: 'server',
    startNs: 1_795_168_916_349_000_123n,
    endNs: 1_795_168_916_449_000_456n,
    status: 'unset',
    attributes: {},
    resource: front,
    source: { file: 'test' },
    ...over,
  };
}

const T1 = '0af7651916cd43dd8448eb211c80319c';
const T2 = '1af7651916cd43dd8448eb211c80319c';

describe('span store', () => {
  it('round-trips every field exactly', () => {
    const store = SpanStore.open(dir, 'batch');
    const s = span(T1, '00f067aa0ba902b7', {
      parentSpanId: '10f067aa0ba902b7',
      parentRef: 'follows-from',
      kind: 'consumer',
      status: 'error',
      statusMessage: 'boom',
      attributes: { 'http.status_code': 500, big: 9_007_199_254_740_993n, ok: true, list: ['a', 1], nested: { k: 'v' } },
      links: [{ traceId: T2, spanId: '20f067aa0ba902b7' }],
    });
    store.append([{ spans: [s], receivedNs: 1n }]);
    store.close();
    const again = SpanStore.openReadOnly(dir);
    const [back] = again.spansOfTrace(T1, new ResourceInterner());
    again.close();
    expect(back).toMatchObject({
      traceId: T1,
      spanId: '00f067aa0ba902b7',
      parentSpanId: '10f067aa0ba902b7',
      parentRef: 'follows-from',
      kind: 'consumer',
      status: 'error',
      statusMessage: 'boom',
      startNs: 1_795_168_916_349_000_123n,
      endNs: 1_795_168_916_449_000_456n,
      links: [{ traceId: T2, spanId: '20f067aa0ba902b7' }],
    });
    // 64-bit integers beyond 2^53 come back as their exact decimal text.
    expect(back?.attributes).toEqual({ 'http.status_code': 500, big: '9007199254740993', ok: true, list: ['a', 1], nested: { k: 'v' } });
    expect(back?.resource.service).toBe('frontend');
    expect(back?.resource.host).toBe('h1');
    expect(back?.resource.pid).toBe(42);
  });

  it('stores a resent span once and marks its trace for analysis', () => {
    const store = SpanStore.open(dir, 'always');
    const touched = store.append([
      { spans: [span(T1, '00f067aa0ba902b7'), span(T1, '00f067aa0ba902b8')], receivedNs: 1n },
      { spans: [span(T1, '00f067aa0ba902b7')], receivedNs: 2n },
    ]);
    expect([...touched]).toEqual([T1]);
    expect(store.counts()).toEqual({ traces: 1, spans: 2 });
    expect(store.dirtyTraces()).toEqual([T1]);
    store.close();
  });

  it("keeps its span and trace counts exact as it writes and deletes, and widens a trace's time range", () => {
    const store = SpanStore.open(dir, 'batch');
    expect(store.counts()).toEqual({ traces: 0, spans: 0 });
    const late = { startNs: 1_795_168_999_000_000_000n, endNs: 1_795_168_999_500_000_000n };
    store.append([
      { spans: [span(T1, '00f067aa0ba902b7'), span(T1, '00f067aa0ba902b8')], receivedNs: 1n },
      // A resend, a new span of a known trace (later than the rest), a new trace.
      { spans: [span(T1, '00f067aa0ba902b7'), span(T1, '00f067aa0ba902b9', late), span(T2, '00f067aa0ba902b7')], receivedNs: 2n },
    ]);
    store.append([{ spans: [span(T2, '00f067aa0ba902b7')], receivedNs: 3n }]);
    expect(store.counts()).toEqual({ traces: 2, spans: 4 });
    // The late span moved T1's end: a window after the first spans still finds the trace.
    const inWindow = [...store.iterateSpans(new ResourceInterner(), late.startNs)].map((x) => x.spanId);
    expect(inWindow).toContain('00f067aa0ba902b9');
    store.deleteTraces([T1, 'ffffffffffffffffffffffffffffffff']);
    expect(store.counts()).toEqual({ traces: 1, spans: 1 });
    store.append([{ spans: [span(T1, '00f067aa0ba902b7')], receivedNs: 4n }]);
    expect(store.counts()).toEqual({ traces: 2, spans: 2 });
    // A fresh count agrees.
    const reader = SpanStore.openReadOnly(dir);
    expect(reader.counts()).toEqual(store.counts());
    reader.close();
    store.close();
  });

  it('pages the analysed traces newest first with a cursor', () => {
    const store = SpanStore.open(dir, 'batch');
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const id = (i + 1).toString(16).padStart(32, '0');
      ids.push(id);
      store.append([{ spans: [span(id, '00f067aa0ba902b7')], receivedNs: BigInt(i) }]);
      // Traces 10..14 share a start time: the cursor must still not repeat or skip one.
      const startNs = 1000n + BigInt(i >= 10 && i < 15 ? 10 : i);
      store.saveAnalysis({ summary: { traceId: id, service: 'frontend', operation: i % 2 ? 'GET /a' : 'GET /b', startNs, durationNs: i * 1000, components: new Map() }, spans: 1, errors: 0 });
    }
    const seen: string[] = [];
    let cursor: { startNs: bigint; traceId: string } | undefined;
    for (let page = 0; page < 10; page++) {
      const r = store.listTraces({ limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...r.traces.map((t) => t.traceId));
      cursor = r.next;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    const starts = seen.map((id) => 1000 + (ids.indexOf(id) >= 10 && ids.indexOf(id) < 15 ? 10 : ids.indexOf(id)));
    expect([...starts].sort((a, b) => b - a)).toEqual(starts);
    const slowB = store.listTraces({ limit: 100, operation: 'GET /b', minDurationNs: 20_000 });
    expect(slowB.traces.map((t) => t.durationNs)).toEqual([24_000, 22_000, 20_000]);
    expect(store.dirtyTraces()).toEqual([]);
    store.close();
  });

  it('restores analyses with their components', () => {
    const store = SpanStore.open(dir, 'batch');
    store.append([{ spans: [span(T1, '00f067aa0ba902b7')], receivedNs: 1n }]);
    const components = new Map([[componentKey('frontend', 'GET /x'), { service: 'frontend', operation: 'GET /x', ns: 100, errors: 1 }]]);
    store.saveAnalysis({ summary: { traceId: T1, service: 'frontend', operation: 'GET /x', startNs: 5n, durationNs: 100, components }, spans: 1, errors: 1 });
    store.close();
    const again = SpanStore.open(dir, 'batch');
    const [t] = [...again.summaries()];
    again.close();
    expect(t?.summary).toEqual({ traceId: T1, service: 'frontend', operation: 'GET /x', startNs: 5n, durationNs: 100, components });
    expect(t?.errors).toBe(1);
  });

  it('retention deletes whole traces, oldest first, by age and by size', async () => {
    const store = SpanStore.open(dir, 'batch');
    const now = BigInt(Date.now()) * 1_000_000n;
    const old = now - 10n * 86_400_000_000_000n;
    store.append([{ spans: [span(T1, '00f067aa0ba902b7'), span(T1, '00f067aa0ba902b8')], receivedNs: old }]);
    store.append([{ spans: [span(T2, '00f067aa0ba902b7')], receivedNs: now }]);
    const forgotten: string[] = [];
    const r = await applyRetention(store, { maxAgeNs: 7 * 86_400e9 }, (ids) => forgotten.push(...ids));
    expect(r.deleted).toBe(1);
    expect(forgotten).toEqual([T1]);
    expect(store.counts()).toEqual({ traces: 1, spans: 1 });

    // Fill with big attributes, then cap the size: the oldest traces go until it fits.
    const pad = 'x'.repeat(2000);
    for (let i = 0; i < 300; i++) {
      const id = (i + 100).toString(16).padStart(32, '0');
      store.append([{ spans: [span(id, '00f067aa0ba902b7', { attributes: { pad } })], receivedNs: now + 1n + BigInt(i) }]);
    }
    const before = store.usedBytes();
    const limit = Math.floor(before / 2);
    const gone: string[] = [];
    const r2 = await applyRetention(store, { maxBytes: limit }, (ids) => gone.push(...ids));
    expect(r2.usedBytes).toBeLessThanOrEqual(limit);
    expect(gone[0]).toBe(T2);
    expect(store.spansOfTrace((399).toString(16).padStart(32, '0'), resources)).toHaveLength(1);
    store.close();
  });

  it('refuses a file of another schema with a clear message', () => {
    const store = SpanStore.open(dir, 'batch');
    store.close();
    expect(() => SpanStore.openReadOnly(join(dir, 'nope'))).toThrow(/cannot open the store/);
  });
});
