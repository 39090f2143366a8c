// `cpath analyze` as a library call, composed of the stages beside this file: read the inputs
// (read.ts), analyse each span trace in start order (span-traces.ts; with event logs, split its
// path into threads: thread-split.ts), then the report model (span-report.ts). Event logs without
// spans go through threads-only.ts. The CLI only parses flags and renders.
import type { InputFormat, InputSummary } from '../../collectors/index.js';
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import type { OutlierPolicy } from '../../analysis/endpoints.js';
import type { TraceFilter } from '../../analysis/filters.js';
import type { TraceAnalysis } from '../../analysis/trace-analysis.js';
import type { ThreadSource } from '../../analysis/threads/span-threads.js';
import { Diagnostics } from '../model/diagnostics.js';
import type { Trace } from '../model/trace-builder.js';
import { toReportTraceDetail } from '../report/span-json.js';
import { toThreadReportTrace } from '../report/thread-json.js';
import { toReportTrace } from '../report/trace-json.js';
import type { AnalyzeReport, ReportSection, ReportTrace, ReportTraceDetail } from '../report/types.js';
import { attributesToKeep, readInputs, type ReadInputs } from './read.js';
import { spanReport } from './span-report.js';
import { SpanTraces } from './span-traces.js';
import { ThreadSplit } from './thread-split.js';
import { rootCallReport } from './threads-only.js';

export { noSpansError } from './span-report.js';

/** Where the analysed traces go, in start order. */
export interface TraceSink {
  /** A span trace; `split`: its report entry with the path split into threads, when event logs came with the spans. */
  span?(a: AnalysedTrace, split: ReportTrace | undefined): void | Promise<void>;
  /** A root call of event logs without spans, as a report entry. */
  rootCall?(t: ReportTrace): void | Promise<void>;
}

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
  readonly top: number;
  /** Keep this trace's spans and analysis for a waterfall. */
  readonly keepTrace?: string;
  /** Where each analysed trace goes; by default into `report.traces`, `false`: nowhere (the text report needs none). */
  readonly traces?: false | TraceSink;
  /**
   * Traces to return in full (`details`) once the report is known, e.g. its outliers: every
   * trace then stays in memory until the end, and the chosen ones are analysed again.
   */
  readonly details?: (report: AnalyzeReport) => Iterable<string>;
  readonly onBytes?: (file: string, bytesRead: number) => void;
  /** Event logs of `cpath record` that decompose span sections into threads (`--threads`). */
  readonly threads?: readonly string[];
  /** Thread-only inputs: the probed function whose calls are analysed as traces (`--root`). */
  readonly rootFunction?: string;
}

export interface AnalyzeResult {
  readonly report: AnalyzeReport;
  readonly inputs: readonly InputSummary[];
  /** The trace named by keepTrace, with its analysis, when found. */
  readonly kept?: { readonly trace: Trace; readonly analysis: TraceAnalysis };
  /** With thread data: the critical path of each endpoint's typical trace and outliers, split into threads, for the text report. */
  readonly chains?: ReadonlyMap<string, readonly ReportSection[]>;
  /** The traces `details` asked for, with every span and, with thread data, their thread lanes. */
  readonly details?: readonly ReportTraceDetail[];
  /** Span inputs with event logs (`threads`): the thread models, for exports that draw threads. */
  readonly threadSources?: readonly ThreadSource[];
}

export async function analyzeFiles(opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const diag = new Diagnostics();
  const read = await readInputs(
    {
      files: opts.files,
      ...(opts.threads ? { threads: opts.threads } : {}),
      ...(opts.store !== undefined ? { store: opts.store } : {}),
      ...(opts.inputFormat ? { inputFormat: opts.inputFormat } : {}),
      ...(opts.onBytes ? { onBytes: opts.onBytes } : {}),
      attributeKeys: attributesToKeep(opts.groupBy, opts.filter, opts.keepTrace !== undefined),
      storeWindow: opts.filter,
    },
    diag,
  );
  if (read.spanCount === 0 && read.models.length > 0) return await analyzeRootCalls(opts, read, diag);

  const spans = new SpanTraces(read.traces, opts, diag);
  const split = read.models.length > 0 ? new ThreadSplit(read.models) : undefined;
  const sink = opts.traces;
  const collected: ReportTrace[] = [];
  /** With thread data: each trace's path split into threads, for the text report's chains. */
  const splitPaths = new Map<string, readonly ReportSection[]>();
  const retained = opts.details ? new Map<string, Trace>() : undefined;
  let kept: AnalyzeResult['kept'];
  for (const a of spans.analysed()) {
    if (opts.keepTrace === a.trace.traceId) kept = { trace: a.trace, analysis: a.analysis };
    retained?.set(a.trace.traceId, a.trace);
    // With thread data, each span section is split into its threads' sections (small inputs:
    // real recordings), so the trace goes out as an object, not streamed from the arrays.
    const rt = split?.reportTrace(a);
    if (rt) splitPaths.set(rt.traceId, rt.criticalPath);
    if (sink === undefined) collected.push(rt ?? toReportTrace(a));
    else if (sink !== false && sink.span) await sink.span(a, rt);
  }
  split?.finish(diag);
  spans.finish();
  const report = spanReport(opts, read, spans, opts, diag, collected, split);

  const chains = new Map<string, readonly ReportSection[]>();
  for (const e of report.endpoints) {
    for (const id of [e.typicalTraceId, ...e.outliers.map((o) => o.traceId)]) {
      const path = id !== undefined ? splitPaths.get(id) : undefined;
      if (id !== undefined && path) chains.set(id, path);
    }
  }
  let details: ReportTraceDetail[] | undefined;
  if (opts.details && retained) {
    details = [];
    for (const id of opts.details(report)) {
      const trace = retained.get(id);
      const a = trace ? spans.again(trace) : undefined;
      if (a) details.push(split ? split.detail(a) : toReportTraceDetail(a));
    }
  }
  return { report, inputs: read.inputs, ...(kept ? { kept } : {}), ...(chains.size > 0 ? { chains } : {}), ...(details ? { details } : {}), ...(split ? { threadSources: split.sources } : {}) };
}

/** Event logs without spans: the root calls are the traces. */
async function analyzeRootCalls(opts: AnalyzeOptions, read: ReadInputs, diag: Diagnostics): Promise<AnalyzeResult> {
  const r = rootCallReport(opts, read, opts, diag);
  const sink = opts.traces;
  const entries = r.picked.map(toThreadReportTrace);
  if (sink === undefined) r.report.traces.push(...entries);
  else if (sink !== false && sink.rootCall) for (const t of entries) await sink.rootCall(t);
  const details = opts.details ? [...opts.details(r.report)].flatMap((id) => r.detail(id) ?? []) : undefined;
  return { report: r.report, inputs: read.inputs, chains: r.chains, ...(details ? { details } : {}) };
}
