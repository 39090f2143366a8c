// Stage 2: span traces analysed one by one, in the order reports list them (the primary root's
// start), each dropped once handed on: prepare and walk (analysis/trace-analysis.ts), then the
// summary the endpoint statistics are made of. Filters apply here.
import { analysedTrace, type AnalysedTrace } from '../../analysis/analysed-trace.js';
import type { TraceSummary } from '../../analysis/endpoints.js';
import { isEmptyFilter, matchesContent, matchesTime, type TraceFilter } from '../../analysis/filters.js';
import { detectGranularity } from '../../analysis/granularity.js';
import { ComponentKeys, groupValue, noKeyGroup, summarizeTrace, type GroupBy } from '../../analysis/trace-summary.js';
import { analyzeTrace, type AnalysisOptions } from '../../analysis/trace-analysis.js';
import { Diagnostics } from '../model/diagnostics.js';
import type { ResourceInfo } from '../model/span.js';
import type { Trace } from '../model/trace-builder.js';

export interface SpanAnalysisSettings {
  readonly skewAdjust: boolean;
  readonly overlapToleranceNs?: number;
  readonly groupBy?: string;
  readonly filter: TraceFilter;
}

export class SpanTraces {
  /** Traces read, before filters. */
  readonly traceCount: number;
  readonly granularity: ReadonlyMap<ResourceInfo, number>;
  /** The summary of every trace analysed so far that passed the filters, in order. */
  readonly summaries: TraceSummary[] = [];
  private readonly queue: (Trace | undefined)[];
  private readonly analysisOpts: AnalysisOptions;
  private readonly keys = new ComponentKeys();
  private readonly groupBy: GroupBy | undefined;
  private excluded = 0;
  /** Analysed traces whose root lacks the --group-by attribute. */
  private ungrouped = 0;

  /** Takes the traces over: `traces` is emptied, so each trace is referenced only until it is analysed. */
  constructor(
    traces: Trace[],
    private readonly settings: SpanAnalysisSettings,
    private readonly diag: Diagnostics,
  ) {
    this.traceCount = traces.length;
    this.granularity = detectGranularity(traces);
    this.groupBy = settings.groupBy !== undefined ? groupingOf(settings.groupBy, traces) : undefined;
    this.queue = sortByRootStart(traces);
    traces.length = 0;
    this.analysisOpts = { skewAdjust: settings.skewAdjust, granularity: this.granularity, ...(settings.overlapToleranceNs !== undefined ? { overlapToleranceNs: settings.overlapToleranceNs } : {}) };
  }

  /** Each trace that passes the filters, analysed, in start order (once). */
  *analysed(): Generator<AnalysedTrace> {
    const filter = this.settings.filter;
    const filtering = !isEmptyFilter(filter);
    for (let qi = 0; qi < this.queue.length; qi++) {
      const trace = this.queue[qi];
      this.queue[qi] = undefined;
      if (!trace) continue;
      if (filtering && !matchesContent(trace, filter)) {
        this.excluded++;
        continue;
      }
      const analysis = analyzeTrace(trace, this.analysisOpts, this.diag);
      if (!analysis) continue;
      const summary = summarizeTrace(trace, analysis, this.groupBy, this.keys);
      if (!summary) continue;
      if (filtering && !matchesTime(summary.startNs, filter)) {
        this.excluded++;
        continue;
      }
      const root = trace.spans[analysis.root];
      if (this.groupBy && root && groupValue(root, this.groupBy.key) === undefined) this.ungrouped++;
      this.summaries.push(summary);
      yield analysedTrace(trace, analysis, summary);
    }
  }

  /** A trace handed on earlier, analysed again exactly as before (its diagnostics were counted the first time). */
  again(trace: Trace): AnalysedTrace | undefined {
    const analysis = analyzeTrace(trace, this.analysisOpts, new Diagnostics());
    const summary = analysis ? summarizeTrace(trace, analysis, this.groupBy, this.keys) : undefined;
    return analysis && summary ? analysedTrace(trace, analysis, summary) : undefined;
  }

  /** Counts the traces the filters left out and the roots without the --group-by attribute (once every trace was analysed). */
  finish(): void {
    if (this.excluded > 0) this.diag.add('filter_excluded', `${this.excluded} of ${this.traceCount} traces did not match the filters`, this.excluded);
    if (this.groupBy && this.ungrouped > 0) {
      const { key, fallback } = this.groupBy;
      const n = this.summaries.length;
      this.diag.add(
        'group_by_missing',
        fallback === 'operation'
          ? `--group-by ${key}: no root span has this attribute (${this.ungrouped} of ${n} analysed traces' roots lack it); endpoints are grouped by root operation instead`
          : `--group-by ${key}: ${this.ungrouped} of ${n} analysed traces' root spans lack this attribute; they are grouped under "${noKeyGroup(key)}"`,
        this.ungrouped,
      );
    }
  }
}

/** --group-by KEY: roots without KEY go to `(no KEY)`, unless no parentless span of the input has KEY at all. */
function groupingOf(key: string, traces: readonly Trace[]): GroupBy {
  for (const t of traces) {
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
