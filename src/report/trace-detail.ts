// `GET /api/traces/{id}`: one stored trace analysed afresh, as the single node and the cluster's
// API role both answer it: the report's trace detail, or, for a trace with no analysable root,
// its outline and problems.
import { addGranularity } from '../../analysis/granularity.js';
import { analysedTrace } from '../../analysis/analysed-trace.js';
import { traceOutline } from '../../analysis/trace-outline.js';
import { analyzeTrace } from '../../analysis/trace-analysis.js';
import { summarizeTrace, type ComponentKeys } from '../../analysis/trace-summary.js';
import { Diagnostics, type DiagnosticEntry } from '../model/diagnostics.js';
import type { ResourceInfo } from '../model/span.js';
import type { Trace } from '../model/trace-builder.js';
import { toReportTraceDetail } from './span-json.js';
import type { ReportTraceDetail } from './types.js';

/** `GET /api/traces/{id}` of a stored trace with no analysable root. */
export interface UnanalysableTraceDetail {
  traceId: string;
  /** Always false: there is no critical path to show. */
  analysed: false;
  /** Service and name of the earliest span. */
  service: string;
  operation: string;
  startUnixNano: string;
  durationNs: number;
  spans: number;
  errors: number;
  /** Why it could not be analysed (e.g. parent_cycle). */
  diagnostics: readonly DiagnosticEntry[];
}

/**
 * The detail of one trace. `granularity`: what is known of every resource (copied, then this
 * trace's spans folded in). Its problems are counted in `diag` when given, else aside.
 */
export function traceDetail(trace: Trace, o: { readonly skewAdjust: boolean; readonly granularity: ReadonlyMap<ResourceInfo, number>; readonly keys: ComponentKeys; readonly diag?: Diagnostics }): ReportTraceDetail | UnanalysableTraceDetail {
  const diag = o.diag ?? new Diagnostics();
  const gran = new Map(o.granularity);
  addGranularity(gran, trace);
  const analysis = analyzeTrace(trace, { skewAdjust: o.skewAdjust, granularity: gran }, diag);
  const summary = analysis ? summarizeTrace(trace, analysis, undefined, o.keys) : undefined;
  if (!analysis || !summary) {
    const u = traceOutline(trace);
    return { traceId: trace.traceId, analysed: false, service: u.service, operation: u.operation, startUnixNano: String(u.startNs), durationNs: u.durationNs, spans: u.spans, errors: u.errors, diagnostics: diag.entries() };
  }
  return toReportTraceDetail(analysedTrace(trace, analysis, summary));
}
