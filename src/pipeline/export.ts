// `cpath export` as a library call: read the inputs, analyse each span trace in start order, hand
// it to the chosen format's exporter, write what it produces; the report ends it.
import { InputError } from '../../collectors/index.js';
import { Diagnostics } from '../model/diagnostics.js';
import { SPAN_FORMATS, createExporter, parseEndpoint, type ExportOptions } from '../export/index.js';
import type { AnalyzeReport } from '../report/types.js';
import { attributesToKeep, readInputs } from './read.js';
import { noSpansError, spanReport } from './span-report.js';
import { SpanTraces } from './span-traces.js';
import { ThreadSplit } from './thread-split.js';

/** Runs the export, handing output text to `write` as it is produced; returns the analysis report. */
export async function exportFiles(opts: ExportOptions, write: (text: string) => void | Promise<void>): Promise<AnalyzeReport> {
  const endpoint = opts.endpoint !== undefined ? parseEndpoint(opts.endpoint) : undefined;
  if (opts.endpoint !== undefined && !endpoint) throw new InputError(`--endpoint: "${opts.endpoint}" is not "SERVICE OPERATION"`);
  const exporter = createExporter(opts.to);
  const diag = new Diagnostics();
  const read = await readInputs(
    {
      files: opts.files,
      ...(opts.inputFormat ? { inputFormat: opts.inputFormat } : {}),
      ...(opts.threads ? { threads: opts.threads } : {}),
      attributeKeys: attributesToKeep(undefined, {}, SPAN_FORMATS.has(opts.to)),
    },
    diag,
  );
  if (read.spanCount === 0) throw noSpansError(opts.files, diag.entries());
  const settings = { skewAdjust: opts.skewAdjust ?? true, filter: {}, outliers: { kind: 'auto' as const }, top: 0 };
  const spans = new SpanTraces(read.traces, settings, diag);
  const split = read.models.length > 0 ? new ThreadSplit(read.models) : undefined;
  for (const a of spans.analysed()) {
    // Every trace is split (the shared-thread count is over all of them), the chosen ones exported.
    const rt = split?.reportTrace(a);
    if (endpoint && (a.endpoint.service !== endpoint.service || a.endpoint.operation !== endpoint.operation)) continue;
    const text = exporter.trace(a);
    if (rt && exporter.threadPath) exporter.threadPath(rt);
    if (text !== undefined && text !== '') await write(text);
  }
  split?.finish(diag);
  spans.finish();
  const report = spanReport({ files: opts.files, ...(opts.threads ? { threads: opts.threads } : {}) }, read, spans, settings, diag, [], split);
  if (endpoint && !report.endpoints.some((e) => e.service === endpoint.service && e.operation === endpoint.operation)) {
    throw new InputError(`--endpoint: no endpoint "${endpoint.service} ${endpoint.operation}" in the input; endpoints: ${report.endpoints.map((e) => `"${e.service} ${e.operation}"`).join(', ')}`);
  }
  const filtered: AnalyzeReport = endpoint ? { ...report, endpoints: report.endpoints.filter((e) => e.service === endpoint.service && e.operation === endpoint.operation) } : report;
  const rest = exporter.end(filtered, split?.sources);
  if (rest !== '') await write(rest);
  return filtered;
}
