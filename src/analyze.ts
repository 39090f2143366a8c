// `cpath analyze` as a library call: inputs -> builder -> per-trace critical paths ->
// per-endpoint statistics -> the report model. The CLI only parses flags and renders.
import { readInput, type InputFormat, type InputSummary } from '../collectors/index.js';
import { aggregateEndpoints, componentKey, type ComponentTime, type OutlierPolicy, type TraceSummary } from '../analysis/endpoints.js';
import { isEmptyFilter, matchesContent, matchesTime, type TraceFilter } from '../analysis/filters.js';
import { detectGranularity } from '../analysis/granularity.js';
import { analyzeTrace, type TraceAnalysis } from '../analysis/trace-analysis.js';
import type { PathSection } from '../analysis/critical-path.js';
import { Diagnostics } from './model/diagnostics.js';
import { ResourceInterner, stringifyAttr } from './model/span.js';
import { TraceSetBuilder, type Trace } from './model/trace-builder.js';
import type { AnalyzeReport, ReportSection, ReportTrace } from './report/types.js';
import { VERSION } from './version.js';

export interface AnalyzeOptions {
  readonly files: readonly string[];
  readonly inputFormat?: InputFormat;
  readonly skewAdjust: boolean;
  readonly overlapToleranceNs?: number;
  readonly groupBy?: string;
  readonly filter: TraceFilter;
  readonly outliers: OutlierPolicy;
  /** How the outlier rule was written, for the report. */
  readonly outliersLabel: string;
  readonly top: number;
  /** Keep each trace's spans and analysis for a waterfall. */
  readonly keepTrace?: string;
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
  for (const file of opts.files) {
    inputs.push(await readInput(file, sink, { ...(opts.inputFormat ? { format: opts.inputFormat } : {}), onBytes: (b) => opts.onBytes?.(file, b) }));
  }
  const set = builder.build();
  const granularity = detectGranularity(set.traces);
  const analysisOpts = { skewAdjust: opts.skewAdjust, granularity, ...(opts.overlapToleranceNs !== undefined ? { overlapToleranceNs: opts.overlapToleranceNs } : {}) };

  const summaries: TraceSummary[] = [];
  const reportTraces: ReportTrace[] = [];
  let kept: AnalyzeResult['kept'];
  let excluded = 0;
  const filtering = !isEmptyFilter(opts.filter);
  for (const trace of set.traces) {
    if (filtering && !matchesContent(trace, opts.filter)) {
      excluded++;
      continue;
    }
    const analysis = analyzeTrace(trace, analysisOpts, diag);
    if (!analysis) continue;
    const root = trace.spans[analysis.root];
    if (!root) continue;
    const startNs = trace.baseNs + BigInt(analysis.prepared.ws[analysis.root] ?? 0);
    if (filtering && !matchesTime(startNs, opts.filter)) {
      excluded++;
      continue;
    }
    if (opts.keepTrace === trace.traceId) kept = { trace, analysis };
    let endpointOp = root.name;
    if (opts.groupBy !== undefined) {
      const v = root.attributes[opts.groupBy] ?? root.resource.attributes[opts.groupBy];
      if (v !== undefined) endpointOp = stringifyAttr(v);
    }
    const components = new Map<string, ComponentTime>();
    const errorSpans = new Set<number>();
    for (const sec of analysis.path) {
      const s = trace.spans[sec.span];
      if (!s) continue;
      const k = componentKey(s.resource.service, s.name);
      let c = components.get(k);
      if (!c) components.set(k, (c = { service: s.resource.service, operation: s.name, ns: 0, errors: 0 }));
      c.ns += sec.end - sec.start;
      if (s.status === 'error' && !errorSpans.has(sec.span)) {
        errorSpans.add(sec.span);
        c.errors++;
      }
    }
    summaries.push({ traceId: trace.traceId, service: root.resource.service, operation: endpointOp, startNs, durationNs: analysis.durationNs, components });
    let errors = 0;
    for (const s of trace.spans) if (s.status === 'error') errors++;
    const other = analysis.otherRoots.map((o) => {
      const r = trace.spans[o.root];
      return { spanId: r?.spanId ?? '', service: r?.resource.service ?? '', operation: r?.name ?? '', criticalPath: sections(trace, o.path) };
    });
    reportTraces.push({
      traceId: trace.traceId,
      service: root.resource.service,
      operation: root.name,
      endpoint: { service: root.resource.service, operation: endpointOp },
      startUnixNano: startNs.toString(),
      durationNs: analysis.durationNs,
      spans: trace.spans.length,
      errors,
      criticalPath: sections(trace, analysis.path),
      ...(other.length > 0 ? { otherRoots: other } : {}),
    });
  }
  if (excluded > 0) diag.add('filter_excluded', `${excluded} of ${set.traces.length} traces did not match the filters`, excluded);
  reportTraces.sort((a, b) => cmpBig(a.startUnixNano, b.startUnixNano) || (a.traceId < b.traceId ? -1 : 1));

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
      files: [...opts.files],
      formats: inputs.map((i) => i.format ?? 'empty'),
      spans: set.spanCount,
      traces: set.traces.length,
      tracesAnalysed: reportTraces.length,
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
    endpoints: endpoints.map((e) => ({
      service: e.service,
      operation: e.operation,
      traces: e.traces,
      latencyNs: e.latencyNs,
      latencyHistogram: e.latencyHistogram,
      criticalPath: e.criticalPath.map((c) => ({ ...c, selfNs: { ...c.selfNs } })),
      outlierThresholdNs: e.outlierThresholdNs,
      outliers: e.outliers.map((o) => ({ traceId: o.traceId, durationNs: o.durationNs, startUnixNano: o.startNs.toString(), dominant: o.dominant, excess: [...o.excess] })),
      ...(e.typicalTraceId !== undefined ? { typicalTraceId: e.typicalTraceId } : {}),
    })),
  };
  return { report, inputs, ...(kept ? { kept } : {}) };
}

export function sections(trace: Trace, path: readonly PathSection[]): ReportSection[] {
  return path.map((sec) => {
    const s = trace.spans[sec.span];
    return {
      spanId: s?.spanId ?? '',
      service: s?.resource.service ?? '',
      operation: s?.name ?? '',
      startUnixNano: (trace.baseNs + BigInt(sec.start)).toString(),
      durationNs: sec.end - sec.start,
      ...(s?.status === 'error' ? { error: true as const } : {}),
    };
  });
}

function cmpBig(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function rankGran(l: string): number {
  return l === 'none' ? 0 : l === '1us' ? 1 : 2;
}
