// `cpath diff`: what changed between two runs, on the critical path. Pure: per-trace data of each
// side in (through a builder that keeps only running totals and the durations), the diff model
// out. Per endpoint present on both sides: the latency shift with a Mann-Whitney U test, each
// component's mean path time per trace on each side (zeros included, so the deltas add up to the
// change of the mean latency), components that entered or left the typical path, and call-count
// changes; and the differential call-path stacks (folded output, the HTML flame graphs).
import { componentKey } from './endpoints.js';
import { mannWhitneyU, type MannWhitneyResult } from './mann-whitney.js';
import { nearestRank } from './percentiles.js';

/** One analysed trace, as the diff needs it. */
export interface DiffTraceInput {
  /** Endpoint: the primary root's service and operation. */
  readonly service: string;
  readonly operation: string;
  readonly durationNs: number;
  /** Critical-path time per (service, operation) in this trace; `frame` is its call-path frame name. */
  readonly components: Iterable<{ readonly service: string; readonly operation: string; readonly frame: string; readonly ns: number }>;
  /** Spans per (service, operation) in the trace (all of them, on the path or not). */
  readonly calls: Iterable<{ readonly service: string; readonly operation: string; readonly count: number }>;
  /** Critical-path time by call path: frames from the root down to the span owning the section. */
  readonly stacks: Iterable<{ readonly frames: readonly string[]; readonly ns: number }>;
}

interface Named {
  readonly service: string;
  readonly operation: string;
}

interface EndpointAcc extends Named {
  readonly durations: number[];
  /** Per component key: summed path ns, traces with it on the path, its call-path frame. */
  readonly path: Map<string, Named & { frame: string; total: number; onPath: number }>;
  readonly calls: Map<string, Named & { total: number }>;
  /** Per call path (frames joined by `;`, which frame names never contain): summed path ns. */
  readonly stacks: Map<string, number>;
}

/** One side of a diff, aggregated; built by DiffSideBuilder. */
export interface DiffSide {
  readonly endpoints: ReadonlyMap<string, Readonly<EndpointAcc>>;
  readonly traces: number;
}

/** Accumulates one side's traces: running sums per endpoint, plus each trace's duration (for the test). */
export class DiffSideBuilder {
  private readonly endpoints = new Map<string, EndpointAcc>();
  private traces = 0;
  private built = false;

  add(t: DiffTraceInput): void {
    if (this.built) throw new Error('DiffSideBuilder: add() after build()');
    const ek = componentKey(t.service, t.operation);
    let e = this.endpoints.get(ek);
    if (!e) {
      e = { service: t.service, operation: t.operation, durations: [], path: new Map(), calls: new Map(), stacks: new Map() };
      this.endpoints.set(ek, e);
    }
    this.traces++;
    e.durations.push(t.durationNs);
    for (const c of t.components) {
      const k = componentKey(c.service, c.operation);
      const p = e.path.get(k);
      if (p) {
        p.total += c.ns;
        p.onPath++;
      } else e.path.set(k, { service: c.service, operation: c.operation, frame: c.frame, total: c.ns, onPath: 1 });
    }
    for (const c of t.calls) {
      const k = componentKey(c.service, c.operation);
      const p = e.calls.get(k);
      if (p) p.total += c.count;
      else e.calls.set(k, { service: c.service, operation: c.operation, total: c.count });
    }
    for (const s of t.stacks) {
      if (s.ns <= 0 || s.frames.length === 0) continue;
      const key = s.frames.join(';');
      e.stacks.set(key, (e.stacks.get(key) ?? 0) + s.ns);
    }
  }

  build(): DiffSide {
    this.built = true;
    return { endpoints: this.endpoints, traces: this.traces };
  }
}

export interface DiffSettings {
  /** Significance level of the Mann-Whitney test (p below it). */
  readonly alpha: number;
  /** And the medians must differ by at least this fraction of the base median (with many traces, tiny shifts test significant). */
  readonly minRelativeShift: number;
}

export const DEFAULT_DIFF_SETTINGS: DiffSettings = { alpha: 0.01, minRelativeShift: 0.01 };

export interface SideLatency {
  readonly traces: number;
  readonly latencyNs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** Mean root duration, rounded to integer ns. */
  readonly meanNs: number;
}

export interface ComponentChange extends Named {
  /** Mean path time per trace over all of the side's traces of the endpoint (zeros included), rounded to integer ns. */
  readonly meanPathNsBase: number;
  readonly meanPathNsNew: number;
  /** meanPathNsNew - meanPathNsBase: its share of the change of the endpoint's mean latency. */
  readonly deltaNs: number;
  readonly onPathTracesBase: number;
  readonly onPathTracesNew: number;
  /** On the typical path (more than half of the traces) on the new side only / on the base side only. */
  readonly enteredPath: boolean;
  readonly leftPath: boolean;
  /** Entered: the sibling (same parent call path) that left the path, which it was hidden behind before. Left: the sibling that entered, which now hides it. */
  readonly swappedWith?: Named;
}

export interface StructureChange extends Named {
  /** Spans of this (service, operation) per trace of the endpoint, on each side (0: absent). */
  readonly callsPerTraceBase: number;
  readonly callsPerTraceNew: number;
}

export interface EndpointDiff extends Named {
  readonly base: SideLatency;
  readonly new: SideLatency;
  readonly test: MannWhitneyResult;
  readonly significant: boolean;
  /** Sorted by |deltaNs|, largest first. */
  readonly changes: readonly ComponentChange[];
  /** Operations whose calls per trace changed (appeared: base 0; disappeared: new 0), largest change first. */
  readonly structure: readonly StructureChange[];
}

/** One call path of the differential flame graph: mean critical-path ns per trace of its endpoint on each side. */
export interface DiffStack {
  readonly frames: readonly string[];
  readonly base: number;
  readonly new: number;
}

export interface DiffModel {
  /** Endpoints on both sides, by total trace count (largest first), then name. */
  readonly endpoints: readonly EndpointDiff[];
  readonly onlyInBase: readonly (Named & { readonly traces: number })[];
  readonly onlyInNew: readonly (Named & { readonly traces: number })[];
  readonly settings: DiffSettings;
}

export function computeDiff(base: DiffSide, next: DiffSide, settings: DiffSettings = DEFAULT_DIFF_SETTINGS): DiffModel {
  const endpoints: EndpointDiff[] = [];
  const onlyInBase: (Named & { traces: number })[] = [];
  const onlyInNew: (Named & { traces: number })[] = [];
  for (const [k, b] of base.endpoints) {
    const n = next.endpoints.get(k);
    if (n) endpoints.push(endpointDiff(b, n, settings));
    else onlyInBase.push({ service: b.service, operation: b.operation, traces: b.durations.length });
  }
  for (const [k, n] of next.endpoints) if (!base.endpoints.has(k)) onlyInNew.push({ service: n.service, operation: n.operation, traces: n.durations.length });
  endpoints.sort((a, b) => b.base.traces + b.new.traces - (a.base.traces + a.new.traces) || byName(a, b));
  const byTraces = (a: Named & { traces: number }, b: Named & { traces: number }): number => b.traces - a.traces || byName(a, b);
  onlyInBase.sort(byTraces);
  onlyInNew.sort(byTraces);
  return { endpoints, onlyInBase, onlyInNew, settings };
}

function endpointDiff(b: EndpointAcc, n: EndpointAcc, settings: DiffSettings): EndpointDiff {
  const bl = sideLatency(b.durations);
  const nl = sideLatency(n.durations);
  const test = mannWhitneyU(b.durations, n.durations);
  const shift = Math.abs(nl.latencyNs.p50 - bl.latencyNs.p50);
  const significant = test.pValue < settings.alpha && shift > 0 && shift >= settings.minRelativeShift * bl.latencyNs.p50;

  const nb = b.durations.length;
  const nn = n.durations.length;
  const keys = new Set([...b.path.keys(), ...n.path.keys()]);
  const rows: (ComponentChange & { frame: string })[] = [];
  for (const k of keys) {
    const pb = b.path.get(k);
    const pn = n.path.get(k);
    const named = pb ?? pn;
    if (!named) continue;
    const meanPathNsBase = pb ? Math.round(pb.total / nb) : 0;
    const meanPathNsNew = pn ? Math.round(pn.total / nn) : 0;
    const onB = pb?.onPath ?? 0;
    const onN = pn?.onPath ?? 0;
    const typicalB = 2 * onB > nb;
    const typicalN = 2 * onN > nn;
    rows.push({
      service: named.service,
      operation: named.operation,
      frame: named.frame,
      meanPathNsBase,
      meanPathNsNew,
      deltaNs: meanPathNsNew - meanPathNsBase,
      onPathTracesBase: onB,
      onPathTracesNew: onN,
      enteredPath: typicalN && !typicalB,
      leftPath: typicalB && !typicalN,
    });
  }
  // A branch that entered the path usually did so by outlasting a sibling that then left it:
  // pair each with the sibling (same parent call path on either side) that moved the most.
  const pb = parentPaths(b.stacks);
  const pn = parentPaths(n.stacks);
  const parentsOf = (frame: string): Set<string> => new Set([...(pb.get(frame) ?? []), ...(pn.get(frame) ?? [])]);
  const siblings = (x: { frame: string }, y: { frame: string }): boolean => {
    const px = parentsOf(x.frame);
    for (const p of parentsOf(y.frame)) if (px.has(p)) return true;
    return false;
  };
  const changes: ComponentChange[] = rows.map((r) => {
    const { frame: _frame, ...row } = r;
    if (!r.enteredPath && !r.leftPath) return row;
    let best: (typeof rows)[number] | undefined;
    for (const o of rows) {
      if (o === r || (r.enteredPath ? !o.leftPath : !o.enteredPath) || !siblings(r, o)) continue;
      if (!best || Math.abs(o.deltaNs) > Math.abs(best.deltaNs) || (Math.abs(o.deltaNs) === Math.abs(best.deltaNs) && byName(o, best) < 0)) best = o;
    }
    return best ? { ...row, swappedWith: { service: best.service, operation: best.operation } } : row;
  });
  changes.sort((x, y) => Math.abs(y.deltaNs) - Math.abs(x.deltaNs) || byName(x, y));

  const structure: StructureChange[] = [];
  for (const k of new Set([...b.calls.keys(), ...n.calls.keys()])) {
    const cb = b.calls.get(k);
    const cn = n.calls.get(k);
    const named = cb ?? cn;
    if (!named) continue;
    const tb = cb?.total ?? 0;
    const tn = cn?.total ?? 0;
    // Compare the ratios exactly (tb/nb vs tn/nn) before turning them into floats.
    if (tb * nn === tn * nb) continue;
    structure.push({ service: named.service, operation: named.operation, callsPerTraceBase: tb / nb, callsPerTraceNew: tn / nn });
  }
  structure.sort((x, y) => Math.abs(y.callsPerTraceNew - y.callsPerTraceBase) - Math.abs(x.callsPerTraceNew - x.callsPerTraceBase) || byName(x, y));
  return { service: b.service, operation: b.operation, base: bl, new: nl, test, significant, changes, structure };
}

/** Per frame name: the call paths of its parents, read off the call-path keys (for "hidden behind a sibling"). */
function parentPaths(stacks: ReadonlyMap<string, number>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const key of stacks.keys()) {
    const cut = key.lastIndexOf(';');
    const frame = key.slice(cut + 1);
    let ps = out.get(frame);
    if (!ps) out.set(frame, (ps = new Set()));
    ps.add(cut < 0 ? '' : key.slice(0, cut));
  }
  return out;
}

function sideLatency(durations: readonly number[]): SideLatency {
  const s = Float64Array.from(durations).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i] ?? 0;
  return {
    traces: s.length,
    latencyNs: { p50: nearestRank(s, 50), p90: nearestRank(s, 90), p99: nearestRank(s, 99), max: s.length > 0 ? (s[s.length - 1] ?? 0) : 0 },
    meanNs: s.length > 0 ? Math.round(sum / s.length) : 0,
  };
}

/**
 * The differential flame graph's data: every call path of either side with its mean critical-path
 * ns per trace of its endpoint on each side (integers; 0 where absent), so that sides with
 * different trace counts compare directly. Sorted by call path; paths rounding to 0 on both sides
 * are left out.
 */
export function differentialStacks(base: DiffSide, next: DiffSide): DiffStack[] {
  const rows = new Map<string, { base: number; new: number }>();
  const put = (side: DiffSide, which: 'base' | 'new'): void => {
    for (const e of side.endpoints.values()) {
      const n = e.durations.length;
      for (const [key, total] of e.stacks) {
        let r = rows.get(key);
        if (!r) rows.set(key, (r = { base: 0, new: 0 }));
        r[which] += Math.round(total / n);
      }
    }
  };
  put(base, 'base');
  put(next, 'new');
  const out: DiffStack[] = [];
  for (const key of [...rows.keys()].sort()) {
    const r = rows.get(key);
    if (r && (r.base > 0 || r.new > 0)) out.push({ frames: key.split(';'), base: r.base, new: r.new });
  }
  return out;
}

/** A `--fail-on-regression` threshold: the median slower by more than this. */
export type RegressionThreshold = { readonly kind: 'relative'; readonly fraction: number } | { readonly kind: 'absolute'; readonly ns: number };

/** Endpoints whose median got significantly slower by more than the threshold. */
export function regressions(model: DiffModel, threshold: RegressionThreshold): EndpointDiff[] {
  return model.endpoints.filter((e) => {
    const d = e.new.latencyNs.p50 - e.base.latencyNs.p50;
    if (!e.significant || d <= 0) return false;
    return threshold.kind === 'absolute' ? d > threshold.ns : d > threshold.fraction * e.base.latencyNs.p50;
  });
}

function byName(a: Named, b: Named): number {
  return a.service < b.service ? -1 : a.service > b.service ? 1 : a.operation < b.operation ? -1 : a.operation > b.operation ? 1 : 0;
}
