// Builds the pieces of `PageData` (page-types.ts) that the HTML report and the live page share:
// trace summaries in columns, percentile curves from the HDR histograms, call-path flame trees.
import * as hdr from 'hdr-histogram-js';
import type { PageCurve, PageFlame, PageTraceSummaries } from './page-types.js';

/** What a heat map needs of one trace. */
export interface SummaryInput {
  readonly traceId: string;
  readonly service: string;
  readonly operation: string;
  readonly startNs: bigint;
  readonly durationNs: number;
}

/** Summaries as columns; `endpoints` fixes the endpoint order (others are appended as met). */
export function summaryColumns(traces: Iterable<SummaryInput>, endpoints: readonly { service: string; operation: string }[]): PageTraceSummaries {
  const list = [...traces];
  let base: bigint | undefined;
  for (const t of list) if (base === undefined || t.startNs < base) base = t.startNs;
  const b = base ?? 0n;
  const eps = endpoints.map((e) => ({ service: e.service, operation: e.operation }));
  const index = new Map<string, number>();
  eps.forEach((e, i) => index.set(`${e.service}\u0000${e.operation}`, i));
  const out: PageTraceSummaries = { baseUnixNano: b.toString(), endpoints: eps, traceId: [], endpoint: [], startOffsetNs: [], durationNs: [] };
  for (const t of list) {
    const k = `${t.service}\u0000${t.operation}`;
    let e = index.get(k);
    if (e === undefined) {
      e = eps.length;
      eps.push({ service: t.service, operation: t.operation });
      index.set(k, e);
    }
    out.traceId.push(t.traceId);
    out.endpoint.push(e);
    out.startOffsetNs.push(Number(t.startNs - b));
    out.durationNs.push(t.durationNs);
  }
  return out;
}

/** Percentiles drawn on the curve: dense where tails live (the x axis is 1/(1-p), log scale). */
const CURVE_POINTS: readonly number[] = (() => {
  const ps: number[] = [];
  for (let p = 0; p < 90; p += 5) ps.push(p);
  // Each decade of nines gets 9 points: 90..99, 99..99.9, ...
  for (let nines = 1; nines <= 5; nines++) {
    const lo = 100 - 10 ** (2 - nines);
    const step = 10 ** (2 - nines) / 10;
    for (let k = 0; k < 10; k++) ps.push(Number((lo + k * step).toFixed(6)));
  }
  ps.push(100);
  return ps;
})();

/** The percentile curve of a histogram written by `aggregateEndpoints` (compressed base64). */
export function percentileCurve(histogramBase64: string): PageCurve {
  const h = hdr.decodeFromCompressedBase64(histogramBase64, 64, false);
  try {
    const n = h.totalCount;
    const percentile: number[] = [];
    const valueNs: number[] = [];
    for (const p of CURVE_POINTS) {
      // Points finer than one trace in n say nothing new.
      if (p > 0 && p < 100 && 100 - p < 100 / Math.max(1, n) / 2) continue;
      percentile.push(p);
      valueNs.push(n === 0 ? 0 : p === 100 ? h.maxValue : h.getValueAtPercentile(p));
    }
    return { percentile, valueNs };
  } finally {
    h.destroy();
  }
}

/** Accumulates critical-path time by call path for one endpoint, outliers apart from the rest. */
export class FlameBuilder {
  private readonly flame: PageFlame = { name: [''], parent: [-1], outlierSelfNs: [0], otherSelfNs: [0], outlierTraces: 0, otherTraces: 0 };
  private readonly childIndex = new Map<string, number>();

  /** One trace's stacks (root frame first) and their path ns. */
  add(stacks: readonly { frames: readonly string[]; ns: number }[], outlier: boolean): void {
    this.countTraces(outlier ? 1 : 0, outlier ? 0 : 1);
    for (const { frames, ns } of stacks) this.addStack(frames, outlier ? ns : 0, outlier ? 0 : ns);
  }

  /** Path ns of one call path, summed over traces already counted with `countTraces`. */
  addStack(frames: readonly string[], outlierNs: number, otherNs: number): void {
    let node = 0;
    for (const f of frames) node = this.child(node, f);
    const fl = this.flame;
    fl.outlierSelfNs[node] = (fl.outlierSelfNs[node] ?? 0) + outlierNs;
    fl.otherSelfNs[node] = (fl.otherSelfNs[node] ?? 0) + otherNs;
  }

  countTraces(outliers: number, others: number): void {
    this.flame.outlierTraces += outliers;
    this.flame.otherTraces += others;
  }

  result(): PageFlame {
    return this.flame;
  }

  private child(parent: number, name: string): number {
    const key = `${parent}\u0000${name}`;
    const hit = this.childIndex.get(key);
    if (hit !== undefined) return hit;
    const f = this.flame;
    const i = f.name.length;
    f.name.push(name);
    f.parent.push(parent);
    f.outlierSelfNs.push(0);
    f.otherSelfNs.push(0);
    this.childIndex.set(key, i);
    return i;
  }
}

/**
 * A differential flame tree from `cpath diff`'s stacks (mean path ns per trace on each side)
 * for the endpoint whose root frame is `rootFrame`: new run as the first group, base second.
 */
export function diffFlame(stacks: readonly { frames: readonly string[]; base: number; new: number }[], rootFrame: string): PageFlame {
  const fb = new FlameBuilder();
  const mine = stacks.filter((s) => s.frames[0] === rootFrame);
  // Each side's values are already per-trace means: one "trace" per side.
  fb.add(mine.map((s) => ({ frames: s.frames, ns: s.new })), true);
  fb.add(mine.map((s) => ({ frames: s.frames, ns: s.base })), false);
  return { ...fb.result(), groups: ['new run', 'base run'] };
}
