// What the live page of `cpath serve` asks for: `GET /api/page` (the page's whole data, the
// `PageData` the HTML report embeds) and the attribute search of `GET /api/traces?attr=`.
import { UsageError } from '../params/values.js';
import { percentileCurve, summaryColumns } from '../report/page-data.js';
import type { PageData } from '../report/page-types.js';
import type { AttrMatch, SpanStore, TraceCursor, TraceListEntry, TraceQuery } from '../store/span-store.js';
import { granularityLabels, reportHeader, reportSettings, type AnalysisSettings } from '../report/header.js';
import type { LiveAnalysis } from './live-analysis.js';
import type { EndpointIndexReader } from '../../analysis/endpoint-index.js';
import type { DiagnosticEntry } from '../model/diagnostics.js';
import type { ResourceInfo } from '../model/span.js';
import type { ReportEndpoint } from '../report/types.js';

/** The live page draws at most this many traces (the newest): a few MB of JSON. Its statistics cover all. */
export const PAGE_MAX_TRACES = 100_000;

/** The settings of the server's analysis, as the report's `input.settings` shows them. */
export type { AnalysisSettings };

/** What the live page is built from: the single node's live analysis, or the cluster's api role. */
export interface LivePageSource {
  /** The store, as the page names it (a file, or a postgres:// URL without its password). */
  readonly storeName: string;
  readonly summaries: EndpointIndexReader;
  readonly granularity: ReadonlyMap<ResourceInfo, number>;
  endpoints(sinceNs?: bigint, untilNs?: bigint): ReportEndpoint[];
  diagnostics(): DiagnosticEntry[];
  /** Stored traces and spans. */
  counts(): { readonly traces: number; readonly spans: number };
}

/** `GET /api/page`: the live page's data over the analysed traces starting in [since, until). */
export function livePageData(live: LiveAnalysis, store: SpanStore, settings: AnalysisSettings, sinceNs?: bigint, untilNs?: bigint, now = Date.now(), maxTraces = PAGE_MAX_TRACES): PageData {
  const view = live.view();
  // The writer keeps the counts up to date itself (counting rows is slow on a big store).
  const src: LivePageSource = { storeName: store.file, summaries: view.summaries, granularity: view.granularity, endpoints: (s, u) => live.endpoints(s, u), diagnostics: () => live.diag.entries(), counts: () => store.counts() };
  return pageData(src, settings, sinceNs, untilNs, now, maxTraces);
}

export function pageData(src: LivePageSource, settings: AnalysisSettings, sinceNs?: bigint, untilNs?: bigint, now = Date.now(), maxTraces = PAGE_MAX_TRACES): PageData {
  // The statistics are exact over every trace in the window (the index merges its buckets); the
  // heat maps and summary columns draw the newest `maxTraces` of them and count the rest.
  const endpoints = src.endpoints(sinceNs, untilNs);
  const { picked, inWindow } = src.summaries.newest(maxTraces, sinceNs, untilNs);
  const omitted = inWindow - picked.length;
  const { traces, spans } = src.counts();
  return {
    mode: 'live',
    report: {
      ...reportHeader(),
      input: {
        files: [src.storeName],
        formats: ['cpath-store'],
        spans,
        traces,
        tracesAnalysed: inWindow,
        settings: reportSettings({ skewAdjust: settings.skewAdjust, outliers: settings.outliers, top: settings.top }),
        granularity: granularityLabels(src.granularity),
      },
      diagnostics: src.diagnostics(),
      endpoints,
    },
    summaries: { ...summaryColumns(picked, endpoints), omitted },
    curves: endpoints.map((e) => percentileCurve(e.latencyHistogram)),
    traces: [],
    takenAtMs: now,
  };
}

/**
 * The all-time page as JSON, rebuilt at most every max(1 s, 10 × its last build time), 30 s at
 * most. A build merges the endpoint index's buckets and lists the newest traces (tens of ms for
 * 1M traces, `npm run bench:endpoints`; the first build after a restart builds every bucket, a
 * few seconds per million). So however many pages poll, building them takes about a tenth of
 * the server's time at most, and a poll between builds costs nothing.
 */
export class PageSnapshot {
  private last: { json: string; builtAt: number; costMs: number } | undefined;

  get(build: () => PageData, now = Date.now()): string {
    const l = this.last;
    // Capped so that one slow (cold) build does not freeze the page for minutes.
    if (l && now - l.builtAt < Math.min(30_000, Math.max(1_000, 10 * l.costMs))) return l.json;
    const t0 = performance.now();
    const json = `${JSON.stringify(build())}\n`;
    this.last = { json, builtAt: now, costMs: performance.now() - t0 };
    return json;
  }
}

/** `attr=key=value` (split at the first `=`, like `--where`). */
export function attrParam(v: string): AttrMatch {
  const i = v.indexOf('=');
  if (i <= 0) throw new UsageError(`attr: "${v}" is not KEY=VALUE`);
  return { key: v.slice(0, i), value: v.slice(i + 1) };
}

/** How long one attribute search may scan before it answers with what it found and a cursor. */
export const SEARCH_BUDGET_MS = 1_000;
/** One slice of scanning between two turns of the event loop (receivers keep being served). */
const SLICE_MS = 20;

/**
 * An attribute search in slices of ~20 ms: up to `q.limit` matches, scanning for at most
 * `budgetMs`. `next` continues the scan where it stopped: a page with fewer than `limit`
 * matches and a `next` means the budget ran out, not that there are no more.
 */
export async function searchByAttributes(
  store: SpanStore,
  q: TraceQuery,
  attrs: readonly AttrMatch[],
  cancelled: () => boolean,
  budgetMs = SEARCH_BUDGET_MS,
): Promise<{ traces: TraceListEntry[]; next?: TraceCursor; scanned: number }> {
  const end = Date.now() + budgetMs;
  const traces: TraceListEntry[] = [];
  const walk = store.searchTraces(q, attrs);
  let at: TraceCursor | undefined;
  let scanned = 0;
  try {
    for (;;) {
      const sliceEnd = Math.min(end, Date.now() + SLICE_MS);
      do {
        const step = walk.next();
        if (step.done) return { traces, scanned };
        scanned++;
        at = step.value.at;
        if (step.value.match) traces.push(step.value.match);
        if (traces.length >= q.limit) return { traces, scanned, next: at };
      } while (Date.now() < sliceEnd);
      if (Date.now() >= end) return { traces, scanned, ...(at ? { next: at } : {}) };
      await new Promise((r) => setImmediate(r));
      if (cancelled()) return { traces, scanned };
    }
  } finally {
    walk.return();
  }
}
