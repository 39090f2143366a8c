// OTLP JSON Lines, as the Collector's file exporter writes them: one ExportTraceServiceRequest
// (`{"resourceSpans":[...]}`) per line, here one line per trace, spans grouped by resource. Ids
// are lowercase hex, times decimal strings of Unix ns, enums integers: the spans as read
// (attributes, status, links), so `cpath analyze` of the output gives the same analysis.
// Not carried: OTLP span flags, events, instrumentation scopes (cpath does not keep them) and
// Jaeger FOLLOWS_FROM (written as the plain parent).
import type { AttrValue, Attributes, ResourceInfo, SpanInput, SpanKind, StatusCode } from '../model/span.js';
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import { VERSION } from '../version.js';
import type { Exporter } from './exporter.js';

const KIND: Record<SpanKind, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS: Record<StatusCode, number> = { unset: 0, ok: 1, error: 2 };

type AnyValue = { stringValue: string } | { boolValue: boolean } | { intValue: string } | { doubleValue: number } | { arrayValue: { values: AnyValue[] } } | { kvlistValue: { values: KeyValue[] } };
interface KeyValue {
  key: string;
  value: AnyValue;
}

export function anyValue(v: AttrValue): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'bigint') return { intValue: v.toString() };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: (v as readonly AttrValue[]).map(anyValue) } };
  return { kvlistValue: { values: keyValues(v as Attributes) } };
}

export function keyValues(attrs: Attributes): KeyValue[] {
  return Object.entries(attrs).map(([key, value]) => ({ key, value: anyValue(value) }));
}

/** The resource's attributes, with `service.name` as cpath read it. */
export function resourceAttributes(r: ResourceInfo): Attributes {
  return r.attributes['service.name'] === r.service ? r.attributes : { ...r.attributes, 'service.name': r.service };
}

function otlpSpan(s: SpanInput): Record<string, unknown> {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId !== undefined ? { parentSpanId: s.parentSpanId } : {}),
    name: s.name,
    kind: KIND[s.kind],
    startTimeUnixNano: s.startNs.toString(),
    endTimeUnixNano: s.endNs.toString(),
    attributes: keyValues(s.attributes),
    ...(s.links && s.links.length > 0 ? { links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId })) } : {}),
    status: { code: STATUS[s.status], ...(s.statusMessage !== undefined ? { message: s.statusMessage } : {}) },
  };
}

/** One trace as one ExportTraceServiceRequest. */
export function otlpRequest(spans: readonly SpanInput[]): { resourceSpans: unknown[] } {
  const byResource = new Map<ResourceInfo, SpanInput[]>();
  for (const s of spans) {
    let list = byResource.get(s.resource);
    if (!list) {
      list = [];
      byResource.set(s.resource, list);
    }
    list.push(s);
  }
  return {
    resourceSpans: [...byResource].map(([r, list]) => ({
      resource: { attributes: keyValues(resourceAttributes(r)) },
      scopeSpans: [{ scope: { name: 'cpath', version: VERSION }, spans: list.map(otlpSpan) }],
    })),
  };
}

export class OtlpExporter implements Exporter {
  trace(a: AnalysedTrace): string {
    return `${JSON.stringify(otlpRequest(a.trace.spans))}\n`;
  }

  end(): string {
    return '';
  }
}
