// Converters used by samples/generate.ts to write the same OpenTelemetry SDK spans in the
// formats users already have on disk: Collector file-exporter framing for OTLP protobuf,
// Zipkin v2 JSON (as @opentelemetry/exporter-zipkin posts it) and a Jaeger UI download (as
// Jaeger's OTLP ingestion shows OTel spans).
//
// @opentelemetry/exporter-zipkin does not export its `toZipkinSpan` from the package entry (only
// ZipkinExporter / prepareSend), so the Zipkin conversion below is written here, following
// build/src/transform.js of exporter-zipkin 2.12.1 (tags, status tags, annotations), except that
// `timestamp` is rounded to an integer number of microseconds (the exporter writes
// hrTimeToMicroseconds() unrounded; Zipkin's API defines it as int64).

import { SpanKind, SpanStatusCode, type Attributes, type AttributeValue, type HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** Exact nanoseconds since the epoch of an HrTime. */
export function hrToNs(t: HrTime): bigint {
  return BigInt(Math.trunc(t[0])) * 1_000_000_000n + BigInt(Math.trunc(t[1]));
}

/** Integer microseconds, rounded half up (Zipkin). */
function nsToMicrosRounded(ns: bigint): number {
  const q = ns / 1000n;
  const r = ns % 1000n;
  return Number(r >= 500n ? q + 1n : q);
}

/** Integer microseconds, truncated (Jaeger: model.TimeAsEpochMicroseconds / DurationAsMicroseconds). */
function nsToMicrosTrunc(ns: bigint): number {
  return Number(ns / 1000n);
}

function serviceNameOf(span: ReadableSpan): string {
  const name = span.resource.attributes['service.name'];
  return typeof name === 'string' ? name : 'unknown_service';
}

// ---------------------------------------------------------------------------------------------
// OTLP protobuf, Collector file exporter `format: proto`

/** Each message prefixed by its length as a 4-byte big-endian unsigned integer. */
export function frameLengthPrefixed(messages: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(m.length, 0);
    parts.push(header, Buffer.from(m.buffer, m.byteOffset, m.byteLength));
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Zipkin v2

export interface ZipkinSpan {
  traceId: string;
  parentId?: string;
  name: string;
  id: string;
  kind?: 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
  annotations?: { timestamp: number; value: string }[];
}

const ZIPKIN_KIND: Record<SpanKind, ZipkinSpan['kind']> = {
  [SpanKind.CLIENT]: 'CLIENT',
  [SpanKind.SERVER]: 'SERVER',
  [SpanKind.PRODUCER]: 'PRODUCER',
  [SpanKind.CONSUMER]: 'CONSUMER',
  [SpanKind.INTERNAL]: undefined, // local span: no kind
};

export function toZipkinSpan(span: ReadableSpan): ZipkinSpan {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(span.attributes)) {
    if (v !== undefined) tags[k] = String(v);
  }
  if (span.status.code !== SpanStatusCode.UNSET) {
    tags['otel.status_code'] = SpanStatusCode[span.status.code];
  }
  if (span.status.code === SpanStatusCode.ERROR && span.status.message) {
    tags['error'] = span.status.message;
  }
  if (span.droppedAttributesCount) tags['otel.dropped_attributes_count'] = String(span.droppedAttributesCount);
  if (span.droppedEventsCount) tags['otel.dropped_events_count'] = String(span.droppedEventsCount);
  if (span.droppedLinksCount) tags['otel.dropped_links_count'] = String(span.droppedLinksCount);
  // The OTel Zipkin exporter copies resource attributes into every span's tags.
  for (const [k, v] of Object.entries(span.resource.attributes)) {
    if (v !== undefined) tags[k] = String(v);
  }
  const start = hrToNs(span.startTime);
  const end = hrToNs(span.endTime);
  const parentId = span.parentSpanContext?.spanId;
  const kind = ZIPKIN_KIND[span.kind];
  // The exporter's key order: traceId, parentId, name, id, kind, timestamp, duration, ...
  const out: ZipkinSpan = {
    traceId: span.spanContext().traceId,
    ...(parentId ? { parentId } : {}),
    name: span.name,
    id: span.spanContext().spanId,
    ...(kind ? { kind } : {}),
    timestamp: nsToMicrosRounded(start),
    duration: nsToMicrosRounded(end - start),
    localEndpoint: { serviceName: serviceNameOf(span) },
    tags,
  };
  if (span.events.length) {
    out.annotations = span.events.map((e) => ({
      timestamp: nsToMicrosRounded(hrToNs(e.time)),
      value: e.name,
    }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Jaeger UI download (query API JSON)

export interface JaegerTag {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64';
  value: string | boolean | number;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  logs: { timestamp: number; fields: JaegerTag[] }[];
  processID: string;
  warnings: null;
  flags: number;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
  warnings: null;
}

export interface JaegerDownload {
  data: JaegerTrace[];
  total: number;
  limit: number;
  offset: number;
  errors: null;
}

function jaegerTag(key: string, value: AttributeValue): JaegerTag {
  if (typeof value === 'boolean') return { key, type: 'bool', value };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { key, type: 'int64', value } : { key, type: 'float64', value };
  }
  if (typeof value === 'string') return { key, type: 'string', value };
  // Arrays: Jaeger's translator stores them as a JSON string.
  return { key, type: 'string', value: JSON.stringify(value) };
}

function jaegerTags(attrs: Attributes, skip: Set<string> = new Set()): JaegerTag[] {
  const tags: JaegerTag[] = [];
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || skip.has(k)) continue;
    tags.push(jaegerTag(k, v));
  }
  return tags;
}

const JAEGER_KIND: Record<SpanKind, string> = {
  [SpanKind.CLIENT]: 'client',
  [SpanKind.SERVER]: 'server',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
  [SpanKind.INTERNAL]: 'internal',
};

/**
 * Tags in the order of Jaeger's OTLP translator (opentelemetry-collector-contrib
 * pkg/translator/jaeger): span attributes, otel.scope.name/version, span.kind,
 * otel.status_code, error (bool, only for ERROR), otel.status_description.
 */
function jaegerSpanTags(span: ReadableSpan): JaegerTag[] {
  const tags = jaegerTags(span.attributes);
  const scope = span.instrumentationScope;
  if (scope.name) tags.push({ key: 'otel.scope.name', type: 'string', value: scope.name });
  if (scope.version) tags.push({ key: 'otel.scope.version', type: 'string', value: scope.version });
  tags.push({ key: 'span.kind', type: 'string', value: JAEGER_KIND[span.kind] });
  if (span.status.code === SpanStatusCode.OK) {
    tags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
  } else if (span.status.code === SpanStatusCode.ERROR) {
    tags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' });
    tags.push({ key: 'error', type: 'bool', value: true });
  }
  if (span.status.message) {
    tags.push({ key: 'otel.status_description', type: 'string', value: span.status.message });
  }
  return tags;
}

/** Group spans by trace; one Jaeger trace per trace id, in the given trace order. */
export function toJaegerDownload(spans: ReadableSpan[], traceOrder: string[]): JaegerDownload {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const s of spans) {
    const id = s.spanContext().traceId;
    let list = byTrace.get(id);
    if (!list) byTrace.set(id, (list = []));
    list.push(s);
  }
  const data: JaegerTrace[] = [];
  for (const traceId of traceOrder) {
    const list = byTrace.get(traceId);
    if (!list) continue;
    const sorted = [...list].sort((a, b) => {
      const d = hrToNs(a.startTime) - hrToNs(b.startTime);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    });
    const processes: JaegerTrace['processes'] = {};
    const processIdByService = new Map<string, string>();
    const out: JaegerSpan[] = [];
    for (const s of sorted) {
      const service = serviceNameOf(s);
      let pid = processIdByService.get(service);
      if (!pid) {
        pid = `p${processIdByService.size + 1}`;
        processIdByService.set(service, pid);
        processes[pid] = {
          serviceName: service,
          tags: jaegerTags(s.resource.attributes, new Set(['service.name'])),
        };
      }
      const ctx = s.spanContext();
      const start = hrToNs(s.startTime);
      const end = hrToNs(s.endTime);
      const parent = s.parentSpanContext?.spanId;
      out.push({
        traceID: ctx.traceId,
        spanID: ctx.spanId,
        operationName: s.name,
        references: parent ? [{ refType: 'CHILD_OF', traceID: ctx.traceId, spanID: parent }] : [],
        startTime: nsToMicrosTrunc(start),
        duration: nsToMicrosTrunc(end - start),
        tags: jaegerSpanTags(s),
        logs: s.events.map((e) => ({
          timestamp: nsToMicrosTrunc(hrToNs(e.time)),
          fields: [{ key: 'event', type: 'string', value: e.name } as JaegerTag, ...jaegerTags(e.attributes ?? {})],
        })),
        processID: pid,
        warnings: null,
        flags: ctx.traceFlags,
      });
    }
    data.push({ traceID: traceId, spans: out, processes, warnings: null });
  }
  return { data, total: 0, limit: 0, offset: 0, errors: null };
}
