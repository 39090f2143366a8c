// Jaeger JSON as the Jaeger UI downloads it and opens it ("upload trace"): `{"data": [{traceID,
// spans, processes}]}`, one entry per trace, spans sorted by start, `startTime`/`duration` in
// integer microseconds (truncated, as Jaeger does), typed tags, OTel kind and status as the tags
// Jaeger's OTLP ingestion writes (`span.kind`, `otel.status_code`, `error`,
// `otel.status_description`), one process per resource (`p1`, `p2`...).
import type { AttrValue, ResourceInfo, SpanInput } from '../model/span.js';
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import type { Exporter } from './exporter.js';

interface JaegerTag {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64';
  value: string | boolean | number;
}

function tag(key: string, v: AttrValue): JaegerTag {
  if (typeof v === 'string') return { key, type: 'string', value: v };
  if (typeof v === 'boolean') return { key, type: 'bool', value: v };
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? { key, type: 'int64', value: Number(v) } : { key, type: 'string', value: v.toString() };
  if (typeof v === 'number') return Number.isInteger(v) ? { key, type: 'int64', value: v } : { key, type: 'float64', value: v };
  return { key, type: 'string', value: JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) };
}

const micros = (ns: bigint): number => Number(ns / 1000n);

function spanTags(s: SpanInput): JaegerTag[] {
  const tags = new Map<string, JaegerTag>();
  for (const [k, v] of Object.entries(s.attributes)) tags.set(k, tag(k, v));
  if (s.kind !== 'unspecified') tags.set('span.kind', tag('span.kind', s.kind));
  else tags.delete('span.kind');
  tags.delete('otel.status_code');
  tags.delete('error');
  tags.delete('otel.status_description');
  if (s.status !== 'unset') tags.set('otel.status_code', tag('otel.status_code', s.status === 'ok' ? 'OK' : 'ERROR'));
  if (s.status === 'error') tags.set('error', tag('error', true));
  if (s.statusMessage !== undefined && s.statusMessage !== '') tags.set('otel.status_description', tag('otel.status_description', s.statusMessage));
  return [...tags.values()];
}

export function jaegerTrace(traceId: string, spans: readonly SpanInput[]): Record<string, unknown> {
  const processes = new Map<ResourceInfo, string>();
  const sorted = [...spans].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const out = sorted.map((s) => {
    let pid = processes.get(s.resource);
    if (pid === undefined) {
      pid = `p${processes.size + 1}`;
      processes.set(s.resource, pid);
    }
    return {
      traceID: s.traceId,
      spanID: s.spanId,
      operationName: s.name,
      references: s.parentSpanId !== undefined ? [{ refType: s.parentRef === 'follows-from' ? 'FOLLOWS_FROM' : 'CHILD_OF', traceID: s.traceId, spanID: s.parentSpanId }] : [],
      startTime: micros(s.startNs),
      duration: micros(s.endNs - s.startNs),
      tags: spanTags(s),
      logs: [],
      processID: pid,
      warnings: null,
    };
  });
  const procs: Record<string, unknown> = {};
  for (const [r, pid] of processes) {
    procs[pid] = { serviceName: r.service, tags: Object.entries(r.attributes).filter(([k]) => k !== 'service.name').map(([k, v]) => tag(k, v)) };
  }
  return { traceID: traceId, spans: out, processes: procs, warnings: null };
}

export class JaegerExporter implements Exporter {
  private first = true;

  trace(a: AnalysedTrace): string {
    const text = `${this.first ? '{"data":[\n' : ',\n'}${JSON.stringify(jaegerTrace(a.trace.traceId, a.trace.spans))}`;
    this.first = false;
    return text;
  }

  end(): string {
    return `${this.first ? '{"data":[' : '\n'}],"total":0,"limit":0,"offset":0,"errors":null}\n`;
  }
}
