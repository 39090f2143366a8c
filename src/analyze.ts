// `cpath analyze` as a library call: inputs -> builder -> per-trace critical paths ->
// per-endpoint statistics -> the report model. The CLI only parses flags and renders.
import { readInput, type InputFormat, type InputSummary } from '../collectors/index.js';
import { readStore } from '../collectors/store-input.js';
import { aggregateEndpoints, type OutlierPolicy, type TraceSummary } from '../analysis/endpoints.js';
import { ComponentKeys, summarizeTrace } from '../analysis/trace-summary.js';
import { isEmptyFilter, matchesContent, matchesTime, type TraceFilter } from '../analysis/filters.js';
import { detectGranularity } from '../analysis/granularity.js';
import { analyzeTrace, type TraceAnalysis } from '../analysis/trace-analysis.js';
import { Diagnostics } from './model/diagnostics.js';
import { ResourceInterner } from './model/span.js';
import { TraceSetBuilder, type Trace } from './model/trace-builder.js';
import type { AnalyzeReport, ReportTrace } from './report/types.js';
import { toReportEndpoint, toReportTrace, type AnalysedTrace } from './report/trace-json.js';
import { VERSION } from './version.js';

export interface AnalyzeOptions {
  readonly files: readonly string[];
  /** A `cpath serve` store directory to read as well (`--store`). */
  readonly store?: string;
  readonly inputFormat?: InputFormat;
  readonly skewAdjust: boolean;
  readonly overlapToleranceNs?: number;
  readonly groupBy?: string;
  readonly filter: TraceFilter;
  readonly outliers: OutlierPolicy;
  /** How the outlier rule was written, for the report. */
  readonly outliersLabel: string;
  readonly top: number;
  /** Keep this trace's spans and analysis for a waterfall. */
  readonly keepTrace?: string;
  /**
   * Where each analysed trace goes, in start-time order: by default into `report.traces`;
   * `false` skips building them (the text report needs none); a function streams them (JSON
   * output of big inputs), and may return a promise to apply backpressure.
   */
  readonly traces?: false | ((t: AnalysedTrace) => void | Promise<void>);
  readonly onBytes?: (file: string, bytesRead: number) => void;
}

export interface AnalyzeResult {
  readonly report: AnalyzeReport;
  readonly inputs: readonly InputSummary[];
  /** The trace named by keepTrace, with its analysis, when found. */
  readonly kept?: { readonly trace: Trace; readonly analysis: TraceAnalysis };
}

export async function analyzeFiles(opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const diag = new Diagnostics();
  const builder = new TraceSetBuilder(diag);
  const sink = { diag, resources: new ResourceInterner(), emit: (s: Parameters<TraceSetBuilder['add']>[0]) => builder.add(s) };
  const inputs: InputSummary[] = [];
  // Span attributes are most of the memory: keep only those a filter or --group-by reads,
  // unless a waterfall will show one trace in full.
  const attributeKeys = opts.keepTrace !== undefined ? undefined : new Set([...(opts.groupBy !== undefined ? [opts.groupBy] : []), ...(opts.filter.where ?? []).map((w) => w.key)]);
  for (const file of opts.files) {
    inputs.push(
      await readInput(file, sink, {
        ...(opts.inputFormat ? { format: opts.inputFormat } : {}),
        ...(attributeKeys ? { attributeKeys } : {}),
        onBytes: (b) => opts.onBytes?.(file, b),
      }),
    );
  }
  if (opts.store !== undefined) readStore(opts.store, sink, opts.filter.sinceNs, opts.filter.untilNs);
  const { traces: built, spanCount } = builder.build();
  const traceCount = built.length;
  const granularity = detectGranularity(built);
  // Report order is trace start order; sort before analysing so traces can be streamed out,
  // and drop each one once analysed (the queue is the only reference left).
  const queue: (Trace | undefined)[] = sortByRootStart(built);
  built.length = 0;
  const analysisOpts = { skewAdjust: opts.skewAdjust, granularity, ...(opts.overlapToleranceNs !== undefined ? { overlapToleranceNs: opts.overlapToleranceNs } : {}) };

  const keys = new ComponentKeys();
  const summaries: TraceSummary[] = [];
  const reportTraces: ReportTrace[] = [];
  let kept: AnalyzeResult['kept'];
  let excluded = 0;
  const filtering = !isEmptyFilter(opts.filter);
  for (let qi = 0; qi < queue.length; qi++) {
    const trace = queue[qi];
    queue[qi] = undefined;
    if (!trace) continue;
    if (filtering && !matchesContent(trace, opts.filter)) {
      excluded++;
      continue;
    }
    const analysis = analyzeTrace(trace, analysisOpts, diag);
    if (!analysis) continue;
    const summary = summarizeTrace(trace, analysis, opts.groupBy, keys);
    if (!summary) continue;
    if (filtering && !matchesTime(summary.startNs, opts.filter)) {
      excluded++;
      continue;
    }
    if (opts.keepTrace === trace.traceId) kept = { trace, analysis };
    summaries.push(summary);
    if (opts.traces === false) continue;
    const at: AnalysedTrace = { trace, analysis, startNs: summary.startNs, endpoint: { service: summary.service, operation: summary.operation } };
    if (opts.traces === undefined) reportTraces.push(toReportTrace(at));
    else {
      const wait = opts.traces(at);
      if (wait) await wait;
    }
  }
  if (excluded > 0) diag.add('filter_excluded', `${excluded} of ${traceCount} traces did not match the filters`, excluded);

  const endpoints = aggregateEndpoints(summaries, opts.outliers, opts.top);
  const gran: Record<string, string> = {};
  for (const [r, g] of granularity) {
    const label = g >= 1_000_000 ? '1ms' : g >= 1_000 ? '1us' : 'none';
    const prev = gran[r.service];
    // A service with several instances reports the finest granularity among them.
    gran[r.service] = prev === undefined || rankGran(label) < rankGran(prev) ? label : prev;
  }
  const report: AnalyzeReport = {
    version: 1,
    generator: `cpath ${VERSION}`,
    input: {
      files: [...opts.files, ...(opts.store !== undefined ? [opts.store] : [])],
      formats: [...inputs.map((i) => i.format ?? 'empty'), ...(opts.store !== undefined ? ['cpath-store'] : [])],
      spans: spanCount,
      traces: traceCount,
      tracesAnalysed: summaries.length,
      settings: {
        skewAdjust: opts.skewAdjust,
        ...(opts.overlapToleranceNs !== undefined ? { overlapToleranceNs: opts.overlapToleranceNs } : {}),
        ...(opts.groupBy !== undefined ? { groupBy: opts.groupBy } : {}),
        outliers: opts.outliersLabel,
        top: opts.top,
      },
      granularity: gran,
    },
    diagnostics: diag.entries(),
    traces: reportTraces,
    endpoints: endpoints.map(toReportEndpoint),
  };
  return { report, inputs, ...(kept ? { kept } : {}) };
}

/** Traces by their primary root's start (the earliest parentless span), then id. */
function sortByRootStart(traces: readonly Trace[]): Trace[] {
  const key = new Map<Trace, bigint>();
  for (const t of traces) {
    let best = Infinity;
    for (let i = 0; i < t.spans.length; i++) if (t.parent[i] === -1 && (t.start[i] ?? Infinity) < best) best = t.start[i] ?? Infinity;
    // baseNs is each trace's own origin: compare absolute starts, exactly.
    key.set(t, t.baseNs + BigInt(Number.isFinite(best) ? best : 0));
  }
  return [...traces].sort((a, b) => {
    const x = key.get(a) ?? 0n;
    const y = key.get(b) ?? 0n;
    return x < y ? -1 : x > y ? 1 : a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0;
  });
}

function rankGran(l: string): number {
  return l === 'none' ? 0 : l === '1us' ? 1 : 2;
}
