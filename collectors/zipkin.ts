// Zipkin v2 JSON: an array of spans (what instrumentation posts to /api/v2/spans), an array of
// arrays of spans (the API's list of traces, /api/v2/traces), or one span object. Times are
// microseconds; tags are strings; 64-bit trace ids are left-padded to 128 bits (rule 5 of
// docs/critical-path.md); ids that are not hex are mapped to stable hex ids (span-ids.ts). Zipkin v1
// spans (core annotations, binaryAnnotations) in the same shapes are converted to v2 first
// (zipkin-v1.ts).
//
// Choices:
// - A span without `kind` is a local span in Zipkin (and is what OpenTelemetry's Zipkin exporter
//   writes for INTERNAL spans), so it becomes 'internal'. An unknown kind becomes 'unspecified'.
// - A span without `timestamp` (or with 0, Zipkin's "unset"), after merging its pieces, cannot be
//   placed: timestamp_invalid, skipped. A span without `duration` is kept with zero duration and counted (duration_missing).
// - Status: the tag `otel.status_code` (OK / ERROR) wins; otherwise an `error` tag, whatever its
//   value, means error, and a non-empty value is the status message.
// - Resource: `service.name` = localEndpoint.serviceName (else the service is unknown_service)
//   and `host.name` = localEndpoint.ipv4, else ipv6. Span attributes: the tags, plus
//   `peer.service`, `network.peer.address` and `network.peer.port` from remoteEndpoint and
//   `network.local.port` from localEndpoint (a tag of the same name wins).
//
// Fragments (Zipkin's own span merger): a span may be reported in pieces, e.g. a start with the
// timestamp and a finish with the duration. Pieces with the same trace id, span id, kind, shared
// flag and local endpoint are one span (a piece without a local endpoint joins the one piece of
// that span that has one); the most complete piece (timestamp and duration) gives the fields,
// the others fill what it lacks, tags are unioned (the most complete piece wins a clash).
// Counted as zipkin_fragments_merged (info): nothing is lost.
//
// Shared spans (docs/critical-path.md rule 6): with `shared: true` a SERVER span reuses the span id of
// its CLIENT span. When the client half is in the input, both must stay distinct: the server
// half gets a synthesised span id, the first 16 hex digits of
// sha256(`zipkin-shared:<traceId>:<id>:<endpoint>`) (trace id as 32 and span id as 16 lowercase
// hex digits; endpoint `<serviceName>@<ipv4 or ipv6>[:<port>]` of its localEndpoint), and the
// client half as its parent (zipkin_shared_split). When the client half is not in the input
// (what edge proxies such as Envoy emit at the root), a lone shared half keeps its id and its
// own parentId, so its children find it. Several shared halves of one id on different local
// endpoints (one message, several consumers) are different spans: each gets its synthesised id,
// with the client half as parent if present, else its own parentId (zipkin_shared_hosts).
// The children of a renamed half name the original id as their parent; those whose local
// service (and, when several halves share the service, host) matches one half are re-parented
// to it, the others (the client side's) stay children of the client half.
//
// Merging and re-parenting need the whole input, since pieces and halves may come in any order
// (or in a later line): handleValue only validates and buffers fragments, in per-input state
// kept in a WeakMap keyed by the ImportContext, and finish(ctx) merges, converts, re-parents and
// emits them in input order (of each span's first piece). Other duplicates are left to the
// builder.
import { createHash } from 'node:crypto';
import { describeIdProblem } from '../src/model/ids.js';
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
import { readRefId, readSpanIds } from './span-ids.js';
import { coreTimes, describeV1, isV1Span, v1ToV2 } from './zipkin-v1.js';
import type { ImportContext, JsonFormat } from './format.js';

/** One span as reported, or several pieces of it merged. */
interface Fragment {
  readonly traceId: string;
  readonly spanId: string;
  /** The v2 JSON span (merged when pieces > 1). */
  json: JsonObject;
  pieces: number;
  readonly label: string;
  readonly src: SourceRef;
}

interface State {
  readonly fragments: Fragment[];
  /** Merge identity (trace, id, kind, shared, local endpoint) -> its fragment. */
  readonly byKey: Map<string, Fragment>;
}

/** A fragment converted to a span, before shared halves get their ids. */
interface Converted {
  span: SpanInput;
  readonly shared: boolean;
  /** `<serviceName>@<ip>[:<port>]` of the local endpoint. */
  readonly endpoint: string;
  /** localEndpoint.ipv4 or ipv6. */
  readonly ip: string | undefined;
  readonly where: () => string;
}

/** Per-input buffers; entries go away with their ImportContext or in finish(). */
const states = new WeakMap<ImportContext, State>();

export const zipkinJson: JsonFormat = {
  name: 'zipkin',
  handleValue(value, src, ctx) {
    let state = states.get(ctx);
    if (state === undefined) {
      state = { fragments: [], byKey: new Map() };
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
    const converted: Converted[] = [];
    for (const f of mergeEndpointless(state.fragments)) {
      if (f.pieces > 1) {
        const where = whereOf(f.json, f.label, f.src);
        ctx.diag.add('zipkin_fragments_merged', () => `${where()}: span ${f.spanId} of trace ${f.traceId} was reported in ${f.pieces} pieces, merged into one`, f.pieces - 1);
      }
      const c = toSpan(f, ctx);
      if (c !== undefined) converted.push(c);
    }
    resolveShared(converted, ctx);
    for (const c of converted) ctx.emit(c.span);
  },
};

/**
 * The span id given to the server half of a shared Zipkin span: the first 16 hex digits of
 * sha256(`zipkin-shared:${traceId}:${spanId}:${endpoint}`), with normalised (lowercase, padded)
 * ids and the half's local endpoint as `<serviceName>@<ipv4 or ipv6>[:<port>]`.
 */
export function sharedServerId(traceId: string, spanId: string, endpoint: string): string {
  return createHash('sha256').update(`zipkin-shared:${traceId}:${spanId}:${endpoint}`).digest('hex').slice(0, 16);
}

/** `<serviceName>@<ipv4 or ipv6>[:<port>]`; empty parts stay empty. */
export function endpointLabel(local: JsonObject | undefined): string {
  if (local === undefined) return '@';
  const p = port(local['port']);
  return `${nonEmpty(local['serviceName']) ?? ''}@${nonEmpty(local['ipv4']) ?? nonEmpty(local['ipv6']) ?? ''}${p !== undefined ? `:${p}` : ''}`;
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

function whereOf(s: JsonObject, label: string, src: SourceRef): () => string {
  const name = asString(s['name']) ?? '';
  return () => `${formatSource(src)}: ${label}${name !== '' ? ` (${show(name)})` : ''}`;
}

/** Validates the ids of one reported span (v1 spans are converted first) and files it under its merge identity. */
function importSpan(s: unknown, label: string, src: SourceRef, ctx: ImportContext, state: State): void {
  if (!isObject(s)) {
    ctx.diag.add('record_invalid', () => `${formatSource(src)}: ${label} is ${describe(s)}, expected a span object`);
    return;
  }
  const where = whereOf(s, label, src);
  const rawTraceId = asString(s['traceId']);
  const rawId = asString(s['id']);
  if (rawTraceId === undefined || rawId === undefined) {
    const key = rawTraceId === undefined ? 'traceId' : 'id';
    ctx.diag.add('record_invalid', () => `${where()}: ${key} is ${show(s[key])}, expected a string`);
    return;
  }
  const ids = readSpanIds(rawTraceId, rawId, { trace: 'traceId', span: 'id' }, where, ctx);
  if (!ids) return;
  let pieces: readonly JsonObject[] = [s];
  if (isV1Span(s)) {
    pieces = v1ToV2(s);
    ctx.diag.add('zipkin_v1_converted', () => `${where()}: ${describeV1(s, pieces)}`);
  }
  for (const piece of pieces) {
    const local = isObject(piece['localEndpoint']) ? piece['localEndpoint'] : undefined;
    const key = `${ids.traceId}:${ids.spanId}\u0000${asString(piece['kind']) ?? ''}\u0000${piece['shared'] === true}\u0000${endpointLabel(local)}`;
    const f = state.byKey.get(key);
    if (f !== undefined && f.pieces === 1 && JSON.stringify(f.json) === JSON.stringify(piece)) {
      // The same piece again is a resend, not a fragment.
      const there = formatSource(f.src);
      const which = there === formatSource(src) ? 'repeats an earlier one in the same record' : `repeats the one at ${there}`;
      ctx.diag.add('span_duplicate', () => `${where()}: span ${ids.spanId} of trace ${ids.traceId} ${which}; the first was kept`);
    } else if (f !== undefined) {
      f.json = mergePieces(f.json, piece);
      f.pieces++;
    } else {
      const frag: Fragment = { traceId: ids.traceId, spanId: ids.spanId, json: piece, pieces: 1, label, src };
      state.byKey.set(key, frag);
      state.fragments.push(frag);
    }
  }
}

/**
 * A piece without a local endpoint (a late "finish" report) belongs to the one piece of the same
 * trace id, span id, kind and shared flag that has an endpoint, as in Zipkin's merger; with
 * several candidates it stays on its own.
 */
function mergeEndpointless(frags: readonly Fragment[]): Fragment[] {
  const identity = (f: Fragment): string => `${f.traceId}:${f.spanId}\u0000${asString(f.json['kind']) ?? ''}\u0000${f.json['shared'] === true}`;
  const hasEndpoint = (f: Fragment): boolean => isObject(f.json['localEndpoint']);
  const withEndpoint = new Map<string, Fragment[]>();
  for (const f of frags) {
    if (!hasEndpoint(f)) continue;
    const k = identity(f);
    const l = withEndpoint.get(k);
    if (l === undefined) withEndpoint.set(k, [f]);
    else l.push(f);
  }
  const out: Fragment[] = [];
  for (const f of frags) {
    const into = hasEndpoint(f) ? undefined : withEndpoint.get(identity(f));
    const target = into?.length === 1 ? into[0] : undefined;
    if (target === undefined) out.push(f);
    else {
      target.json = mergePieces(target.json, f.json);
      target.pieces += f.pieces;
    }
  }
  return out;
}

/** How much of a span's time a piece carries: timestamp (2) and duration (1). */
function completeness(s: JsonObject): number {
  return (present(s['timestamp']) ? 2 : 0) + (s['duration'] !== undefined && s['duration'] !== null ? 1 : 0);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== 0 && v !== '' && v !== '0';
}

/** Two pieces of one span as one: the more complete piece's fields, the other's where it has none; tags unioned. */
function mergePieces(a: JsonObject, b: JsonObject): JsonObject {
  const [base, other] = completeness(b) > completeness(a) ? [b, a] : [a, b];
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(other)) {
    const mine = out[k];
    if (k === 'name') {
      if ((mine === undefined || mine === '' || mine === 'unknown') && typeof v === 'string' && v !== '') out[k] = v;
    } else if (k === 'tags') {
      if (isObject(v)) out[k] = isObject(mine) ? { ...v, ...mine } : v;
    } else if (k === 'annotations') {
      if (Array.isArray(v)) out[k] = Array.isArray(mine) ? [...mine, ...v.filter((x) => !mine.some((y) => JSON.stringify(y) === JSON.stringify(x)))] : v;
    } else if (!present(mine) && present(v)) out[k] = v;
    else if (mine === undefined) out[k] = v;
  }
  return out;
}

/** One (merged) fragment as a span with its original ids; undefined (counted) when it cannot be placed in time. */
function toSpan(f: Fragment, ctx: ImportContext): Converted | undefined {
  const s = withCoreTimes(f.json);
  const where = whereOf(s, f.label, f.src);
  const name = asString(s['name']) ?? '';
  const time = timeRange(s['timestamp'], s['duration']);
  if (typeof time === 'string') {
    ctx.diag.add('timestamp_invalid', () => `${where()}: ${time}`);
    return undefined;
  }
  if (time.durationMissing) ctx.diag.add('duration_missing', () => `${where()}: no duration; kept with zero duration`);

  let parentSpanId: string | undefined;
  const rawParent = s['parentId'];
  if (rawParent !== undefined && rawParent !== null) {
    const pid = typeof rawParent === 'string' ? readRefId(rawParent, 8) : undefined;
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
  const span: SpanInput = {
    traceId: f.traceId,
    spanId: f.spanId,
    ...(parentSpanId !== undefined ? { parentSpanId } : {}),
    name,
    kind,
    startNs: time.startNs,
    endNs: time.endNs,
    status,
    ...(statusMessage !== undefined ? { statusMessage } : {}),
    attributes,
    resource,
    source: f.src,
  };
  return { span, shared: s['shared'] === true && kind === 'server', endpoint: endpointLabel(local), ip: host, where };
}

/** Fills a missing timestamp or duration from the core annotations (v1 sides merged from pieces). */
function withCoreTimes(s: JsonObject): JsonObject {
  const hasTs = present(s['timestamp']);
  const hasDur = s['duration'] !== undefined && s['duration'] !== null;
  if (hasTs && hasDur) return s;
  const core = coreTimes(s);
  // A duration only counts with the start it was measured from.
  if (hasTs) return core.duration !== undefined && core.timestamp === s['timestamp'] ? { ...s, duration: core.duration } : s;
  return core.timestamp !== undefined ? { ...s, ...core } : s;
}

/** Gives shared server halves their ids and parents, and re-parents their server-side children (see the top of this file). */
function resolveShared(all: Converted[], ctx: ImportContext): void {
  const halves = new Map<string, Converted[]>();
  const plain = new Set<string>();
  for (const c of all) {
    const k = `${c.span.traceId}:${c.span.spanId}`;
    if (!c.shared) plain.add(k);
    else {
      const l = halves.get(k);
      if (l === undefined) halves.set(k, [c]);
      else l.push(c);
    }
  }
  /** Original `trace:id` -> the halves that got a synthesised id. */
  const renamed = new Map<string, Converted[]>();
  for (const [k, hs] of halves) {
    const withClient = plain.has(k);
    if (!withClient && hs.length === 1) continue; // an edge proxy's root: keeps its id and parent
    for (const h of hs) {
      const { traceId, spanId, parentSpanId: own } = h.span;
      const id = sharedServerId(traceId, spanId, h.endpoint);
      const parent = withClient ? spanId : own;
      const { parentSpanId: _drop, ...rest } = h.span;
      h.span = { ...rest, spanId: id, ...(parent !== undefined ? { parentSpanId: parent } : {}) };
      if (withClient) ctx.diag.add('zipkin_shared_split', () => `${h.where()}: shared server half of span ${spanId} got span id ${id}`);
    }
    if (hs.length > 1) {
      const first = hs[0];
      ctx.diag.add(
        'zipkin_shared_hosts',
        () => `${first?.where() ?? ''}: span id ${k.slice(k.indexOf(':') + 1)} is a shared server half on ${hs.length} local endpoints (${hs.map((h) => h.endpoint).join(', ')}); kept as ${hs.length} spans${withClient ? '' : ' (its client half is not in the input)'}`,
        hs.length,
      );
    }
    renamed.set(k, hs);
  }
  if (renamed.size === 0) return;
  for (const c of all) {
    const p = c.span.parentSpanId;
    if (c.shared || p === undefined) continue;
    const hs = renamed.get(`${c.span.traceId}:${p}`);
    if (hs === undefined) continue;
    let match = hs.filter((h) => h.span.resource.service === c.span.resource.service);
    if (match.length > 1) match = match.filter((h) => h.ip === c.ip);
    const h = match.length === 1 ? match[0] : undefined;
    if (h !== undefined) c.span = { ...c.span, parentSpanId: h.span.spanId };
  }
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
