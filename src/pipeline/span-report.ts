// Stage 3: the report model of span inputs, once every trace was analysed: what was read, with
// which settings, the diagnostics, and the per-endpoint statistics.
import { InputError } from '../../collectors/index.js';
import { aggregateEndpoints } from '../../analysis/endpoints.js';
import type { DiagnosticEntry, Diagnostics } from '../model/diagnostics.js';
import { granularityLabels, reportHeader, reportSettings, type AnalysisSettings } from '../report/header.js';
import { toReportEndpoint } from '../report/trace-json.js';
import type { AnalyzeReport, ReportTrace } from '../report/types.js';
import type { ReadInputs, ReadRequest } from './read.js';
import { redactUrl } from '../store/store-url.js';
import type { SpanTraces } from './span-traces.js';
import type { ThreadSplit } from './thread-split.js';

export function spanReport(req: Pick<ReadRequest, 'files' | 'threads' | 'store'>, read: ReadInputs, spans: SpanTraces, settings: AnalysisSettings, diag: Diagnostics, traces: ReportTrace[] = [], split?: ThreadSplit): AnalyzeReport {
  // a postgres:// URL is shown without its password
  const store = req.store !== undefined ? [redactUrl(req.store)] : [];
  return {
    ...reportHeader(),
    input: {
      files: [...req.files, ...(req.threads ?? []), ...store],
      formats: [...read.inputs.map((i) => i.format ?? 'empty'), ...store.map(() => 'cpath-store')],
      spans: read.spanCount,
      traces: spans.traceCount,
      tracesAnalysed: spans.summaries.length,
      settings: reportSettings(settings),
      granularity: granularityLabels(spans.granularity),
      ...(split ? { threads: split.input() } : {}),
    },
    diagnostics: diag.entries(),
    traces,
    endpoints: aggregateEndpoints(spans.summaries, settings.outliers, settings.top).map(toReportEndpoint),
  };
}

/** Inputs that held no span at all: the error names them and what the reader found wrong in them. */
export function noSpansError(names: readonly string[], diagnostics: readonly DiagnosticEntry[]): InputError {
  const problems = diagnostics.map((d) => `  ${d.code} ×${d.count}${d.example ? `: ${d.example}` : ''}`).join('\n');
  return new InputError(`no spans found in ${names.join(', ')}${problems ? `\n${problems}` : ''}`);
}
