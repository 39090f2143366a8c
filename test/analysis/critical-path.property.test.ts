// Invariants of the span-level walk on random trees (critical-path.md section 1): sections
// partition the root's window exactly, never overlap, each is blamed on a span whose final
// window contains it, and the walk terminates on deep and wide traces without recursion.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { analyzeTrace } from '../../analysis/trace-analysis.js';
import { detectGranularity } from '../../analysis/granularity.js';
import { BASE_NS, TRACE_ID, buildTrace } from '../helpers/trace-dsl.js';

interface RawSpan {
  parent: number; // index of an earlier span, or -1
  start: number;
  dur: number;
  host: number;
  kind: number;
}

const KINDS = ['internal', 'server', 'client', 'producer', 'consumer'] as const;

/** granularity 0: mixed, by host (h0 whole ms, h1 whole µs, h2 odd ns), so ε differs among siblings. */
function toSpans(raw: RawSpan[], granularity: number): SpanInput[] {
  const resources = new ResourceInterner();
  return raw.map((r, i) => {
    const host = `h${r.host}`;
    const g = granularity > 0 ? granularity : r.host === 0 ? 1_000_000 : 1000;
    const start = BASE_NS + BigInt(r.start * g) + (granularity === 0 && r.host === 2 ? 7n : 0n);
    return {
      traceId: TRACE_ID,
      spanId: (i + 1).toString(16).padStart(16, '0'),
      ...(r.parent >= 0 ? { parentSpanId: (r.parent + 1).toString(16).padStart(16, '0') } : {}),
      name: `op${i % 5}`,
      kind: KINDS[r.kind % KINDS.length] ?? 'internal',
      startNs: start,
      endNs: start + BigInt(r.dur * g),
      status: 'unset',
      attributes: {},
      resource: resources.intern({ 'service.name': host, 'host.name': host }),
      source: { file: 'gen', line: i + 1 },
    };
  });
}

const rawTree = fc
  .array(fc.record({ parentPick: fc.nat(), start: fc.integer({ min: 0, max: 1000 }), dur: fc.integer({ min: 0, max: 500 }), host: fc.integer({ min: 0, max: 2 }), kind: fc.nat(4) }), { minLength: 1, maxLength: 60 })
  .map((xs) => xs.map((x, i): RawSpan => ({ parent: i === 0 ? -1 : x.parentPick % (i + 1) === i ? -1 : x.parentPick % i, start: x.start, dur: x.dur, host: x.host, kind: x.kind })));

function checkInvariants(spans: SpanInput[], opts: { skewAdjust: boolean; tol?: number }): void {
  const diag = new Diagnostics();
  const trace = buildTrace(spans, diag);
  const a = analyzeTrace(trace, { skewAdjust: opts.skewAdjust, granularity: detectGranularity([trace]), ...(opts.tol !== undefined ? { overlapToleranceNs: opts.tol } : {}) }, diag);
  if (!a) throw new Error('no root');
  const roots = [{ root: a.root, path: a.path }, ...a.otherRoots];
  for (const { root, path } of roots) {
    const ws = a.prepared.ws[root] ?? 0;
    const we = a.prepared.we[root] ?? 0;
    let cursor = ws;
    let sum = 0;
    for (const s of path) {
      expect(s.start).toBe(cursor); // contiguous, no gap, no overlap
      expect(s.end).toBeGreaterThan(s.start);
      expect(Number.isInteger(s.start) && Number.isInteger(s.end)).toBe(true);
      // blamed on an eligible span whose final window contains the section
      expect(a.prepared.eligible[s.span]).toBe(1);
      expect(s.start).toBeGreaterThanOrEqual(a.prepared.ws[s.span] ?? 0);
      expect(s.end).toBeLessThanOrEqual(a.prepared.we[s.span] ?? 0);
      sum += s.end - s.start;
      cursor = s.end;
    }
    if (path.length > 0) expect(cursor).toBe(we);
    expect(sum).toBe(we - ws);
  }
  // Adjacent sections of one span are merged.
  for (let i = 1; i < a.path.length; i++) expect(a.path[i]?.span).not.toBe(a.path[i - 1]?.span);
}

describe('critical path invariants on random trees', () => {
  it('sections cover each root exactly and sum to its duration (strict)', () => {
    fc.assert(fc.property(rawTree, (raw) => checkInvariants(toSpans(raw, 1000), { skewAdjust: true, tol: 0 })), { numRuns: 400 });
  });
  it('... with detected 1 ms granularity', () => {
    fc.assert(fc.property(rawTree, (raw) => checkInvariants(toSpans(raw, 1_000_000), { skewAdjust: true })), { numRuns: 400 });
  });
  it('... with ε differing between siblings (ms, µs and ns hosts)', () => {
    fc.assert(fc.property(rawTree, (raw) => checkInvariants(toSpans(raw, 0), { skewAdjust: true })), { numRuns: 400 });
  });
  it('... with a large overlap tolerance and without skew adjustment', () => {
    fc.assert(fc.property(rawTree, (raw) => checkInvariants(toSpans(raw, 1000), { skewAdjust: false, tol: 50_000 })), { numRuns: 400 });
  });
});

describe('critical path on huge shapes (iterative, no stack overflow)', () => {
  it('a 100k-deep chain', () => {
    const n = 100_000;
    const raw: RawSpan[] = [];
    for (let i = 0; i < n; i++) raw.push({ parent: i - 1, start: i, dur: 2 * (n - i), host: 0, kind: 0 });
    const spans = toSpans(raw, 1000);
    const trace = buildTrace(spans);
    const a = analyzeTrace(trace, { skewAdjust: true, granularity: new Map(), overlapToleranceNs: 0 }, new Diagnostics());
    // Each span i covers [i, 2n - i): the path goes down the chain and back up: 2n - 1 sections.
    expect(a?.path.length).toBe(2 * n - 1);
    expect(a?.path.reduce((s, x) => s + (x.end - x.start), 0)).toBe(2 * n * 1000);
  });

  it('one span with 100k back-to-back children: all on the path', () => {
    const n = 100_000;
    const raw: RawSpan[] = [{ parent: -1, start: 0, dur: n + 2, host: 0, kind: 0 }];
    for (let i = 0; i < n; i++) raw.push({ parent: 0, start: i + 1, dur: 1, host: 0, kind: 0 });
    const trace = buildTrace(toSpans(raw, 1000));
    const a = analyzeTrace(trace, { skewAdjust: true, granularity: new Map(), overlapToleranceNs: 0 }, new Diagnostics());
    expect(a?.path.length).toBe(n + 2);
    expect(a?.path[1]?.span).toBe(1);
  });

  it('one span with 100k overlapping children and a tolerance wider than each (no quadratic rescans)', () => {
    const n = 100_000;
    const raw: RawSpan[] = [{ parent: -1, start: 0, dur: 10 * n, host: 0, kind: 0 }];
    for (let i = 0; i < n; i++) raw.push({ parent: 0, start: 5 * i, dur: 3, host: 0, kind: 0 });
    const trace = buildTrace(toSpans(raw, 1000));
    const a = analyzeTrace(trace, { skewAdjust: true, granularity: new Map(), overlapToleranceNs: 10_000 }, new Diagnostics());
    expect(a?.path.reduce((s, x) => s + (x.end - x.start), 0)).toBe(10 * n * 1000);
  });
});
