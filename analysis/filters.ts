// Which traces an analysis covers (--service, --operation, --since/--until, --trace-id, --where).
import { stringifyAttr, type SpanInput } from '../src/model/span.js';
import type { Trace } from '../src/model/trace-builder.js';

export interface TraceFilter {
  /** Some span of the trace belongs to this service (with `operation`: the same span). */
  readonly service?: string;
  /** Some span of the trace has this operation name. */
  readonly operation?: string;
  /** Trace start (primary root start) at or after this Unix ns. */
  readonly sinceNs?: bigint;
  /** Trace start before this Unix ns. */
  readonly untilNs?: bigint;
  /** Only these trace ids (normalised lowercase hex). */
  readonly traceIds?: ReadonlySet<string>;
  /** Every pair must match some span's attribute or its resource's attribute (as text). */
  readonly where?: readonly { readonly key: string; readonly value: string }[];
}

export function isEmptyFilter(f: TraceFilter): boolean {
  return f.service === undefined && f.operation === undefined && f.sinceNs === undefined && f.untilNs === undefined && f.traceIds === undefined && (f.where?.length ?? 0) === 0;
}

/** Filters that need no analysis: ids, services, operations, attributes. */
export function matchesContent(t: Trace, f: TraceFilter): boolean {
  if (f.traceIds && !f.traceIds.has(t.traceId)) return false;
  if (f.service !== undefined || f.operation !== undefined) {
    if (!t.spans.some((s) => (f.service === undefined || s.resource.service === f.service) && (f.operation === undefined || s.name === f.operation))) return false;
  }
  for (const w of f.where ?? []) {
    if (!t.spans.some((s) => attrMatches(s, w.key, w.value))) return false;
  }
  return true;
}

export function matchesTime(startNs: bigint, f: TraceFilter): boolean {
  if (f.sinceNs !== undefined && startNs < f.sinceNs) return false;
  if (f.untilNs !== undefined && startNs >= f.untilNs) return false;
  return true;
}

function attrMatches(s: SpanInput, key: string, value: string): boolean {
  const v = s.attributes[key] ?? s.resource.attributes[key];
  return v !== undefined && stringifyAttr(v) === value;
}
