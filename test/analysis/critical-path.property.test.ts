// Invariants of the span-level walk on random trees (docs/critical-path.md section 1): sections
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

/**
 * granularity 0: mixed, by host, on a 100 µs grid so that sub-millisecond overlaps are common:
 * h0 starts on whole ms (ε 1 ms), h1 on whole µs off the ms (ε 1 µs), h2 on odd ns (ε none).
 */
function toSpans(raw: RawSpan[], granularity: number): SpanInput[] {
  const resources = new ResourceInterner();
  return raw.map((r, i) => {
    const host = `h${r.host}`;
    let start: bigint;
    let end: bigint;
    if (granularity > 0) {
      start = BASE_NS + BigInt(r.start * granularity);
      end = start + BigInt(r.dur * granularity);
    } else {
      const raw0 = BigInt(r.start * 100_000);
      start = BASE_NS + (r.host === 0 ? (raw0 / 1_000_000n) * 1_000_000n : r.host === 1 ? raw0 + 3_000n : raw0 + 7n);
      end = start + BigInt(r.dur * 100_000) + (r.host === 2 ? 11n : 0n);
    }
    return {
      traceId: TRACE_ID,
      spanId: (i + 1).toString(16).padStart(16, '0'),
      ...(r.parent >= 0 ? { parentSpanId: (r.parent + 1).toString(16).padStart(16, '0') } : {}),
      name: `op${i % 5}`,
      kind: KINDS[r.kind % KINDS.length] ?? 'internal',
      startNs: start,
      endNs: end,
      status: 'unset',
      attributes: {},
      resource: resources.intern({ 'service.name': host, 'host.name': host }),
      source: { file: 'gen', line: i + 1 },
    };
  });
}

// Mostly realistic trees (children inside their parent, often ending close together), with
// some children anywhere, to exercise clipping, async children and skew.
const rawTree = fc
  .array(fc.record({ parentPick: fc.nat(), start: fc.integer({ min: 0, max: 1000 }), dur: fc.integer({ min: 0, max: 500 }), host: fc.integer({ min: 0, max: 2 }), kind: fc.nat(4), nested: fc.integer({ min: 0, max: 9 }) }), { minLength: 1, maxLength: 60 })
  .map((xs) => {
    const out: RawSpan[] = [];
    xs.forEach((x, i) => {
      const parent = i === 0 ? -1 : x.parentPick % (i + 1) === i ? -1 : x.parentPick % i;
      const p = parent >= 0 ? out[parent] : undefined;
      if (p && x.nested < 8 && p.dur > 0) {
        const start = p.start + (x.start % p.dur);
        out.push({ parent, start, dur: 1 + (x.dur % Math.max(1, p.start + p.dur - start + 2)), host: x.host, kind: x.kind });
      } else out.push({ parent, start: x.start, dur: x.dur, host: x.host, kind: x.kind });
    });
    return out;
  });

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

/**
 * The rules of section 1, written as plainly as possible: recursive, quadratic, no clever
 * structures. The engine must produce exactly the same sections on every random tree.
 */
function referencePath(prep: NonNullable<ReturnType<typeof analyzeTrace>>['prepared'], root: number): [number, number, number][] {
  const { ws, we, eps, eligible } = prep;
  const { childOffset, childIndex } = prep.trace;
  const out: [number, number, number][] = [];
  const visited = new Set<number>();
  const emit = (span: number, s: number, e: number): void => {
    const last = out[out.length - 1];
    if (last && last[0] === span && last[1] === e) last[1] = s;
    else out.push([span, s, e]);
  };
  const walk = (p: number, cursor: number, setterEps: number): [number, number] => {
    let c = cursor;
    let g = setterEps;
    for (;;) {
      let best = -1;
      for (let k = childOffset[p] ?? 0; k < (childOffset[p + 1] ?? 0); k++) {
        const x = childIndex[k] ?? 0;
        if (eligible[x] !== 1 || (we[x] ?? 0) <= (ws[x] ?? 0) || visited.has(x)) continue;
        if ((ws[x] ?? 0) >= c || (we[x] ?? 0) > c + Math.max(eps[x] ?? 0, g)) continue;
        const b = best;
        if (b < 0 || (we[x] ?? 0) > (we[b] ?? 0) || (we[x] === we[b] && ((ws[x] ?? 0) < (ws[b] ?? 0) || (ws[x] === ws[b] && x < b)))) best = x;
      }
      if (best < 0) {
        if ((ws[p] ?? 0) < c) emit(p, ws[p] ?? 0, c);
        return [ws[p] ?? 0, eps[p] ?? 0];
      }
      visited.add(best);
      const xe = Math.min(we[best] ?? 0, c);
      if (xe < c) emit(p, xe, c);
      if ((we[best] ?? 0) <= c) g = 0;
      [c, g] = walk(best, xe, g);
    }
  };
  walk(root, we[root] ?? 0, 0);
  return out.reverse();
}

describe('critical path equals a plain reference implementation of the rules', () => {
  const check = (raw: RawSpan[], granularity: number, tol?: number): void => {
    const trace = buildTrace(toSpans(raw, granularity));
    const a = analyzeTrace(trace, { skewAdjust: true, granularity: detectGranularity([trace]), ...(tol !== undefined ? { overlapToleranceNs: tol } : {}) }, new Diagnostics());
    if (!a) throw new Error('no root');
    for (const { root, path } of [{ root: a.root, path: a.path }, ...a.otherRoots]) {
      expect(path.map((s) => [s.span, s.start, s.end])).toEqual(referencePath(a.prepared, root));
    }
  };
  it('strict', () => fc.assert(fc.property(rawTree, (raw) => check(raw, 1000, 0)), { numRuns: 500 }));
  it('detected ms granularity', () => fc.assert(fc.property(rawTree, (raw) => check(raw, 1_000_000)), { numRuns: 500 }));
  it('mixed granularity between siblings', () => fc.assert(fc.property(rawTree, (raw) => check(raw, 0)), { numRuns: 500 }));
  it('a wide tolerance', () => fc.assert(fc.property(rawTree, (raw) => check(raw, 1000, 120_000)), { numRuns: 500 }));
});
