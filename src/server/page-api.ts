// What the live page of `cpath serve` asks for: `GET /api/page` (the page's whole data, the
// `PageData` the HTML report embeds) and the attribute search of `GET /api/traces?attr=`.
import { aggregateEndpoints, type TraceSummary } from '../../analysis/endpoints.js';
import { toReportEndpoint } from '../report/trace-json.js';
import { UsageError } from '../params/values.js';
import { percentileCurve, summaryColumns } from '../report/page-data.js';
import type { PageData } from '../report/page-types.js';
import type { AttrMatch, SpanStore, TraceCursor, TraceListEntry, TraceQuery } from '../store/span-store.js';
import { granularityLabels, reportHeader, reportSettings, type AnalysisSettings } from '../report/header.js';
import type { LiveAnalysis } from './live-analysis.js';

/** The live page draws at most this many traces (the newest): a few MB of JSON. */
export const PAGE_MAX_TRACES = 100_000;

/** The settings of the server's analysis, as the report's `input.settings` shows them. */
export type { AnalysisSettings };

/** `GET /api/page`: the live page's data over the analysed traces starting in [since, until). */
export function livePageData(live: LiveAnalysis, store: SpanStore, settings: AnalysisSettings, sinceNs?: bigint, untilNs?: bigint, now = Date.now(), maxTraces = PAGE_MAX_TRACES): PageData {
  const view = live.view();
  const { picked, omitted } = newest(view.summaries.values(), maxTraces, sinceNs, untilNs);
  // Over the traces the heat maps draw: when older ones are left out, the statistics leave them
  // out too (the page stays consistent, and a poll costs at most 100k traces' aggregation).
  const endpoints = omitted > 0 ? aggregateEndpoints(picked, settings.outliers, settings.top).map(toReportEndpoint) : live.endpoints(sinceNs, untilNs);
  // The writer keeps these counts up to date itself (counting rows is slow on a big store).
  const { traces, spans } = store.counts();
  return {
    mode: 'live',
    report: {
      ...reportHeader(),
      input: {
        files: [store.file],
        formats: ['cpath-store'],
        spans,
        traces,
        tracesAnalysed: picked.length + omitted,
        settings: reportSettings({ skewAdjust: settings.skewAdjust, outliers: settings.outliers, top: settings.top }),
        granularity: granularityLabels(view.granularity),
      },
      diagnostics: live.diag.entries(),
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
 * most. A build aggregates every analysed trace (about 0.3 s for 40k traces here, 3 s for 1M)
 * and under ingest every build is a fresh one. So however many pages poll, building them takes
 * about a tenth of the server's time at most, and a poll between builds costs nothing.
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

/**
 * The newest `max` summaries (by start) in the window, in no particular order, and how many
 * more there were. Linear plus a sort of one Float64Array when over `max`: a million
 * summaries must not mean a million bigint comparisons per poll.
 */
export function newest(all: Iterable<TraceSummary>, max: number, sinceNs?: bigint, untilNs?: bigint): { picked: TraceSummary[]; omitted: number } {
  const inWindow: TraceSummary[] = [];
  for (const s of all) {
    if (sinceNs !== undefined && s.startNs < sinceNs) continue;
    if (untilNs !== undefined && s.startNs >= untilNs) continue;
    inWindow.push(s);
  }
  if (inWindow.length <= max) return { picked: inWindow, omitted: 0 };
  // Starts as doubles (±256 ns at today's epoch) only choose the cut; ties at the cut are
  // filled in iteration order, so exactly `max` are kept.
  const starts = new Float64Array(inWindow.length);
  inWindow.forEach((s, i) => (starts[i] = Number(s.startNs)));
  const sorted = starts.slice().sort();
  const cut = sorted[sorted.length - max] ?? -Infinity;
  let above = 0;
  for (const v of starts) if (v > cut) above++;
  let ties = max - above;
  const picked: TraceSummary[] = [];
  inWindow.forEach((s, i) => {
    const v = starts[i] ?? -Infinity;
    if (v > cut || (v === cut && ties-- > 0)) picked.push(s);
  });
  return { picked, omitted: inWindow.length - picked.length };
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
