// `cpath analyze --format html`: collects what the page needs while analyze streams traces
// (every trace's summary, critical-path call stacks for the flame graphs), picks the traces to
// embed in full once the report is known, and assembles the `PageData`.
import { componentKey } from '../../analysis/endpoints.js';
import { frameName, pathStacks } from '../../analysis/analysed-trace.js';
import { FlameBuilder, percentileCurve, summaryColumns, type SummaryInput } from './page-data.js';
import type { PageData } from './page-types.js';
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import type { AnalyzeReport, ReportTrace, ReportTraceDetail } from './types.js';

interface Collected extends SummaryInput {
  /** Critical-path call stacks: ids into `stackNames`, with their ns. */
  readonly stackIds: Int32Array;
  readonly stackNs: Float64Array;
}

export class HtmlReportBuilder {
  private readonly traces: Collected[] = [];
  private readonly stackIndex = new Map<string, number>();
  private readonly stackFrames: string[][] = [];

  /** An analysed span trace. */
  readonly analysed = (a: AnalysedTrace): void => {
    const stacks = pathStacks(a);
    this.add({ traceId: a.trace.traceId, service: a.endpoint.service, operation: a.endpoint.operation, startNs: a.startNs, durationNs: a.analysis.durationNs }, stacks);
  };

  /** A root call of event logs without spans. */
  readonly rootCall = (t: ReportTrace): void => {
    // No spans, so no call tree: one frame per (thread, state, function) under the root call.
    const root = frameName(t.service, t.operation);
    const stacks = t.criticalPath.map((s) => ({ frames: [root, frameName(`${s.thread?.comm ?? '?'} ${s.state ?? ''}`, s.function ?? '-')], ns: s.durationNs }));
    this.add({ traceId: t.traceId, service: t.endpoint.service, operation: t.endpoint.operation, startNs: BigInt(t.startUnixNano), durationNs: t.durationNs }, stacks);
  };

  private add(s: SummaryInput, stacks: readonly { frames: string[]; ns: number }[]): void {
    const ids = new Int32Array(stacks.length);
    const ns = new Float64Array(stacks.length);
    stacks.forEach((st, i) => {
      const key = st.frames.join(';');
      let id = this.stackIndex.get(key);
      if (id === undefined) {
        id = this.stackFrames.length;
        this.stackFrames.push(st.frames);
        this.stackIndex.set(key, id);
      }
      ids[i] = id;
      ns[i] = st.ns;
    });
    this.traces.push({ ...s, stackIds: ids, stackNs: ns });
  }

  /**
   * The traces to embed in full: every listed outlier, each endpoint's typical trace, and `more`
   * others spread evenly over the latency ranks, so most heat-map rows have one to open.
   */
  select(report: AnalyzeReport, more: number): string[] {
    const chosen = new Set<string>();
    for (const e of report.endpoints) {
      if (e.typicalTraceId !== undefined) chosen.add(e.typicalTraceId);
      for (const o of e.outliers) chosen.add(o.traceId);
    }
    const rest = this.traces.filter((t) => !chosen.has(t.traceId));
    const n = Math.min(more, rest.length);
    // The durations at evenly spaced ranks (a native numeric sort), then one pass to pick a
    // trace for each: sorting 100k objects with a comparator costs more than the rest together.
    const sorted = Float64Array.from(rest, (t) => t.durationNs).sort();
    const wanted = new Map<number, number>();
    for (let k = 0; k < n; k++) {
      const v = sorted[Math.floor(((k + 0.5) * rest.length) / n)] ?? 0;
      wanted.set(v, (wanted.get(v) ?? 0) + 1);
    }
    for (const t of rest) {
      const left = wanted.get(t.durationNs);
      if (left === undefined || left === 0) continue;
      wanted.set(t.durationNs, left - 1);
      chosen.add(t.traceId);
    }
    return [...chosen];
  }

  page(report: AnalyzeReport, details: readonly ReportTraceDetail[]): PageData {
    const { traces: _none, ...rest } = report;
    const index = new Map<string, number>();
    report.endpoints.forEach((e, i) => index.set(componentKey(e.service, e.operation), i));
    // Summed per (endpoint, call path) first: each distinct path walks the tree once.
    const sums = report.endpoints.map(() => new Map<number, [number, number]>());
    const counts = report.endpoints.map(() => [0, 0]);
    for (const t of this.traces) {
      const i = index.get(componentKey(t.service, t.operation));
      const e = i !== undefined ? report.endpoints[i] : undefined;
      const sum = i !== undefined ? sums[i] : undefined;
      const c = i !== undefined ? counts[i] : undefined;
      if (!e || !sum || !c) continue;
      const g = t.durationNs >= e.outlierThresholdNs ? 0 : 1;
      c[g] = (c[g] ?? 0) + 1;
      t.stackIds.forEach((id, k) => {
        let pair = sum.get(id);
        if (!pair) sum.set(id, (pair = [0, 0]));
        pair[g] += t.stackNs[k] ?? 0;
      });
    }
    const flames = sums.map((sum, i) => {
      const fb = new FlameBuilder();
      fb.countTraces(counts[i]?.[0] ?? 0, counts[i]?.[1] ?? 0);
      for (const [id, [o, x]] of [...sum].sort((a, b) => a[0] - b[0])) fb.addStack(this.stackFrames[id] ?? [], o, x);
      return fb;
    });
    return {
      mode: 'report',
      report: rest,
      summaries: summaryColumns(this.traces, report.endpoints),
      curves: report.endpoints.map((e) => percentileCurve(e.latencyHistogram)),
      flames: flames.map((f) => f.result()),
      traces: [...details],
    };
  }
}
