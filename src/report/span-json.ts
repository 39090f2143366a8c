// One span in full for the query API.
import type { AttrValue, Attributes, SpanInput } from '../model/span.js';
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import { toReportTrace } from './trace-json.js';
import type { ReportSpan, ReportTraceDetail } from './types.js';

export function toReportSpan(s: SpanInput): ReportSpan {
  return {
    spanId: s.spanId,
    ...(s.parentSpanId !== undefined ? { parentSpanId: s.parentSpanId } : {}),
    ...(s.parentRef === 'follows-from' ? { parentRef: 'follows-from' as const } : {}),
    service: s.resource.service,
    operation: s.name,
    kind: s.kind,
    startUnixNano: s.startNs.toString(),
    durationNs: Number(s.endNs - s.startNs),
    status: s.status,
    ...(s.statusMessage !== undefined ? { statusMessage: s.statusMessage } : {}),
    attributes: jsonAttributes(s.attributes),
    resource: jsonAttributes(s.resource.attributes),
    ...(s.links && s.links.length > 0 ? { links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId })) } : {}),
  };
}

function jsonAttributes(a: Attributes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) out[k] = jsonValue(v);
  return out;
}

function jsonValue(v: AttrValue): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(jsonValue);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonValue(x);
    return out;
  }
  return v;
}

/** A trace with every span in full (`GET /api/traces/{id}`, the report's trace views). */
export function toReportTraceDetail(a: AnalysedTrace): ReportTraceDetail {
  const { spans: _count, ...rest } = toReportTrace(a);
  const shift = a.analysis.prepared.shift;
  return {
    ...rest,
    spans: a.trace.spans.map((s, i) => {
      const sh = shift[i] ?? 0;
      const r = toReportSpan(s);
      if (sh !== 0) r.shiftNs = sh;
      return r;
    }),
  };
}
