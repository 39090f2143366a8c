// `cpath export` as a library call: analyse the inputs, hand each analysed trace to the chosen
// format's exporter, write what it produces. Formats and units: see README "cpath export".
import { InputError, type InputFormat } from '../../collectors/index.js';
import { analyzeFiles, noSpansError } from '../analyze.js';
import type { AnalyzeReport } from '../report/types.js';
import type { Exporter } from './exporter.js';
import { FoldedExporter } from './folded.js';
import { HgrmExporter } from './hgrm.js';
import { JaegerExporter } from './jaeger.js';
import { OtlpExporter } from './otlp.js';
import { PerfettoExporter } from './perfetto.js';
import { SpeedscopeExporter } from './speedscope.js';

export const EXPORT_FORMATS = ['folded', 'speedscope', 'otlp', 'jaeger', 'hgrm', 'perfetto'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** Formats that write the spans themselves, attributes included. */
const SPAN_FORMATS: ReadonlySet<string> = new Set(['otlp', 'jaeger', 'perfetto']);

export interface ExportOptions {
  readonly files: readonly string[];
  readonly to: ExportFormat;
  readonly inputFormat?: InputFormat;
  /** Only this endpoint's traces: `SERVICE OPERATION` (split at the first space). */
  readonly endpoint?: string;
  readonly skewAdjust?: boolean;
  /** Event logs of `cpath record` for the same run (`--threads`): thread tracks and wakeups where a format has them. */
  readonly threads?: readonly string[];
}

export function createExporter(to: ExportFormat): Exporter {
  switch (to) {
    case 'folded':
      return new FoldedExporter();
    case 'speedscope':
      return new SpeedscopeExporter();
    case 'otlp':
      return new OtlpExporter();
    case 'jaeger':
      return new JaegerExporter();
    case 'hgrm':
      return new HgrmExporter();
    case 'perfetto':
      return new PerfettoExporter();
  }
}

/** `SERVICE OPERATION` -> its parts; the operation may contain spaces (`GET /checkout`). */
export function parseEndpoint(v: string): { service: string; operation: string } | undefined {
  const i = v.indexOf(' ');
  if (i <= 0 || i === v.length - 1) return undefined;
  return { service: v.slice(0, i), operation: v.slice(i + 1) };
}

/** Runs the export, handing output text to `write` as it is produced; returns the analysis report. */
export async function exportFiles(opts: ExportOptions, write: (text: string) => void | Promise<void>): Promise<AnalyzeReport> {
  const endpoint = opts.endpoint !== undefined ? parseEndpoint(opts.endpoint) : undefined;
  if (opts.endpoint !== undefined && !endpoint) throw new InputError(`--endpoint: "${opts.endpoint}" is not "SERVICE OPERATION"`);
  const exporter = createExporter(opts.to);
  /** Output of `analysed` (synchronous), written with backpressure by `traces`. */
  const pending: (string | undefined)[] = [];
  const wanted = (t: { endpoint: { service: string; operation: string } }): boolean => !endpoint || (t.endpoint.service === endpoint.service && t.endpoint.operation === endpoint.operation);
  const { report, threadSources } = await analyzeFiles({
    files: opts.files,
    ...(opts.inputFormat ? { inputFormat: opts.inputFormat } : {}),
    skewAdjust: opts.skewAdjust ?? true,
    filter: {},
    outliers: { kind: 'auto' },
    outliersLabel: 'auto',
    top: 0,
    keepAttributes: SPAN_FORMATS.has(opts.to),
    ...(opts.threads ? { threads: opts.threads } : {}),
    analysed: (t) => {
      if (wanted(t)) pending.push(exporter.trace(t));
    },
    // Span traces come here after `analysed`: as they are, or with thread data split into threads.
    traces: async (t) => {
      if (!('analysis' in t) && exporter.threadPath && wanted(t)) exporter.threadPath(t);
      for (const text of pending.splice(0)) if (text !== undefined && text !== '') await write(text);
    },
  });
  if (report.input.spans === 0) throw noSpansError(opts.files, report);
  if (endpoint && !report.endpoints.some((e) => e.service === endpoint.service && e.operation === endpoint.operation)) {
    throw new InputError(`--endpoint: no endpoint "${endpoint.service} ${endpoint.operation}" in the input; endpoints: ${report.endpoints.map((e) => `"${e.service} ${e.operation}"`).join(', ')}`);
  }
  const filtered: AnalyzeReport = endpoint ? { ...report, endpoints: report.endpoints.filter((e) => e.service === endpoint.service && e.operation === endpoint.operation) } : report;
  const rest = exporter.end(filtered, threadSources);
  if (rest !== '') await write(rest);
  return filtered;
}
