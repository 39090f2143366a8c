// Zipkin v2 JSON: an array of spans (what instrumentation posts to /api/v2/spans), an array of
// arrays of spans (the API's list of traces, /api/v2/traces), or one span object. Times are
// microseconds; tags are strings; 64-bit trace ids are left-padded to 128 bits (rule 5 of
// critical-path.md).
//
// Choices:
// - A span without `kind` is a local span in Zipkin (and is what OpenTelemetry's Zipkin exporter
//   writes for INTERNAL spans), so it becomes 'internal'. An unknown kind becomes 'unspecified'.
// - A span without `timestamp` (or with 0, Zipkin's "unset") cannot be placed: timestamp_invalid,
//   skipped. A span without `duration` is kept with zero duration and counted (duration_missing).
// - Status: the tag `otel.status_code` (OK / ERROR) wins; otherwise an `error` tag, whatever its
//   value, means error, and a non-empty value is the status message.
// - Resource: `service.name` = localEndpoint.serviceName (else the service is unknown_service)
//   and `host.name` = localEndpoint.ipv4, else ipv6. Span attributes: the tags, plus
//   `peer.service`, `network.peer.address` and `network.peer.port` from remoteEndpoint and
//   `network.local.port` from localEndpoint (a tag of the same name wins).
//
// Shared spans (critical-path.md rule 6): with `shared: true` a SERVER span reuses the span id of
// its CLIENT span. Both must stay distinct, so the server half gets a synthesised span id, the
// first 16 hex digits of sha256(`zipkin-shared:<traceId>:<id>`) (trace id as 32 and span id as
// 16 lowercase hex digits), and the original id as its parent (counted as zipkin_shared_split),
// whether or not the client half is in the input (if it is not, the builder reports the parent
// missing). The server's own children name the original id as their parent too; those whose
// localEndpoint.serviceName equals the server half's service are re-parented to the synthesised
// id, the others (the client side's) stay children of the client half.
//
// That re-parenting needs the whole input, since the shared half may come after its children
// (or in a later line): handleValue only validates and buffers spans, in per-input state kept in
// a WeakMap keyed by the ImportContext, and finish(ctx) re-parents and emits them in input
// order. Duplicates are left to the builder.
import { createHash } from 'node:crypto';
import { describeIdProblem, normalizeId } from '../src/model/ids.js';
import { asString, isObject, type JsonObject, describeValue as describe, showValue as show } from '../src/model/json-value.js';
import {
  formatSource,
  kindFromName,
  statusFromName,
  type AttrValue,
  type Attributes,
  type SourceRef,
  type SpanInput,
  type SpanKind,
  type StatusCode,
} from '../src/model/span.js';
import { microsToNanos, timeRangeProblem } from '../src/model/time.js';
import { readSpanIds } from './span-ids.js';
import type { ImportContext, JsonFormat } from './format.js';

interface Pending {
  readonly span: SpanInput;
  /** The server half of a shared span (already has its synthesised id). */
  readonly sharedHalf: boolean;
}

interface State {
  readonly pending: Pending[];
  /** `traceId:originalId\0service` of every shared server half. */
  readonly sharedServers: Set<string>;
}

/** Per-input buffers; entries go away with their ImportContext or in finish(). */
const states = new WeakMap<ImportContext, State>();

export const zipkinJson: JsonFormat = {
  name: 'zipkin',
  handleValue(value, src, ctx) {
    let state = states.get(ctx);
    if (state === undefined) {
      state = { pending: [], sharedServers: new Set() };
      states.set(ctx, state);
    }
    importZipkin(value, src, ctx, state);
  },
  // Walk into the root array and, for the list-of-traces shape, into each trace's array.
  descend(p) {
    return p.length === 0 || (p.length === 1 && typeof p[0] === 'number');
  },
  // Hand over each top-level element (a span, or one trace's array of spans) as it closes.
  flush(p) {
    return p.length === 1 && typeof p[0] === 'number';
  },
  finish(ctx) {
    const state = states.get(ctx);
    if (state === undefined) return;
    states.delete(ctx);
    for (const { span, sharedHalf } of state.pending) {
      const p = span.parentSpanId;
      if (!sharedHalf && p !== undefined && state.sharedServers.has(sharedKey(span.traceId, p, span.resource.service))) {
        ctx.emit({ ...span, parentSpanId: sharedServerId(span.traceId, p) });
      } else ctx.emit(span);
    }
  },
};

/**
 * The span id given to the server half of a shared Zipkin span: the first 16 hex digits of
 * sha256(`zipkin-shared:${traceId}:${spanId}`), with normalised (lowercase, padded) ids.
 */
export function sharedServerId(traceId: string, spanId: string): string {
  return createHash('sha256').update(`zipkin-shared:${traceId}:${spanId}`).digest('hex').slice(0, 16);
}

function sharedKey(traceId: string, spanId: string, service: string): string {
  return `${traceId}:${spanId}\u0000${service}`;
}

function importZipkin(value: unknown, src: SourceRef, ctx: ImportContext, state: State): void {
  if (Array.isArray(value)) {
    value.forEach((el, i) => {
      if (Array.isArray(el)) el.forEach((s, j) => importSpan(s, `span ${j} of trace ${i}`, src, ctx, state));
      else importSpan(el, `span ${i}`, src, ctx, state);
    });
  } else if (isObject(value)) importSpan(value, 'span 0', src, ctx, state);
  else ctx.diag.add('record_invalid', () => `${formatSource(src)}: expected an array of Zipkin spans or one span, found ${describe(value)}`);
}

function importSpan(s: unknown, label: string, src: SourceRef, ctx: ImportContext, state: State): void {
  const loc = formatSource(src);
  if (!isObject(s)) {
    ctx.diag.add('record_invalid', () => `${loc}: ${label} is ${describe(s)}, expected a span object`);
    return;
  }
  const name = asString(s['name']) ?? '';
  const where = (): string => `${loc}: ${label}${name !== '' ? ` (${show(name)})` : ''}`;
  const rawTraceId = asString(s['traceId']);
  const rawId = asString(s['id']);
  if (rawTraceId === undefined || rawId === undefined) {
    const key = rawTraceId === undefined ? 'traceId' : 'id';
    ctx.diag.add('record_invalid', () => `${where()}: ${key} is ${show(s[key])}, expected a string`);
    return;
  }
  const ids = readSpanIds(rawTraceId, rawId, { trace: 'traceId', span: 'id' }, where, ctx);
  if (!ids) return;
  const time = timeRange(s['timestamp'], s['duration']);
  if (typeof time === 'string') {
    ctx.diag.add('timestamp_invalid', () => `${where()}: ${time}`);
    return;
  }
  if (time.durationMissing) ctx.diag.add('duration_missing', () => `${where()}: no duration; kept with zero duration`);

  let parentSpanId: string | undefined;
  const rawParent = s['parentId'];
  if (rawParent !== undefined && rawParent !== null) {
    const pid = typeof rawParent === 'string' ? normalizeId(rawParent, 8, true) : undefined;
    if (pid?.ok === true) parentSpanId = pid.id;
    // An empty or all-zero parentId means "no parent" (old clients wrote zeros for roots).
    else if (pid === undefined || (pid.problem !== 'empty' && pid.problem !== 'zero')) {
      const what = pid === undefined ? 'is not a string' : describeIdProblem(pid.problem);
      ctx.diag.add('parent_id_invalid', () => `${where()}: parentId ${show(rawParent)} ${what}; kept as a root`);
    }
  }

  const local = isObject(s['localEndpoint']) ? s['localEndpoint'] : undefined;
  const remote = isObject(s['remoteEndpoint']) ? s['remoteEndpoint'] : undefined;
  const resAttrs: Attributes = {};
  const service = nonEmpty(local?.['serviceName']);
  if (service !== undefined) resAttrs['service.name'] = service;
  const host = local !== undefined ? (nonEmpty(local['ipv4']) ?? nonEmpty(local['ipv6'])) : undefined;
  if (host !== undefined) resAttrs['host.name'] = host;
  const resource = ctx.resources.intern(resAttrs);

  const attributes = endpointAttributes(local, remote);
  const tags = s['tags'];
  if (isObject(tags)) {
    for (const [k, v] of Object.entries(tags)) {
      const a = tagValue(v);
      if (a === undefined) ctx.diag.add('attribute_invalid', () => `${where()}: tag "${k}" has a malformed value ${show(v)}`);
      // defineProperty: a tag called "__proto__" must not replace the object's prototype.
      else Object.defineProperty(attributes, k, { value: a, enumerable: true, writable: true, configurable: true });
    }
  } else if (tags !== undefined && tags !== null) ctx.diag.add('attribute_invalid', () => `${where()}: tags is ${show(tags)}, expected an object`);

  const rawKind = asString(s['kind']);
  const kind: SpanKind = rawKind === undefined ? 'internal' : (kindFromName(rawKind) ?? 'unspecified');
  const { status, statusMessage } = statusOf(attributes);
  const shared = s['shared'] === true && kind === 'server';

  const span: SpanInput = {
    traceId: ids.traceId,
    spanId: shared ? sharedServerId(ids.traceId, ids.spanId) : ids.spanId,
    ...(shared ? { parentSpanId: ids.spanId } : parentSpanId !== undefined ? { parentSpanId } : {}),
    name,
    kind,
    startNs: time.startNs,
    endNs: time.endNs,
    status,
    ...(statusMessage !== undefined ? { statusMessage } : {}),
    attributes,
    resource,
    source: src,
  };
  if (shared) {
    ctx.diag.add('zipkin_shared_split', () => `${where()}: shared server half of span ${ids.spanId} got span id ${span.spanId}`);
    state.sharedServers.add(sharedKey(ids.traceId, ids.spanId, resource.service));
  }
  state.pending.push({ span, sharedHalf: shared });
}

/** Start and end in exact nanoseconds, or what is wrong. A negative duration is left to the builder (end_before_start). */
function timeRange(timestamp: unknown, duration: unknown): { startNs: bigint; endNs: bigint; durationMissing: boolean } | string {
  const startNs = microsToNanos(timestamp);
  if (timestamp === undefined || timestamp === null || startNs === 0n) return `timestamp is ${show(timestamp)}, so the span cannot be placed in time`;
  if (startNs === undefined) return `timestamp ${show(timestamp)} is not a number of microseconds`;
  const startProblem = timeRangeProblem(startNs, startNs);
  if (startProblem !== undefined) return `timestamp ${show(timestamp)} µs ${startProblem}`;
  if (duration === undefined || duration === null) return { startNs, endNs: startNs, durationMissing: true };
  if (typeof duration === 'number' && Number.isFinite(duration) && duration < 0) {
    const back = microsToNanos(-duration);
    if (back !== undefined) return { startNs, endNs: startNs - back, durationMissing: false };
  }
  const d = microsToNanos(duration);
  if (d === undefined) return `duration ${show(duration)} is not a number of microseconds`;
  const beyond = timeRangeProblem(startNs, startNs + d);
  if (beyond !== undefined) return `timestamp ${show(timestamp)} + duration ${show(duration)} µs ${beyond}`;
  return { startNs, endNs: startNs + d, durationMissing: false };
}

function endpointAttributes(local: JsonObject | undefined, remote: JsonObject | undefined): Attributes {
  const out: Attributes = {};
  const localPort = port(local?.['port']);
  if (localPort !== undefined) out['network.local.port'] = localPort;
  if (remote !== undefined) {
    const peer = nonEmpty(remote['serviceName']);
    if (peer !== undefined) out['peer.service'] = peer;
    const addr = nonEmpty(remote['ipv4']) ?? nonEmpty(remote['ipv6']);
    if (addr !== undefined) out['network.peer.address'] = addr;
    const remotePort = port(remote['port']);
    if (remotePort !== undefined) out['network.peer.port'] = remotePort;
  }
  return out;
}

/** `otel.status_code` first; otherwise the presence of an `error` tag. */
function statusOf(attrs: Attributes): { status: StatusCode; statusMessage?: string } {
  const desc = attrs['otel.status_description'];
  const description = typeof desc === 'string' && desc !== '' ? desc : undefined;
  const code = attrs['otel.status_code'];
  const fromCode = typeof code === 'string' ? statusFromName(code) : undefined;
  const err = attrs['error'];
  if (fromCode !== undefined && fromCode !== 'unset') return { status: fromCode, ...(description !== undefined ? { statusMessage: description } : {}) };
  if (err === undefined) return { status: 'unset' };
  const message = description ?? (typeof err === 'string' && err !== '' && err.toLowerCase() !== 'true' ? err : undefined);
  return { status: 'error', ...(message !== undefined ? { statusMessage: message } : {}) };
}

/** Zipkin tags are strings; numbers and booleans some clients write are kept as they are. */
function tagValue(v: unknown): AttrValue | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}

function port(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536 ? v : undefined;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
