// `cpath analyze` as a library call: inputs -> builder -> per-trace critical paths ->
// per-endpoint statistics -> the report model. The CLI only parses flags and renders.
import { InputError, readInput, type InputFormat, type InputSummary } from '../collectors/index.js';
import type { EventLog } from '../collectors/bpftrace/event-log.js';
import { countSharedSections, decomposeSection, spanThread, type ThreadSource } from '../analysis/threads/span-threads.js';
import { ThreadNames, analyzeRootCalls, waitTotals } from '../analysis/threads/thread-traces.js';
import { buildThreadModel } from '../analysis/threads/timelines.js';
import type { ThreadModel } from '../analysis/threads/types.js';
import { toReportLanes, toThreadReportTrace, toThreadSection } from './report/thread-json.js';
import { toReportTraceDetail } from './report/span-json.js';
import { readStore } from '../collectors/store-input.js';
import { aggregateEndpoints, type OutlierPolicy, type TraceSummary } from '../analysis/endpoints.js';
import { ComponentKeys, groupValue, noKeyGroup, summarizeTrace, type GroupBy } from '../analysis/trace-summary.js';
import { isEmptyFilter, matchesContent, matchesTime, type TraceFilter } from '../analysis/filters.js';
import { detectGranularity } from '../analysis/granularity.js';
import { analyzeTrace, type TraceAnalysis } from '../analysis/trace-analysis.js';
import { Diagnostics } from './model/diagnostics.js';
import { ResourceInterner, type SpanInput } from './model/span.js';
import { TraceSetBuilder, type Trace } from './model/trace-builder.js';
import type { AnalyzeReport, ReportInput, ReportSection, ReportTrace, ReportTraceDetail } from './report/types.js';
import { analysedTrace, toReportEndpoint, toReportTrace, type AnalysedTrace } from './report/trace-json.js';
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
  /** Keep every span attribute (exports that write the spans back out); by default only those a filter or --group-by reads. */
  readonly keepAttributes?: boolean;
  /**
   * Where each analysed trace goes, in start-time order: by default into `report.traces`;
   * `false` skips building them (the text report needs none); a function streams them (JSON
   * output of big inputs), and may return a promise to apply backpressure.
   */
  readonly traces?: false | ((t: AnalysedTrace | ReportTrace) => void | Promise<void>);
  /** Sees every analysed span trace (with or without thread data), before `traces` does. */
  readonly analysed?: (t: AnalysedTrace) => void;
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
  /** Thread-only inputs: the critical path of each endpoint's typical trace and outliers, for the text report. */
  readonly chains?: ReadonlyMap<string, readonly ReportSection[]>;
  /** The traces `details` asked for, with every span and, with thread data, their thread lanes. */
  readonly details?: readonly ReportTraceDetail[];
  /** Span inputs with event logs (`threads`): the thread models, for exports that draw threads. */
  readonly threadSources?: readonly ThreadSource[];
}

/** Inputs that held no span at all: the error names them and what the reader found wrong in them. */
export function noSpansError(names: readonly string[], report: AnalyzeReport): InputError {
  const problems = report.diagnostics.map((d) => `  ${d.code} ×${d.count}${d.example ? `: ${d.example}` : ''}`).join('\n');
  return new InputError(`no spans found in ${names.join(', ')}${problems ? `\n${problems}` : ''}`);
}

export async function analyzeFiles(opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const diag = new Diagnostics();
  const builder = new TraceSetBuilder(diag);
  const logs: EventLog[] = [];
  const sink = { diag, resources: new ResourceInterner(), emit: (s: Parameters<TraceSetBuilder['add']>[0]) => builder.add(s), eventLog: (l: EventLog) => logs.push(l) };
  const inputs: InputSummary[] = [];
  // Span attributes are most of the memory: keep only those a filter or --group-by reads,
  // unless a waterfall will show one trace in full.
  // (`thread.id` places spans on threads when an event log comes with them.)
  const attributeKeys = opts.keepTrace !== undefined || opts.keepAttributes === true ? undefined : new Set(['thread.id', ...(opts.groupBy !== undefined ? [opts.groupBy] : []), ...(opts.filter.where ?? []).map((w) => w.key)]);
  for (const file of opts.files) {
    inputs.push(
      await readInput(file, sink, {
        ...(opts.inputFormat ? { format: opts.inputFormat } : {}),
        ...(attributeKeys ? { attributeKeys } : {}),
        onBytes: (b) => opts.onBytes?.(file, b),
      }),
    );
  }
  for (const file of opts.threads ?? []) {
    const summary = await readInput(file, sink, { onBytes: (b) => opts.onBytes?.(file, b) });
    if (summary.format !== 'cpath-events') throw new InputError(`${file}: --threads takes an event log of cpath record, not ${summary.format ?? 'an empty input'}`);
    inputs.push(summary);
  }
  if (opts.store !== undefined) readStore(opts.store, sink, opts.filter.sinceNs, opts.filter.untilNs);
  const models = logs.map((l) => buildThreadModel(l, diag));
  logs.length = 0;
  const { traces: built, spanCount } = builder.build();
  if (spanCount === 0 && models.length > 0) return await analyzeThreadsOnly(opts, models, inputs, diag);
  const sources: ThreadSource[] = models.map((model) => ({ model, names: new ThreadNames(model) }));
  const windows: { key: string; traceId: string; start: bigint; end: bigint }[] = [];
  /** With thread data: each trace's path split into threads, for the text report's chains. */
  const expanded = new Map<string, readonly ReportSection[]>();
  const traceCount = built.length;
  const granularity = detectGranularity(built);
  // Report order is trace start order; sort before analysing so traces can be streamed out,
  // and drop each one once analysed (the queue is the only reference left).
  const queue: (Trace | undefined)[] = sortByRootStart(built);
  built.length = 0;
  const analysisOpts = { skewAdjust: opts.skewAdjust, granularity, ...(opts.overlapToleranceNs !== undefined ? { overlapToleranceNs: opts.overlapToleranceNs } : {}) };

  const groupBy = opts.groupBy !== undefined ? groupingOf(opts.groupBy, queue) : undefined;
  /** Analysed traces whose root lacks the --group-by attribute. */
  let ungrouped = 0;
  const keys = new ComponentKeys();
  const summaries: TraceSummary[] = [];
  const reportTraces: ReportTrace[] = [];
  let kept: AnalyzeResult['kept'];
  const retained = opts.details ? new Map<string, Trace>() : undefined;
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
    const summary = summarizeTrace(trace, analysis, groupBy, keys);
    if (!summary) continue;
    if (filtering && !matchesTime(summary.startNs, opts.filter)) {
      excluded++;
      continue;
    }
    const root = trace.spans[analysis.root];
    if (groupBy && root && groupValue(root, groupBy.key) === undefined) ungrouped++;
    if (opts.keepTrace === trace.traceId) kept = { trace, analysis };
    retained?.set(trace.traceId, trace);
    summaries.push(summary);
    if (opts.traces === false && sources.length === 0 && !opts.analysed) continue;
    const at = analysedTrace(trace, analysis, summary);
    opts.analysed?.(at);
    // With thread data, each span section is split into its threads' sections (small inputs:
    // real recordings), so the trace goes out as an object, not streamed from the arrays.
    const out = sources.length > 0 ? withThreads(toReportTrace(at), trace, sources, windows) : at;
    if (!('analysis' in out)) expanded.set(out.traceId, out.criticalPath);
    if (opts.traces === false) continue;
    if (opts.traces === undefined) reportTraces.push('analysis' in out ? toReportTrace(out) : out);
    else {
      const wait = opts.traces(out);
      if (wait) await wait;
    }
  }
  if (sources.length > 0) {
    const shared = countSharedSections(windows);
    if (shared > 0) diag.add('thread_shared', `${shared} critical-path sections ran on a thread (e.g. an event loop) that served another trace's spans at the same time: their thread-level split is shared between those traces, not exclusive`, shared);
  }
  if (excluded > 0) diag.add('filter_excluded', `${excluded} of ${traceCount} traces did not match the filters`, excluded);
  if (groupBy && ungrouped > 0) {
    const { key, fallback } = groupBy;
    diag.add(
      'group_by_missing',
      fallback === 'operation'
        ? `--group-by ${key}: no root span has this attribute (${ungrouped} of ${summaries.length} analysed traces' roots lack it); endpoints are grouped by root operation instead`
        : `--group-by ${key}: ${ungrouped} of ${summaries.length} analysed traces' root spans lack this attribute; they are grouped under "${noKeyGroup(key)}"`,
      ungrouped,
    );
  }

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
      files: [...opts.files, ...(opts.threads ?? []), ...(opts.store !== undefined ? [opts.store] : [])],
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
      ...(models.length > 0 ? { threads: threadInput(models) } : {}),
    },
    diagnostics: diag.entries(),
    traces: reportTraces,
    endpoints: endpoints.map(toReportEndpoint),
  };
  const chains = new Map<string, readonly ReportSection[]>();
  for (const e of report.endpoints) {
    for (const id of [e.typicalTraceId, ...e.outliers.map((o) => o.traceId)]) {
      const path = id !== undefined ? expanded.get(id) : undefined;
      if (id !== undefined && path) chains.set(id, path);
    }
  }
  let details: ReportTraceDetail[] | undefined;
  if (opts.details && retained) {
    details = [];
    for (const id of opts.details(report)) {
      const trace = retained.get(id);
      // Analysed again, exactly as before; its diagnostics were counted the first time.
      const analysis = trace ? analyzeTrace(trace, analysisOpts, new Diagnostics()) : undefined;
      const summary = trace && analysis ? summarizeTrace(trace, analysis, groupBy, keys) : undefined;
      if (!trace || !analysis || !summary) continue;
      const at = analysedTrace(trace, analysis, summary);
      const d = toReportTraceDetail(at);
      if (sources.length > 0) {
        const t = withThreads(toReportTrace(at), trace, sources, []);
        d.criticalPath = t.criticalPath;
        if (t.otherRoots) d.otherRoots = t.otherRoots;
        d.threads = toReportLanes(sources, d.criticalPath, at.startNs, d.durationNs);
      }
      details.push(d);
    }
  }
  return { report, inputs, ...(kept ? { kept } : {}), ...(chains.size > 0 ? { chains } : {}), ...(details ? { details } : {}), ...(sources.length > 0 ? { threadSources: sources } : {}) };
}

/** Splits every span section of the trace into thread-level sub-sections where a log recorded the span's thread. */
function withThreads(rt: ReportTrace, trace: Trace, sources: readonly ThreadSource[], windows: { key: string; traceId: string; start: bigint; end: bigint }[]): ReportTrace {
  const bySpanId = new Map<string, SpanInput>();
  for (const s of trace.spans) bySpanId.set(s.spanId, s);
  const expand = (path: ReportSection[]): ReportSection[] =>
    path.flatMap((sec) => {
      const span = sec.spanId !== undefined ? bySpanId.get(sec.spanId) : undefined;
      const where = span ? spanThread(sources, span) : undefined;
      if (!span || !where || sec.durationNs <= 0) return [sec];
      const start = BigInt(sec.startUnixNano);
      windows.push({ key: `${where.tid}`, traceId: trace.traceId, start, end: start + BigInt(sec.durationNs) });
      const named = { spanId: span.spanId, service: sec.service, operation: sec.operation, ...(sec.error ? { error: true } : {}) };
      return decomposeSection(where.source, where.tid, start, sec.durationNs).map((t) => toThreadSection(t, named));
    });
  return { ...rt, criticalPath: expand(rt.criticalPath), ...(rt.otherRoots ? { otherRoots: rt.otherRoots.map((o) => ({ ...o, criticalPath: expand(o.criticalPath) })) } : {}) };
}

function threadInput(models: readonly ThreadModel[]): NonNullable<ReportInput['threads']> {
  let threads = 0;
  let spread = 0;
  for (const m of models) {
    threads += m.threads.size;
    spread = Math.max(spread, m.anchorSpreadNs);
  }
  return { logs: models.length, threads, anchorSpreadNs: spread, targetPids: models.flatMap((m) => [...m.targetPids]) };
}

/** Event logs without spans: each root call is a trace, each root function an endpoint. */
async function analyzeThreadsOnly(opts: AnalyzeOptions, models: readonly ThreadModel[], inputs: readonly InputSummary[], diag: Diagnostics): Promise<AnalyzeResult> {
  const all = models.flatMap((m) => analyzeRootCalls(m, opts.rootFunction)).sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const f = opts.filter;
  const picked = all.filter((t) => (f.service === undefined || t.process === f.service) && (f.operation === undefined || t.function === f.operation) && matchesTime(t.startNs, f));
  if (picked.length < all.length) diag.add('filter_excluded', `${all.length - picked.length} of ${all.length} root calls did not match the filters`, all.length - picked.length);
  const endpoints = aggregateEndpoints(picked.map((t) => t.summary), opts.outliers, opts.top).map(toReportEndpoint);
  const byId = new Map(picked.map((t) => [t.traceId, t]));
  const chains = new Map<string, readonly ReportSection[]>();
  for (const e of endpoints) {
    const mine = picked.filter((t) => t.process === e.service && t.function === e.operation);
    const total = mine.reduce((n, t) => n + t.durationNs, 0);
    const waits = waitTotals(mine.flatMap((t) => t.sections)).map((w) => ({ ...w, share: total > 0 ? w.ns / total : 0 }));
    if (waits.length > 0) e.waits = waits;
    for (const id of [e.typicalTraceId, ...e.outliers.map((o) => o.traceId)]) {
      const t = id !== undefined ? byId.get(id) : undefined;
      if (t) chains.set(t.traceId, toThreadReportTrace(t).criticalPath);
    }
  }
  const reportTraces = opts.traces === undefined ? picked.map(toThreadReportTrace) : [];
  if (typeof opts.traces === 'function') {
    for (const t of picked) {
      const wait = opts.traces(toThreadReportTrace(t));
      if (wait) await wait;
    }
  }
  const report: AnalyzeReport = {
    version: 1,
    generator: `cpath ${VERSION}`,
    input: {
      files: [...opts.files, ...(opts.threads ?? [])],
      formats: inputs.map((i) => i.format ?? 'empty'),
      spans: 0,
      traces: all.length,
      tracesAnalysed: picked.length,
      settings: { skewAdjust: opts.skewAdjust, outliers: opts.outliersLabel, top: opts.top, ...(opts.rootFunction !== undefined ? { rootFunction: opts.rootFunction } : {}) },
      granularity: {},
      threads: threadInput(models),
    },
    diagnostics: diag.entries(),
    traces: reportTraces,
    endpoints,
  };
  let details: ReportTraceDetail[] | undefined;
  if (opts.details) {
    const sources: ThreadSource[] = models.map((model) => ({ model, names: new ThreadNames(model) }));
    details = [];
    for (const id of opts.details(report)) {
      const t = byId.get(id);
      if (!t) continue;
      const { spans: _none, ...rt } = toThreadReportTrace(t);
      details.push({ ...rt, spans: [], threads: toReportLanes(sources, rt.criticalPath, t.startNs, t.durationNs) });
    }
  }
  return { report, inputs, chains, ...(details ? { details } : {}) };
}

/** --group-by KEY: roots without KEY go to `(no KEY)`, unless no parentless span of the input has KEY at all. */
function groupingOf(key: string, traces: readonly (Trace | undefined)[]): GroupBy {
  for (const t of traces) {
    if (!t) continue;
    for (let i = 0; i < t.spans.length; i++) {
      const s = t.spans[i];
      if (t.parent[i] === -1 && s && groupValue(s, key) !== undefined) return { key, fallback: 'no-key-group' };
    }
  }
  return { key, fallback: 'operation' };
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
