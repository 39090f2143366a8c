// The export formats, one file each: which exists and which writes spans. `cpath export` runs
// them (src/pipeline/export.ts). Formats and units: see README "cpath export".
import type { InputFormat } from '../../collectors/index.js';
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
export const SPAN_FORMATS: ReadonlySet<string> = new Set(['otlp', 'jaeger', 'perfetto']);

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
