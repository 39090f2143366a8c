// Spans read from a file, handed to the real OpenTelemetry exporters as the SDK would hand them
// (ReadableSpan), so that a test can send a known file through OTLP/HTTP JSON, OTLP/HTTP protobuf
// and OTLP/gRPC exactly as an instrumented service would, with the file's exact times and ids.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes as OtelAttributes, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { AttrValue, Attributes, ResourceInfo, SpanInput } from '../../src/model/span.js';

const KIND: Record<SpanInput['kind'], SpanKind> = { unspecified: SpanKind.INTERNAL, internal: SpanKind.INTERNAL, server: SpanKind.SERVER, client: SpanKind.CLIENT, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER };
const STATUS: Record<SpanInput['status'], SpanStatusCode> = { unset: SpanStatusCode.UNSET, ok: SpanStatusCode.OK, error: SpanStatusCode.ERROR };

function hr(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

/** OTel attributes hold primitives and arrays of them: a bigint past 2^53 goes as its text. */
function otelAttrs(a: Attributes): OtelAttributes {
  const out: OtelAttributes = {};
  for (const [k, v] of Object.entries(a)) {
    const p = (x: AttrValue): string | number | boolean => (typeof x === 'bigint' ? (Number.isSafeInteger(Number(x)) ? Number(x) : x.toString()) : typeof x === 'object' ? JSON.stringify(x, (_k, y: unknown) => (typeof y === 'bigint' ? y.toString() : y)) : x);
    out[k] = Array.isArray(v) ? (v as AttrValue[]).map(p).map(String) : p(v);
  }
  return out;
}

export function toReadableSpans(spans: readonly SpanInput[]): ReadableSpan[] {
  const resources = new Map<ResourceInfo, Resource>();
  return spans.map((s) => {
    let resource = resources.get(s.resource);
    if (resource === undefined) resources.set(s.resource, (resource = resourceFromAttributes(otelAttrs(s.resource.attributes))));
    const ctx = { traceId: s.traceId, spanId: s.spanId, traceFlags: TraceFlags.SAMPLED };
    return {
      name: s.name,
      kind: KIND[s.kind],
      spanContext: () => ctx,
      ...(s.parentSpanId !== undefined ? { parentSpanContext: { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: TraceFlags.SAMPLED } } : {}),
      startTime: hr(s.startNs),
      endTime: hr(s.endNs),
      status: { code: STATUS[s.status], ...(s.statusMessage !== undefined ? { message: s.statusMessage } : {}) },
      attributes: otelAttrs(s.attributes),
      links: (s.links ?? []).map((l) => ({ context: { traceId: l.traceId, spanId: l.spanId, traceFlags: TraceFlags.SAMPLED } })),
      events: [],
      duration: hr(s.endNs - s.startNs),
      ended: true,
      resource,
      instrumentationScope: { name: 'cpath-replay' },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    } satisfies ReadableSpan;
  });
}

/** One export through a real exporter; rejects unless it succeeded. */
export function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) => {
    exporter.export(spans, (r: ExportResult) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(r.error ?? new Error('export failed'))));
  });
}
