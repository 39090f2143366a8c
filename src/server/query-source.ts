// What the query API and the live page read: one interface, two sources. A single node answers
// from its SQLite store and in-process analysis; the cluster's API role from PostgreSQL and the
// analyses it follows there (src/cluster/cluster-query.ts).
import type { DiagnosticEntry } from '../model/diagnostics.js';
import type { PageData } from '../report/page-types.js';
import type { ReportEndpoint, ReportTraceDetail } from '../report/types.js';
import type { AttrMatch, SpanStore, TraceCursor, TraceListEntry, TraceQuery } from '../store/span-store.js';
import type { LiveAnalysis, UnanalysableTraceDetail } from './live-analysis.js';
import { livePageData, searchByAttributes, type AnalysisSettings } from './page-api.js';

/** A value now, or later. */
export type Answer<T> = T | Promise<T>;

export interface TracePage {
  readonly traces: TraceListEntry[];
  readonly next?: TraceCursor;
}

export interface QuerySource {
  /** `GET /api/page`: the live page's data over the analysed traces starting in [since, until). */
  page(sinceNs?: bigint, untilNs?: bigint): PageData;
  /** `GET /api/endpoints`: the `endpoints` of `cpath analyze --format json` over the same traces. */
  endpoints(sinceNs?: bigint, untilNs?: bigint): ReportEndpoint[];
  diagnostics(): DiagnosticEntry[];
  /** One trace analysed afresh, or its problems when it has no analysable root; undefined: not stored. */
  trace(traceId: string): Answer<ReportTraceDetail | UnanalysableTraceDetail | undefined>;
  listTraces(q: TraceQuery): Answer<TracePage>;
  /** The attribute search: at most `q.limit` matches within a time budget (`next` continues). */
  searchTraces(q: TraceQuery, attrs: readonly AttrMatch[], cancelled: () => boolean): Promise<TracePage & { scanned: number }>;
}

/** The single node's source: its store and live analysis. */
export function localQuery(live: LiveAnalysis, store: SpanStore, settings: AnalysisSettings): QuerySource {
  return {
    page: (sinceNs, untilNs) => livePageData(live, store, settings, sinceNs, untilNs),
    endpoints: (sinceNs, untilNs) => live.endpoints(sinceNs, untilNs),
    diagnostics: () => live.diag.entries(),
    trace: (id) => live.trace(id),
    listTraces: (q) => store.listTraces(q),
    searchTraces: (q, attrs, cancelled) => searchByAttributes(store, q, attrs, cancelled),
  };
}
