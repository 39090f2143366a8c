// The server's analysis state: traces are assembled in the store, analysed when quiet for the
// idle window (like the Collector's tail-sampling decision wait), re-analysed when late spans
// reopen them, and summarised into the same per-endpoint statistics as `cpath analyze`, kept
// current per endpoint and time bucket by an EndpointIndex (not re-aggregated per request).
import { EndpointIndex, type EndpointIndexReader } from '../../analysis/endpoint-index.js';
import type { OutlierPolicy } from '../../analysis/endpoints.js';
import { addGranularity } from '../../analysis/granularity.js';
import { ComponentKeys, summarizeTrace } from '../../analysis/trace-summary.js';
import { analyzeTrace } from '../../analysis/trace-analysis.js';
import { Diagnostics, type DiagnosticEntry } from '../model/diagnostics.js';
import { ResourceInterner, type ResourceInfo, type SpanInput } from '../model/span.js';
import { TraceSetBuilder, type Trace } from '../model/trace-builder.js';
import { traceOutline } from '../../analysis/trace-outline.js';
import { toReportEndpoint } from '../report/trace-json.js';
import { traceDetail, type UnanalysableTraceDetail } from '../report/trace-detail.js';
import type { ReportEndpoint, ReportTraceDetail } from '../report/types.js';
import type { SpanStore, UnanalysableTrace } from '../store/span-store.js';

export interface LiveOptions {
  /** Quiet time after a trace's last batch before it is analysed, ms. */
  readonly idleMs: number;
  readonly skewAdjust: boolean;
  /** Traces waiting (quiet or not) beyond which the receivers answer "busy". */
  readonly maxPending: number;
  /** Spans of new traces kept in memory until their analysis, at most. */
  readonly maxBufferedSpans: number;
  readonly outliers: OutlierPolicy;
  readonly top: number;
  /** Told about failures that do not stop the server. */
  readonly onError?: (message: string) => void;
}

export class LiveAnalysis {
  /** Shared by every request and store read so that resources stay interned (granularity is per resource). */
  readonly resources = new ResourceInterner();
  /** Problems met while building and analysing traces (each trace counted once per analysis). */
  readonly diag = new Diagnostics();
  private readonly granularity = new Map<ResourceInfo, number>();
  private readonly keys = new ComponentKeys();
  /** The analysed traces' summaries, by endpoint and time bucket. */
  private readonly index = new EndpointIndex();
  /** Spans of traces first seen by this process and not analysed yet, oldest trace first. */
  private readonly buffered = new Map<string, SpanInput[]>();
  private bufferedSpans = 0;
  /** Traces analysed here that had no analysable root: their spans are in the store only. */
  private readonly unanalysable = new Set<string>();
  /** Traces with unanalysed spans, by last batch time (ms); Map order is oldest batch first. */
  private readonly open = new Map<string, number>();
  /** The all-time endpoints, valid while the index's version is unchanged. */
  private cached: { version: number; endpoints: ReportEndpoint[] } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private working = false;
  private stopped = false;
  analysed = 0;

  constructor(
    private readonly store: SpanStore,
    private readonly opts: LiveOptions,
  ) {}

  /** Rebuilds the aggregates from the store and queues what was never analysed. */
  restore(now = Date.now()): { traces: number; pending: number } {
    for (const t of this.store.summaries()) this.index.set(t.summary);
    const dirty = this.store.dirtyTraces();
    for (const id of dirty) this.open.set(id, now);
    this.schedule();
    this.warm();
    return { traces: this.index.size, pending: dirty.length };
  }

  /**
   * Builds the restored index's blocks in slices of ~20 ms between other work, so that the first
   * request for statistics does not build them all at once (seconds for a million traces).
   */
  private warm(): void {
    if (this.stopped) return;
    const end = Date.now() + 20;
    while (Date.now() < end) if (this.index.prepare(2_000)) return;
    setImmediate(() => this.warm());
  }

  /**
   * New spans committed: (re)start their traces' quiet window. A trace first seen now keeps its
   * spans in memory until it is analysed (reading them back from the store cost a third of the
   * server's CPU under load); a reopened or restored one, or one past the memory budget, is
   * read back from the store.
   */
  touch(spans: readonly SpanInput[], now = Date.now()): void {
    for (const s of spans) {
      const id = s.traceId;
      if (this.open.get(id) !== now) {
        const fresh = !this.open.has(id) && !this.index.has(id) && !this.unanalysable.has(id);
        // Delete first so that the Map keeps oldest-first order.
        this.open.delete(id);
        this.open.set(id, now);
        if (fresh) this.buffered.set(id, []);
      }
      const buf = this.buffered.get(id);
      if (buf) {
        buf.push(s);
        this.bufferedSpans++;
      }
    }
    // Over budget: the oldest traces give up their copies and will be read from the store.
    for (const [id, buf] of this.buffered) {
      if (this.bufferedSpans <= this.opts.maxBufferedSpans) break;
      this.bufferedSpans -= buf.length;
      this.buffered.delete(id);
    }
    this.schedule();
  }

  get pending(): number {
    return this.open.size;
  }

  /** The bounded queue between receiving and analysis is full. */
  saturated(): boolean {
    return this.open.size >= this.opts.maxPending;
  }

  get tracesKnown(): number {
    return this.index.size;
  }

  /** The analysed traces' summaries and the detected granularity, read-only (the live page's snapshot). */
  view(): { readonly summaries: EndpointIndexReader; readonly granularity: ReadonlyMap<ResourceInfo, number> } {
    return { summaries: this.index, granularity: this.granularity };
  }

  /** Stops the analysis timer for good (the server closes the store next); unanalysed traces stay dirty in the store. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.open.size === 0) return;
    const first = this.open.values().next();
    const wait = first.done ? this.opts.idleMs : Math.max(0, first.value + this.opts.idleMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.work();
    }, wait);
    this.timer.unref();
  }

  /** Analyses quiet traces in slices of ~20 ms so that receivers keep being served. */
  private work(): void {
    if (this.working || this.stopped) return;
    this.working = true;
    let more = false;
    try {
      // One transaction per slice: the analyses' row updates share one commit.
      more = this.store.batch(() => this.slice());
    } catch (e) {
      // The store failed (I/O error...): the traces stay dirty and are tried again after
      // another quiet window; the server keeps running.
      this.opts.onError?.(`analysis failed: ${e instanceof Error ? e.message : String(e)}; retrying later`);
    } finally {
      this.working = false;
    }
    if (more) setImmediate(() => this.work());
    else this.schedule();
  }

  /** Analyses quiet traces for ~20 ms; true when more are already quiet. */
  private slice(): boolean {
    const sliceEnd = Date.now() + 20;
    const cutoff = Date.now() - this.opts.idleMs;
    for (const [id, seen] of this.open) {
      if (seen > cutoff) return false;
      this.open.delete(id);
      try {
        this.analyse(id);
      } catch (e) {
        this.open.set(id, Date.now());
        throw e;
      }
      if (Date.now() >= sliceEnd) return true;
    }
    return false;
  }

  /** Analyses every waiting trace now, quiet or not (shutdown, tests). */
  flushAll(): void {
    this.store.batch(() => {
      for (const id of [...this.open.keys()]) {
        this.open.delete(id);
        this.analyse(id);
      }
    });
  }

  private loadTrace(traceId: string, diag: Diagnostics, useBuffer = false): Trace | undefined {
    const buf = useBuffer ? this.buffered.get(traceId) : undefined;
    if (buf) {
      this.buffered.delete(traceId);
      this.bufferedSpans -= buf.length;
    }
    const spans = buf ?? this.store.spansOfTrace(traceId, this.resources);
    if (spans.length === 0) return undefined;
    const builder = new TraceSetBuilder(diag);
    for (const s of spans) builder.add(s);
    return builder.build().traces[0];
  }

  private analyse(traceId: string): void {
    const trace = this.loadTrace(traceId, this.diag, true);
    if (!trace) {
      this.index.delete(traceId);
      return;
    }
    addGranularity(this.granularity, trace);
    const analysis = analyzeTrace(trace, { skewAdjust: this.opts.skewAdjust, granularity: this.granularity }, this.diag);
    const summary = analysis ? summarizeTrace(trace, analysis, undefined, this.keys) : undefined;
    this.analysed++;
    if (!summary) {
      // Stored and acknowledged, so listed, flagged with why it has no analysis (never hidden).
      this.unanalysable.add(traceId);
      this.store.saveUnanalysable(unanalysable(trace, this.traceProblems(traceId)));
      this.index.delete(traceId);
      return;
    }
    let errors = 0;
    for (const s of trace.spans) if (s.status === 'error') errors++;
    this.store.saveAnalysis({ summary, spans: trace.spans.length, errors });
    this.index.set(summary);
  }

  /** Retention deleted these traces. */
  forget(traceIds: readonly string[]): void {
    for (const id of traceIds) {
      this.index.delete(id);
      this.open.delete(id);
      this.unanalysable.delete(id);
      const buf = this.buffered.get(id);
      if (buf) {
        this.bufferedSpans -= buf.length;
        this.buffered.delete(id);
      }
    }
  }

  /**
   * The `endpoints` of `cpath analyze --format json` over the analysed traces starting in
   * [since, until): exact over all of them, merged from the index's buckets.
   */
  endpoints(sinceNs?: bigint, untilNs?: bigint): ReportEndpoint[] {
    const allTime = sinceNs === undefined && untilNs === undefined;
    const version = this.index.version;
    if (allTime && this.cached?.version === version) return this.cached.endpoints;
    const endpoints = this.index.endpoints(this.opts.outliers, this.opts.top, sinceNs, untilNs).map(toReportEndpoint);
    if (allTime) this.cached = { version, endpoints };
    return endpoints;
  }

  /** The problems of one trace alone (the server's counts add every trace's together). */
  private traceProblems(traceId: string): DiagnosticEntry[] {
    const diag = new Diagnostics();
    const trace = this.loadTrace(traceId, diag);
    if (trace) analyzeTrace(trace, { skewAdjust: this.opts.skewAdjust, granularity: new Map(this.granularity) }, diag);
    return diag.entries();
  }

  /**
   * One trace, analysed afresh from the store (its spans may be newer than the last analysis);
   * a stored trace that cannot be analysed (no root) is answered with its problems.
   */
  trace(traceId: string): ReportTraceDetail | UnanalysableTraceDetail | undefined {
    // Problems of an on-demand view are not the server's: counted aside.
    const diag = new Diagnostics();
    const trace = this.loadTrace(traceId, diag);
    return trace ? traceDetail(trace, { skewAdjust: this.opts.skewAdjust, granularity: this.granularity, keys: this.keys, diag }) : undefined;
  }
}

export type { UnanalysableTraceDetail };

function unanalysable(trace: Trace, diagnostics: readonly DiagnosticEntry[]): UnanalysableTrace {
  return { traceId: trace.traceId, ...traceOutline(trace), diagnostics };
}
