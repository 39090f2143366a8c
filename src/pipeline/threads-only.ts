// Event logs without spans: each root call (of `--root`, or the outermost probed calls) is a
// trace, each root function of a process an endpoint; the wait reasons are summed per endpoint.
import { aggregateEndpoints, type OutlierPolicy } from '../../analysis/endpoints.js';
import { matchesTime, type TraceFilter } from '../../analysis/filters.js';
import type { ThreadSource } from '../../analysis/threads/span-threads.js';
import { ThreadNames, analyzeRootCalls, waitTotals, type ThreadTrace } from '../../analysis/threads/thread-traces.js';
import type { ThreadModel } from '../../analysis/threads/types.js';
import type { Diagnostics } from '../model/diagnostics.js';
import { reportHeader, reportSettings } from '../report/header.js';
import { toReportLanes, toThreadReportTrace } from '../report/thread-json.js';
import { toReportEndpoint } from '../report/trace-json.js';
import type { AnalyzeReport, ReportSection, ReportTraceDetail } from '../report/types.js';
import type { ReadInputs, ReadRequest } from './read.js';
import { threadInput } from './thread-split.js';

export interface RootCallSettings {
  readonly skewAdjust: boolean;
  readonly filter: TraceFilter;
  readonly outliers: OutlierPolicy;
  readonly top: number;
  readonly rootFunction?: string;
}

export interface RootCalls {
  /** The root calls that passed the filters, in start order. */
  readonly picked: readonly ThreadTrace[];
  readonly report: AnalyzeReport;
  /** The critical path of each endpoint's typical trace and outliers, for the text report. */
  readonly chains: ReadonlyMap<string, readonly ReportSection[]>;
  readonly detail: (traceId: string) => ReportTraceDetail | undefined;
}

export function rootCallReport(req: Pick<ReadRequest, 'files' | 'threads'>, read: ReadInputs, settings: RootCallSettings, diag: Diagnostics): RootCalls {
  const models: readonly ThreadModel[] = read.models;
  const all = models.flatMap((m) => analyzeRootCalls(m, settings.rootFunction)).sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const f = settings.filter;
  const picked = all.filter((t) => (f.service === undefined || t.process === f.service) && (f.operation === undefined || t.function === f.operation) && matchesTime(t.startNs, f));
  if (picked.length < all.length) diag.add('filter_excluded', `${all.length - picked.length} of ${all.length} root calls did not match the filters`, all.length - picked.length);
  const endpoints = aggregateEndpoints(picked.map((t) => t.summary), settings.outliers, settings.top).map(toReportEndpoint);
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
  const report: AnalyzeReport = {
    ...reportHeader(),
    input: {
      files: [...req.files, ...(req.threads ?? [])],
      formats: read.inputs.map((i) => i.format ?? 'empty'),
      spans: 0,
      traces: all.length,
      tracesAnalysed: picked.length,
      settings: reportSettings({ skewAdjust: settings.skewAdjust, outliers: settings.outliers, top: settings.top, ...(settings.rootFunction !== undefined ? { rootFunction: settings.rootFunction } : {}) }),
      granularity: {},
      threads: threadInput(models),
    },
    diagnostics: diag.entries(),
    traces: [],
    endpoints,
  };
  let sources: ThreadSource[] | undefined;
  const detail = (id: string): ReportTraceDetail | undefined => {
    const t = byId.get(id);
    if (!t) return undefined;
    sources ??= models.map((model) => ({ model, names: new ThreadNames(model) }));
    const { spans: _none, ...rt } = toThreadReportTrace(t);
    return { ...rt, spans: [], threads: toReportLanes(sources, rt.criticalPath, t.startNs, t.durationNs) };
  };
  return { picked, report, chains, detail };
}
