// Across traces: per endpoint, the latency distribution (exact percentiles + an HDR
// histogram), the critical-path breakdown by (service, operation), and the outliers with the
// component to blame. Pure: trace summaries in, statistics out.
import { encodeSorted } from './latency-histogram.js';
import { nearestRank, sortedPercentiles, type Percentiles } from './percentiles.js';
import { exactSum } from './sorted-runs.js';

/** What aggregation needs of one analysed trace. */
export interface TraceSummary {
  readonly traceId: string;
  /** Endpoint: the primary root's service and operation (or the --group-by attribute value). */
  readonly service: string;
  readonly operation: string;
  readonly startNs: bigint;
  readonly durationNs: number;
  /** Critical-path time per component in this trace. */
  readonly components: ReadonlyMap<string, ComponentTime>;
}

/** For thread-level components: the thread name and its state (the (thread, state, function) triple). */
export interface ThreadPart {
  readonly thread?: string;
  readonly state?: 'running' | 'runnable' | 'sleeping' | 'blocked';
}

export interface ComponentTime extends ThreadPart {
  readonly service: string;
  readonly operation: string;
  /** Sum of this component's sections on the primary path. */
  ns: number;
  /** Distinct on-path spans of this component with error status. */
  errors: number;
}

export type OutlierPolicy =
  | { readonly kind: 'auto' }
  | { readonly kind: 'percentile'; readonly p: number }
  | { readonly kind: 'duration'; readonly ns: number };

export interface ComponentStats extends ThreadPart {
  readonly service: string;
  readonly operation: string;
  readonly onPathTraces: number;
  readonly selfNs: { p50: number; p90: number; p99: number; max: number; total: number };
  readonly share: number;
  readonly errors: number;
}

export interface Outlier {
  readonly traceId: string;
  readonly durationNs: number;
  readonly startNs: bigint;
  readonly dominant: { service: string; operation: string; selfNs: number } & ThreadPart;
  readonly excess: readonly ({ service: string; operation: string; ns: number } & ThreadPart)[];
}

export interface EndpointStats {
  readonly service: string;
  readonly operation: string;
  readonly traces: number;
  readonly latencyNs: Percentiles;
  readonly latencyHistogram: string;
  readonly criticalPath: readonly ComponentStats[];
  readonly outliers: readonly Outlier[];
  /** The trace whose duration is the endpoint's median: a typical example. */
  readonly typicalTraceId: string | undefined;
  /** The duration an outlier must reach under the policy. */
  readonly outlierThresholdNs: number;
  /** Traces that reached it (outliers lists at most --top of them). */
  readonly outlierCount: number;
}

export function componentKey(service: string, operation: string): string {
  return `${service}\u0000${operation}`;
}

export function aggregateEndpoints(traces: readonly TraceSummary[], policy: OutlierPolicy, top: number): EndpointStats[] {
  const groups = new Map<string, TraceSummary[]>();
  for (const t of traces) {
    const k = componentKey(t.service, t.operation);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(t);
  }
  const out: EndpointStats[] = [];
  for (const g of groups.values()) out.push(endpointStats(g, policy, top));
  return out.sort(compareEndpoints);
}

// Every choice below depends on the traces, never on their order: a cluster assembles them in
// any order and must answer exactly what `cpath analyze` answers on a file. The index
// (endpoint-index.ts) merges per-bucket state into the same result; the pieces both use are
// exported below.
function endpointStats(traces: readonly TraceSummary[], policy: OutlierPolicy, top: number): EndpointStats {
  const first = traces[0];
  const n = traces.length;
  const sortedDur = new Float64Array(n);
  let sumDur = 0;
  for (let i = 0; i < n; i++) {
    const d = traces[i]?.durationNs ?? 0;
    sortedDur[i] = d;
    sumDur += d;
  }
  sortedDur.sort();
  sumDur = exactSum(sumDur, [{ values: sortedDur, from: 0, to: n }]);
  const latencyNs = sortedPercentiles(sortedDur);
  const latencyHistogram = encodeSorted(sortedDur);

  // Per component: path time in each trace where it is on the path.
  const perComp = new Map<string, { service: string; operation: string; part: ThreadPart; values: number[]; total: number; errors: number }>();
  for (const t of traces) {
    for (const [k, c] of t.components) {
      let e = perComp.get(k);
      if (!e) perComp.set(k, (e = { service: c.service, operation: c.operation, part: threadPart(c), values: [], total: 0, errors: 0 }));
      e.values.push(c.ns);
      e.total += c.ns;
      e.errors += c.errors;
    }
  }
  const criticalPath: ComponentStats[] = [];
  const medianWithZeros = new Map<string, number>();
  for (const [k, e] of perComp) {
    const sorted = Float64Array.from(e.values).sort();
    const total = exactSum(e.total, [{ values: sorted, from: 0, to: sorted.length }]);
    const selfNs = { p50: nearestRank(sorted, 50), p90: nearestRank(sorted, 90), p99: nearestRank(sorted, 99), max: sorted[sorted.length - 1] ?? 0, total };
    criticalPath.push(componentStats(e, e.part, sorted.length, selfNs, sumDur, e.errors));
    // Median over all of the endpoint's traces, zeros included for traces without it.
    const rank = medianWithZerosRank(n, sorted.length);
    medianWithZeros.set(k, rank === undefined ? 0 : (sorted[rank - 1] ?? 0));
  }
  criticalPath.sort(compareComponents);

  const threshold = outlierThreshold(policy, latencyNs, (p) => nearestRank(sortedDur, p));
  const candidates = traces.filter((t) => t.durationNs >= threshold);
  candidates.sort(compareOutliers);
  const outliers = candidates.slice(0, top).map((t) => toOutlier(t, medianWithZeros));
  let typical: TraceSummary | undefined;
  for (const t of traces) if (t.durationNs === latencyNs.p50 && (typical === undefined || typicalBefore(t, typical))) typical = t;
  return {
    service: first?.service ?? '',
    operation: first?.operation ?? '',
    traces: n,
    latencyNs,
    latencyHistogram,
    criticalPath,
    outliers,
    typicalTraceId: typical?.traceId,
    outlierThresholdNs: threshold,
    outlierCount: candidates.length,
  };
}

/** Most traces first, then by name. */
export function compareEndpoints(a: EndpointStats, b: EndpointStats): number {
  return b.traces - a.traces || cmp(a.service, b.service) || cmp(a.operation, b.operation);
}

/** Components by total path time, then by name: (service, operation, thread, state) names one component. */
export function compareComponents(a: ComponentStats, b: ComponentStats): number {
  return b.selfNs.total - a.selfNs.total || compareNames(a, b);
}

/** Outliers: slowest first, then earliest start, then smallest traceId. */
export function compareOutliers(a: TraceSummary, b: TraceSummary): number {
  return b.durationNs - a.durationNs || (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0) || cmp(a.traceId, b.traceId);
}

/** Among the traces whose duration is the median, the typical one starts first (then smallest traceId). */
export function typicalBefore(a: TraceSummary, b: TraceSummary): boolean {
  return a.startNs < b.startNs || (a.startNs === b.startNs && a.traceId < b.traceId);
}

/** The duration an outlier must reach; `atPercentile(p)` is the nearest-rank percentile of the durations. */
export function outlierThreshold(policy: OutlierPolicy, latency: Percentiles, atPercentile: (p: number) => number): number {
  return policy.kind === 'auto' ? Math.max(latency.p99, Math.ceil(1.5 * latency.p50)) : policy.kind === 'percentile' ? atPercentile(policy.p) : policy.ns;
}

/**
 * The rank, among a component's `onPath` sorted path times, of its median over all `n` traces
 * of the endpoint with zeros for the traces without it; undefined when that median is a zero.
 */
export function medianWithZerosRank(n: number, onPath: number): number | undefined {
  const zeros = n - onPath;
  const rank = Math.max(1, Math.ceil(0.5 * n));
  return rank <= zeros ? undefined : rank - zeros;
}

export function componentStats(
  name: { readonly service: string; readonly operation: string },
  part: ThreadPart,
  onPathTraces: number,
  selfNs: ComponentStats['selfNs'],
  sumDur: number,
  errors: number,
): ComponentStats {
  return { service: name.service, operation: name.operation, ...part, onPathTraces, selfNs, share: sumDur > 0 ? selfNs.total / sumDur : 0, errors };
}

/** An outlier: its dominant component and each component's excess over its median-with-zeros. */
export function toOutlier(t: TraceSummary, medianWithZeros: ReadonlyMap<string, number>): Outlier {
  let dom: ComponentTime | undefined;
  let domKey = '';
  const excess: ({ service: string; operation: string; ns: number } & ThreadPart)[] = [];
  for (const [k, c] of t.components) {
    if (!dom || c.ns > dom.ns || (c.ns === dom.ns && cmp(k, domKey) < 0)) {
      dom = c;
      domKey = k;
    }
    const x = c.ns - (medianWithZeros.get(k) ?? 0);
    if (x > 0) excess.push({ service: c.service, operation: c.operation, ...threadPart(c), ns: x });
  }
  excess.sort((a, b) => b.ns - a.ns || compareNames(a, b));
  return {
    traceId: t.traceId,
    durationNs: t.durationNs,
    startNs: t.startNs,
    dominant: dom ? { service: dom.service, operation: dom.operation, ...threadPart(dom), selfNs: dom.ns } : { service: t.service, operation: t.operation, selfNs: 0 },
    excess,
  };
}

export function threadPart(c: ThreadPart): ThreadPart {
  return { ...(c.thread !== undefined ? { thread: c.thread } : {}), ...(c.state !== undefined ? { state: c.state } : {}) };
}

function compareNames(a: { service: string; operation: string } & ThreadPart, b: { service: string; operation: string } & ThreadPart): number {
  return cmp(a.service, b.service) || cmp(a.operation, b.operation) || cmpOptional(a.thread, b.thread) || cmpOptional(a.state, b.state);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Absent first. */
function cmpOptional(a: string | undefined, b: string | undefined): number {
  return a === b ? 0 : a === undefined ? -1 : b === undefined ? 1 : cmp(a, b);
}
