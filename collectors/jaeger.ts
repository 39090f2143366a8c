// Jaeger JSON: what the Jaeger UI downloads and the query API (/api/traces) returns,
// `{"data": [{traceID, spans: [...], processes: {p1: {serviceName, tags}}}]}`, a bare array of
// such traces, or one trace object. Times are microseconds; tags are typed; OTel kind and
// status travel as the tags `span.kind`, `otel.status_code`, `otel.status_description` and
// `error`. Old clients did not zero-pad ids, so short hex ids are left-padded (rule 5 of
// docs/critical-path.md). All tags are kept as attributes, including the ones read for kind and
// status.
//
// Parent: the first CHILD_OF reference within the span's trace (or the legacy `parentSpanID`
// field); if there is none, the first FOLLOWS_FROM reference, marked `follows-from` so the
// engine treats the child as async. Every other reference becomes a link. An empty or
// all-zero parent id means "no parent".
import { describeIdProblem, type TextIdResult } from '../src/model/ids.js';
import { asArray, asString, isObject, type JsonObject, describeValue as describe, showValue as show } from '../src/model/json-value.js';
import {
  formatSource,
  kindFromName,
  statusFromName,
  type AttrValue,
  type Attributes,
  type ResourceInfo,
  type SourceRef,
  type SpanInput,
  type SpanLinkRef,
  type StatusCode,
} from '../src/model/span.js';
import { microsToNanos, timeRangeProblem } from '../src/model/time.js';
import { readRefId, readSpanIds } from './span-ids.js';
import type { ImportContext, JsonFormat } from './format.js';

// Go's encoder writes int64 tag values as JSON numbers, and JSON.parse loses precision above
// 2^53: quote every 16+ digit integer `value` before parsing (the int64 decoder reads strings).
const BIG_INT_VALUE = /("value"\s*:\s*)(-?\d{16,})(?=\s*[,}\]])/g;
const HAS_BIG_INT_VALUE = /"value"\s*:\s*-?\d{16}/;

export const jaegerJson: JsonFormat = {
  name: 'jaeger',
  handleValue(value, src, ctx) {
    importJaeger(value, src, ctx);
  },
  // Walk into the root, `data`, each trace and its `spans`, so a trace is never one string.
  // A root object that is one trace is not walked beyond its keys (its `spans` array is parsed
  // as one piece) and is handed over whole when it closes.
  descend(p) {
    const q = p[0] === 'data' ? p.slice(1) : p;
    if (q.length === 0) return true; // the root, or `data`
    if (typeof q[0] !== 'number') return false;
    return q.length === 1 || (q.length === 2 && q[1] === 'spans');
  },
  // Hand over each trace as it closes: [i] for a bare array, ['data', i] for {data: [...]}.
  flush(p) {
    return (p.length === 1 && typeof p[0] === 'number') || (p.length === 2 && p[0] === 'data' && typeof p[1] === 'number');
  },
  preprocess(text) {
    return HAS_BIG_INT_VALUE.test(text) ? text.replace(BIG_INT_VALUE, '$1"$2"') : text;
  },
};

/** `{data: [traces]}`, `[traces]` or one trace. */
function importJaeger(value: unknown, src: SourceRef, ctx: ImportContext): void {
  if (Array.isArray(value)) {
    value.forEach((t, i) => importTrace(t, i, src, ctx));
    return;
  }
  if (isObject(value)) {
    const data = value['data'];
    if (data !== undefined) {
      const traces = asArray(data);
      // The query API answers errors as {"data": null, "errors": [...]}.
      if (traces === undefined) ctx.diag.add('record_invalid', () => `${formatSource(src)}: "data" is ${show(data)}, expected an array of traces`);
      else traces.forEach((t, i) => importTrace(t, i, src, ctx));
      return;
    }
    if (value['spans'] !== undefined) {
      importTrace(value, 0, src, ctx);
      return;
    }
  }
  ctx.diag.add('record_invalid', () => `${formatSource(src)}: expected {"data": [traces]}, an array of traces or one trace, found ${describe(value)}`);
}

function importTrace(trace: unknown, index: number, src: SourceRef, ctx: ImportContext): void {
  if (!isObject(trace)) {
    ctx.diag.add('record_invalid', () => `${formatSource(src)}: trace ${index} is ${describe(trace)}, expected an object`);
    return;
  }
  const rawTraceId = asString(trace['traceID']);
  const label = rawTraceId !== undefined ? `trace ${show(rawTraceId)}` : `trace ${index}`;
  const spans = asArray(trace['spans']);
  if (spans === undefined) {
    ctx.diag.add('record_invalid', () => `${formatSource(src)}: ${label}: "spans" is ${show(trace['spans'])}, expected an array`);
    return;
  }
  const processes = trace['processes'];
  const t: TraceScope = {
    src,
    ctx,
    label,
    rawTraceId,
    processes: isObject(processes) ? processes : undefined,
    resources: new Map(),
  };
  spans.forEach((s, i) => importSpan(s, i, t));
}

interface TraceScope {
  readonly src: SourceRef;
  readonly ctx: ImportContext;
  readonly label: string;
  /** The trace-level traceID, used when a span has none. */
  readonly rawTraceId: string | undefined;
  readonly processes: JsonObject | undefined;
  /** processID -> resource, so each process is decoded once per trace. */
  readonly resources: Map<string, ResourceInfo | undefined>;
}

function importSpan(s: unknown, i: number, t: TraceScope): void {
  const { ctx, src } = t;
  const loc = formatSource(src);
  if (!isObject(s)) {
    ctx.diag.add('record_invalid', () => `${loc}: span ${i} of ${t.label} is ${describe(s)}, expected an object`);
    return;
  }
  const name = asString(s['operationName']);
  const where = (): string => `${loc}: span ${i}${name !== undefined ? ` (${show(name)})` : ''} of ${t.label}`;
  const rawTraceId = s['traceID'] === undefined ? t.rawTraceId : asString(s['traceID']);
  const rawSpanId = asString(s['spanID']);
  if (rawTraceId === undefined || rawSpanId === undefined || name === undefined) {
    const key = rawTraceId === undefined ? 'traceID' : rawSpanId === undefined ? 'spanID' : 'operationName';
    ctx.diag.add('record_invalid', () => `${where()}: ${key} is ${show(s[key])}, expected a string`);
    return;
  }
  const ids = readSpanIds(rawTraceId, rawSpanId, { trace: 'traceID', span: 'spanID' }, where, ctx);
  if (!ids) return;
  const time = timeRange(s['startTime'], s['duration']);
  if (typeof time === 'string') {
    ctx.diag.add('timestamp_invalid', () => `${where()}: ${time}`);
    return;
  }

  const { parent, links } = resolveReferences(s, ids.traceId, where, ctx);
  const resource = resolveResource(s, t, where);
  const attributes = decodeTags(s['tags'], ctx, where);
  const kindTag = attributes['span.kind'];
  const kind = (typeof kindTag === 'string' ? kindFromName(kindTag) : undefined) ?? 'unspecified';
  const statusMessage = attributes['otel.status_description'];

  const span: SpanInput = {
    traceId: ids.traceId,
    spanId: ids.spanId,
    ...(parent !== undefined ? { parentSpanId: parent.spanId, parentRef: parent.ref } : {}),
    name,
    kind,
    startNs: time.startNs,
    endNs: time.endNs,
    status: statusOf(attributes),
    ...(typeof statusMessage === 'string' && statusMessage !== '' ? { statusMessage } : {}),
    attributes,
    resource,
    ...(links.length > 0 ? { links } : {}),
    source: src,
  };
  ctx.emit(span);
}

/** Start and end in exact nanoseconds, or what is wrong. A negative duration is left to the builder (end_before_start). */
function timeRange(start: unknown, duration: unknown): { startNs: bigint; endNs: bigint } | string {
  const startNs = microsToNanos(start);
  if (startNs === undefined) return `startTime ${show(start)} is not a number of microseconds`;
  if (typeof duration === 'number' && Number.isFinite(duration) && duration < 0) {
    const back = microsToNanos(-duration);
    if (back !== undefined) return { startNs, endNs: startNs - back };
  }
  const d = microsToNanos(duration);
  if (d === undefined) return `duration ${show(duration)} is not a number of microseconds`;
  const endNs = startNs + d;
  const beyond = timeRangeProblem(startNs, endNs);
  return beyond === undefined ? { startNs, endNs } : `startTime ${show(start)} + duration ${show(duration)} µs ${beyond}`;
}

/** `otel.status_code` (OK / ERROR / UNSET) first; otherwise the `error` tag set to true means error. */
function statusOf(attrs: Attributes): StatusCode {
  const code = attrs['otel.status_code'];
  const fromCode = typeof code === 'string' ? statusFromName(code) : undefined;
  if (fromCode !== undefined && fromCode !== 'unset') return fromCode;
  const err = attrs['error'];
  return err === true || (typeof err === 'string' && err.toLowerCase() === 'true') ? 'error' : 'unset';
}

// ---- references -------------------------------------------------------------------------

type Ref =
  | { readonly ok: true; readonly follows: boolean; readonly sameTrace: boolean; readonly traceId: string; readonly spanId: string }
  | { readonly ok: false; readonly follows: boolean; readonly what: string }
  | { readonly ok: 'none' };

interface Resolved {
  readonly parent: { readonly spanId: string; readonly ref: 'child-of' | 'follows-from' } | undefined;
  readonly links: SpanLinkRef[];
}

function resolveReferences(s: JsonObject, traceId: string, where: () => string, ctx: ImportContext): Resolved {
  const raw = s['references'];
  const list = raw === undefined || raw === null ? [] : asArray(raw);
  const refs: Ref[] = [];
  if (list === undefined) refs.push({ ok: false, follows: false, what: `references is ${show(raw)}, expected an array` });
  else list.forEach((r, k) => refs.push(parseRef(r, k, traceId)));
  // The legacy `parentSpanID` field counts when no CHILD_OF reference exists.
  const legacy = s['parentSpanID'];
  if (legacy !== undefined && legacy !== null && !refs.some((r) => r.ok !== 'none' && !r.follows)) {
    refs.push(parseLegacyParent(legacy, traceId));
  }
  // A malformed reference may have been meant as the parent: it competes like a same-trace one.
  const candidate = (follows: boolean): number => refs.findIndex((r) => r.ok !== 'none' && r.follows === follows && (r.ok === false || r.sameTrace));
  let p = candidate(false);
  if (p < 0) p = candidate(true);

  let parent: Resolved['parent'];
  const links: SpanLinkRef[] = [];
  refs.forEach((r, k) => {
    if (r.ok === 'none') return;
    if (r.ok === false) {
      if (k === p) ctx.diag.add('parent_id_invalid', () => `${where()}: ${r.what}; kept as a root`);
      else ctx.diag.add('link_invalid', () => `${where()}: ${r.what}`);
    } else if (k === p) parent = { spanId: r.spanId, ref: r.follows ? 'follows-from' : 'child-of' };
    else links.push({ traceId: r.traceId, spanId: r.spanId });
  });
  return { parent, links };
}

function parseRef(r: unknown, k: number, traceId: string): Ref {
  if (!isObject(r)) return { ok: false, follows: false, what: `references[${k}] is ${describe(r)}, expected an object` };
  // The protobuf JSON mapping omits refType when it is CHILD_OF (enum value 0).
  const type = asString(r['refType']);
  const follows = type !== undefined && type.toUpperCase() === 'FOLLOWS_FROM';
  const rawSpan = r['spanID'];
  const span = typeof rawSpan === 'string' ? readRefId(rawSpan, 8) : undefined;
  if (span === undefined) return { ok: false, follows, what: `references[${k}].spanID is ${show(rawSpan)}, expected a string` };
  if (isAbsent(span)) return { ok: 'none' };
  if (!span.ok) return { ok: false, follows, what: `references[${k}].spanID ${show(rawSpan)} ${describeIdProblem(span.problem)}` };
  const rawTrace = r['traceID'];
  if (rawTrace === undefined || rawTrace === null) return { ok: true, follows, sameTrace: true, traceId, spanId: span.id };
  const trace = typeof rawTrace === 'string' ? readRefId(rawTrace, 16) : undefined;
  if (trace === undefined) return { ok: false, follows, what: `references[${k}].traceID is ${show(rawTrace)}, expected a string` };
  if (isAbsent(trace)) return { ok: true, follows, sameTrace: true, traceId, spanId: span.id };
  if (!trace.ok) return { ok: false, follows, what: `references[${k}].traceID ${show(rawTrace)} ${describeIdProblem(trace.problem)}` };
  return { ok: true, follows, sameTrace: trace.id === traceId, traceId: trace.id, spanId: span.id };
}

function parseLegacyParent(raw: unknown, traceId: string): Ref {
  const id = typeof raw === 'string' ? readRefId(raw, 8) : undefined;
  if (id === undefined) return { ok: false, follows: false, what: `parentSpanID is ${show(raw)}, expected a string` };
  if (isAbsent(id)) return { ok: 'none' };
  if (!id.ok) return { ok: false, follows: false, what: `parentSpanID ${show(raw)} ${describeIdProblem(id.problem)}` };
  return { ok: true, follows: false, sameTrace: true, traceId, spanId: id.id };
}

/** An empty or all-zero reference id means "no reference" (Jaeger writes parentSpanID "0" for roots). */
function isAbsent(r: TextIdResult): boolean {
  return !r.ok && (r.problem === 'empty' || r.problem === 'zero');
}

// ---- processes and tags -----------------------------------------------------------------

/** The span's inline `process`, else `processes[processID]` of its trace. */
function resolveResource(s: JsonObject, t: TraceScope, where: () => string): ResourceInfo {
  const { ctx } = t;
  const inline = s['process'];
  if (isObject(inline)) return resourceOf(inline, ctx, where);
  const pid = asString(s['processID']);
  let res: ResourceInfo | undefined;
  if (pid !== undefined) {
    if (t.resources.has(pid)) res = t.resources.get(pid);
    else {
      const p = t.processes?.[pid];
      res = isObject(p) ? resourceOf(p, ctx, () => `${formatSource(t.src)}: process ${show(pid)} of ${t.label}`) : undefined;
      t.resources.set(pid, res);
    }
  }
  if (res !== undefined) return res;
  ctx.diag.add('jaeger_process_missing', () => `${where()}: processID ${show(s['processID'])} is not in the trace's processes`);
  return ctx.resources.intern({});
}

/**
 * Process tags plus `service.name` = serviceName. Jaeger clients name the host in a `hostname`
 * tag; it is copied to `host.name` (when that is absent) so that host identity, and with it
 * clock-skew adjustment, works for Jaeger-native clients too.
 */
function resourceOf(p: JsonObject, ctx: ImportContext, where: () => string): ResourceInfo {
  const attrs = decodeTags(p['tags'], ctx, where);
  const service = asString(p['serviceName']);
  if (service !== undefined && service !== '') attrs['service.name'] = service;
  const hostname = attrs['hostname'];
  if (attrs['host.name'] === undefined && typeof hostname === 'string' && hostname !== '') attrs['host.name'] = hostname;
  return ctx.resources.intern(attrs);
}

/** Typed tags `[{key, type, value}]` -> attributes; malformed ones are counted and dropped. */
function decodeTags(raw: unknown, ctx: ImportContext, where: () => string): Attributes {
  const out: Attributes = {};
  if (raw === undefined || raw === null) return out;
  const tags = asArray(raw);
  if (tags === undefined) {
    ctx.diag.add('attribute_invalid', () => `${where()}: tags is ${show(raw)}, expected an array`);
    return out;
  }
  for (const tag of tags) {
    const key = isObject(tag) ? asString(tag['key']) : undefined;
    if (!isObject(tag) || key === undefined || key === '') {
      ctx.diag.add('attribute_invalid', () => `${where()}: tag ${show(tag)} has no key`);
      continue;
    }
    const v = tagValue(tag['type'], tag['value']);
    if (v === undefined) {
      ctx.diag.add('attribute_invalid', () => `${where()}: tag "${key}" of type ${show(tag['type'])} has a malformed value ${show(tag['value'])}`);
      continue;
    }
    // defineProperty: a tag called "__proto__" must not replace the object's prototype.
    Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const INT = /^-?\d{1,20}$/;
const FLOAT = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** One typed tag value. Types are matched case-insensitively; an untyped value keeps its JSON type. */
function tagValue(type: unknown, v: unknown): AttrValue | undefined {
  const t = typeof type === 'string' ? type.toLowerCase() : undefined;
  switch (t) {
    case 'string':
      return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    case 'bool':
      if (typeof v === 'boolean') return v;
      return v === 'true' ? true : v === 'false' ? false : undefined;
    case 'int64':
      return int64Value(v);
    case 'float64':
      if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
      return typeof v === 'string' && FLOAT.test(v) ? Number(v) : undefined;
    case 'binary':
      return typeof v === 'string' ? v : undefined;
    default:
      if (typeof v === 'string' || typeof v === 'boolean') return v;
      if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
      return undefined;
  }
}

/** int64 as a JSON number or a decimal string: a number when it is a safe integer, else an exact bigint. */
function int64Value(v: unknown): number | bigint | undefined {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    return Number.isInteger(v) ? BigInt(v) : undefined;
  }
  if (typeof v !== 'string' || !INT.test(v)) return undefined;
  const n = BigInt(v);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

// ---- messages ---------------------------------------------------------------------------
