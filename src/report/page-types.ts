// What the page draws: the HTML report embeds one `PageData`, the live page of `cpath serve`
// fetches the same shape from `/api/page`, so one page script serves both.
import type { AnalyzeReport, ReportTraceDetail } from './types.js';
import type { DiffReport } from './diff-types.js';

export interface PageData {
  /** `report`: a file written by `cpath analyze --format html`; `live`: `cpath serve`'s page. */
  mode: 'report' | 'live';
  /** The analyze report without its per-trace list (that is `summaries`, in columns). */
  report: Omit<AnalyzeReport, 'traces'>;
  /** Every analysed trace's endpoint, start and duration: what the heat maps count. */
  summaries: PageTraceSummaries;
  /** Per endpoint, same order as `report.endpoints`: the percentile curve of its HDR histogram. */
  curves: PageCurve[];
  /** Per endpoint, same order as `report.endpoints`: critical-path time by call path (report mode only). */
  flames?: PageFlame[];
  /** Traces in full (report mode): outliers, each endpoint's typical trace, and --embed-traces more. */
  traces: ReportTraceDetail[];
  /** Live mode: when this snapshot was taken, Unix ms. */
  takenAtMs?: number;
}

/** Columns rather than objects: 100k traces stay a few MB and parse fast. */
export interface PageTraceSummaries {
  /** Unix ns (decimal string) that `startOffsetNs` counts from: the earliest start. */
  baseUnixNano: string;
  /** The endpoints that `endpoint` indexes (service + operation, as in `report.endpoints`). */
  endpoints: { service: string; operation: string }[];
  /** 32 lowercase hex digits. */
  traceId: string[];
  /** Index into `endpoints`. */
  endpoint: number[];
  /** Trace start minus `baseUnixNano`, ns (exact: offsets stay far below 2^53 ns, 104 days). */
  startOffsetNs: number[];
  /** Primary root duration, ns. */
  durationNs: number[];
  /** Live mode: traces left out because the page shows only the newest ones. */
  omitted?: number;
}

export interface PageCurve {
  /** Percentiles, 0..100, increasing. */
  percentile: number[];
  /** The latency at each percentile, ns (HDR histogram, 3 significant digits). */
  valueNs: number[];
}

/**
 * A call-path tree of critical-path time, flat (parent indexes) so that deep chains cannot
 * overflow a recursive JSON writer or reader. Node 0 is the synthetic root (`name` empty).
 */
export interface PageFlame {
  /** Frame name, `service operation`. */
  name: string[];
  /** Parent node index; -1 for node 0. Parents come before their children. */
  parent: number[];
  /** Critical-path ns spent in this frame itself (not its children), over the endpoint's outlier traces. */
  outlierSelfNs: number[];
  /** The same over the endpoint's other traces. */
  otherSelfNs: number[];
  /** Traces the sums are over: outliers (at or above the threshold) and the rest. */
  outlierTraces: number;
  otherTraces: number;
  /** What the two groups are, when not outliers and the rest (`cpath diff`: the new run and the base run). */
  groups?: [string, string];
}

/** `cpath diff --format html`: the diff report and, per endpoint (same order), its differential flame graph. */
export interface DiffPageData {
  mode: 'diff';
  diff: DiffReport;
  /** Mean critical-path ns per trace by call path: the "outlier" group is the new run, the other the base run (`groups`). */
  flames: PageFlame[];
}
