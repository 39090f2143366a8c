// Across traces: per endpoint, the latency distribution (exact percentiles + an HDR
// histogram), the critical-path breakdown by (service, operation), and the outliers with the
// component to blame. Pure: trace summaries in, statistics out.
import * as hdr from 'hdr-histogram-js';
import { nearestRank, percentiles, type Percentiles } from './percentiles.js';

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
  out.sort((a, b) => b.traces - a.traces || cmp(a.service, b.service) || cmp(a.operation, b.operation));
  return out;
}

function endpointStats(traces: readonly TraceSummary[], policy: OutlierPolicy, top: number): EndpointStats {
  const first = traces[0];
  const n = traces.length;
  const durations = new Float64Array(n);
  let sumDur = 0;
  const histogram = hdr.build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  for (let i = 0; i < n; i++) {
    const d = traces[i]?.durationNs ?? 0;
    durations[i] = d;
    sumDur += d;
    histogram.recordValue(d);
  }
  const latencyNs = percentiles(durations);
  const latencyHistogram = hdr.encodeIntoCompressedBase64(histogram);
  histogram.destroy();

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
    criticalPath.push({
      service: e.service,
      operation: e.operation,
      ...e.part,
      onPathTraces: sorted.length,
      selfNs: { p50: nearestRank(sorted, 50), p90: nearestRank(sorted, 90), p99: nearestRank(sorted, 99), max: sorted[sorted.length - 1] ?? 0, total: e.total },
      share: sumDur > 0 ? e.total / sumDur : 0,
      errors: e.errors,
    });
    // Median over all of the endpoint's traces, zeros included for traces without it.
    const zeros = n - sorted.length;
    const rank = Math.max(1, Math.ceil(0.5 * n));
    medianWithZeros.set(k, rank <= zeros ? 0 : (sorted[rank - zeros - 1] ?? 0));
  }
  criticalPath.sort((a, b) => b.selfNs.total - a.selfNs.total || cmp(a.service, b.service) || cmp(a.operation, b.operation));

  const sortedDur = Float64Array.from(durations).sort();
  const threshold =
    policy.kind === 'auto' ? Math.max(latencyNs.p99, Math.ceil(1.5 * latencyNs.p50)) : policy.kind === 'percentile' ? nearestRank(sortedDur, policy.p) : policy.ns;
  const candidates = traces.filter((t) => t.durationNs >= threshold);
  candidates.sort((a, b) => b.durationNs - a.durationNs || (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const outliers: Outlier[] = candidates.slice(0, top).map((t) => {
    let dom: ComponentTime | undefined;
    let domKey = '';
    const excess: { service: string; operation: string; ns: number }[] = [];
    for (const [k, c] of t.components) {
      if (!dom || c.ns > dom.ns || (c.ns === dom.ns && cmp(k, domKey) < 0)) {
        dom = c;
        domKey = k;
      }
      const x = c.ns - (medianWithZeros.get(k) ?? 0);
      if (x > 0) excess.push({ service: c.service, operation: c.operation, ...threadPart(c), ns: x });
    }
    excess.sort((a, b) => b.ns - a.ns || cmp(a.service, b.service) || cmp(a.operation, b.operation));
    return {
      traceId: t.traceId,
      durationNs: t.durationNs,
      startNs: t.startNs,
      dominant: dom ? { service: dom.service, operation: dom.operation, ...threadPart(dom), selfNs: dom.ns } : { service: t.service, operation: t.operation, selfNs: 0 },
      excess,
    };
  });
  let typical: TraceSummary | undefined;
  for (const t of traces) if (t.durationNs === latencyNs.p50) typical ??= t;
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

function threadPart(c: ThreadPart): ThreadPart {
  return { ...(c.thread !== undefined ? { thread: c.thread } : {}), ...(c.state !== undefined ? { state: c.state } : {}) };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
