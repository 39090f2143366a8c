// OTLP ExportTraceServiceRequest / TracesData -> SpanInput. Shared by the JSON and protobuf
// readers: protobufjs decodes to the same camelCase shape, except that ids are bytes, 64-bit
// integers are Long objects and enums are numbers, and every accessor below accepts both.
import { describeIdProblem, idFromBytes, normalizeId, type IdResult } from '../src/model/ids.js';
import { asArray, field, isObject, showValue, type JsonObject } from '../src/model/json-value.js';
import {
  formatSource,
  kindFromName,
  kindFromNumber,
  statusFromName,
  statusFromNumber,
  type AttrValue,
  type Attributes,
  type SourceRef,
  type SpanKind,
  type SpanLinkRef,
  type StatusCode,
} from '../src/model/span.js';
import { MAX_ATTRIBUTE_DEPTH, NO_SPAN_LIMITS, type SpanLimits } from '../src/model/limits.js';
import { parseUint64, timeRangeProblem } from '../src/model/time.js';
import type { ImportContext } from './format.js';
import { SKIPPED_ATTRIBUTES, SKIPPED_EVENTS, SKIPPED_LINKS, TOO_DEEP_KEY, TOO_DEEP_VALUE } from './otlp-schema.js';

/** Top-level keys that hold ResourceSpans: OTLP, snake_case, and Tempo's `batches`. */
export const RESOURCE_SPANS_KEYS = ['resourceSpans', 'resource_spans', 'batches'] as const;
export const SCOPE_SPANS_KEYS = ['scopeSpans', 'scope_spans', 'instrumentationLibrarySpans', 'instrumentation_library_spans'] as const;

export function isResourceSpansKey(k: unknown): boolean {
  return typeof k === 'string' && (RESOURCE_SPANS_KEYS as readonly string[]).includes(k);
}
export function isScopeSpansKey(k: unknown): boolean {
  return typeof k === 'string' && (SCOPE_SPANS_KEYS as readonly string[]).includes(k);
}

/** Handles a request object or an array of them. Returns the number of spans emitted. */
export function convertOtlp(value: unknown, src: SourceRef, ctx: ImportContext): number {
  if (!Array.isArray(value)) return convertRequest(value, src, ctx);
  // Arrays of arrays are walked with a stack of our own: a hostile input may nest them 10^5 deep.
  let n = 0;
  const stack: (readonly unknown[] | number)[] = [value, 0];
  while (stack.length > 0) {
    const i = stack.pop();
    const list = stack.pop();
    if (typeof i !== 'number' || !Array.isArray(list) || i >= list.length) continue;
    stack.push(list, i + 1);
    const v: unknown = list[i];
    if (Array.isArray(v)) stack.push(v, 0);
    else n += convertRequest(v, src, ctx);
  }
  return n;
}

function convertRequest(value: unknown, src: SourceRef, ctx: ImportContext): number {
  if (!isObject(value)) {
    ctx.diag.add('record_invalid', () => `${formatSource(src)}: expected an OTLP request object, found ${typeof value}`);
    return 0;
  }
  let list: readonly unknown[] | undefined;
  for (const k of RESOURCE_SPANS_KEYS) {
    const v = value[k];
    if (v !== undefined) {
      list = asArray(v);
      break;
    }
  }
  if (list === undefined) {
    // An empty request ({}) is valid OTLP and holds nothing.
    if (Object.keys(value).length > 0) ctx.diag.add('record_invalid', () => `${formatSource(src)}: no resourceSpans in an object with keys ${Object.keys(value).slice(0, 5).join(', ')}`);
    return 0;
  }
  let n = 0;
  for (const rs of list) {
    if (!isObject(rs)) {
      ctx.diag.add('record_invalid', () => `${formatSource(src)}: a resourceSpans entry is not an object`);
      continue;
    }
    const res = field(rs, 'resource');
    const resAttrs = isObject(res) ? convertAttributes(field(res, 'attributes'), src, ctx, undefined, res[SKIPPED_ATTRIBUTES]) : {};
    const resource = ctx.resources.intern(resAttrs);
    let scopes: readonly unknown[] | undefined;
    for (const k of SCOPE_SPANS_KEYS) {
      const v = rs[k];
      if (v !== undefined) {
        scopes = asArray(v);
        break;
      }
    }
    for (const ss of scopes ?? []) {
      if (!isObject(ss)) continue;
      const spans = asArray(field(ss, 'spans')) ?? [];
      for (let i = 0; i < spans.length; i++) {
        const s = spans[i];
        if (!isObject(s)) {
          ctx.diag.add('record_invalid', () => `${formatSource(src)}: span ${i} is not an object`);
          continue;
        }
        if (convertSpan(s, i, resource, src, ctx)) n++;
      }
    }
  }
  return n;
}

function convertSpan(s: JsonObject, index: number, resource: ReturnType<ImportContext['resources']['intern']>, src: SourceRef, ctx: ImportContext): boolean {
  // Only error paths call this; it is a closure, but one per span is cheap next to the parse.
  const where = (): string => `${formatSource(src)}: span ${index}${typeof s['name'] === 'string' ? ` "${s['name']}"` : ''}`;
  const tid = readId(field(s, 'traceId', 'trace_id'), 16);
  if (!tid.ok) {
    ctx.diag.add('id_invalid', () => `${where()}: traceId ${showId(field(s, 'traceId', 'trace_id'))} ${describeIdProblem(tid.problem)}`);
    return false;
  }
  const sid = readId(field(s, 'spanId', 'span_id'), 8);
  if (!sid.ok) {
    ctx.diag.add('id_invalid', () => `${where()}: spanId ${showId(field(s, 'spanId', 'span_id'))} ${describeIdProblem(sid.problem)}`);
    return false;
  }
  let parentSpanId: string | undefined;
  const rawParent = field(s, 'parentSpanId', 'parent_span_id');
  if (rawParent !== undefined && rawParent !== '' && !isEmptyBytes(rawParent)) {
    const pid = readId(rawParent, 8);
    if (pid.ok) parentSpanId = pid.id;
    else ctx.diag.add('parent_id_invalid', () => `${where()}: parentSpanId ${showId(rawParent)} ${describeIdProblem(pid.problem)}`);
  }
  const startNs = readUint64(field(s, 'startTimeUnixNano', 'start_time_unix_nano'));
  const endNs = readUint64(field(s, 'endTimeUnixNano', 'end_time_unix_nano'));
  if (startNs === undefined || endNs === undefined || startNs === 0n) {
    ctx.diag.add('timestamp_invalid', () => `${where()}: startTimeUnixNano ${showTime(field(s, 'startTimeUnixNano', 'start_time_unix_nano'))} / endTimeUnixNano ${showTime(field(s, 'endTimeUnixNano', 'end_time_unix_nano'))} is not a valid time`);
    return false;
  }
  const beyond = timeRangeProblem(startNs, endNs);
  if (beyond !== undefined) {
    ctx.diag.add('timestamp_invalid', () => `${where()}: startTimeUnixNano ${startNs} / endTimeUnixNano ${endNs} ${beyond}`);
    return false;
  }
  const nameRaw = s['name'];
  const name = typeof nameRaw === 'string' ? ctx.resources.string(nameRaw) : '';
  const kind = readKind(s['kind']);
  const statusObj = s['status'];
  let status: StatusCode = 'unset';
  let statusMessage: string | undefined;
  if (isObject(statusObj)) {
    const code = statusObj['code'];
    status = (typeof code === 'number' ? statusFromNumber(code) : typeof code === 'string' ? statusFromName(code) : undefined) ?? 'unset';
    const msg = statusObj['message'];
    if (typeof msg === 'string' && msg !== '') statusMessage = msg;
  }
  const limits = ctx.limits ?? NO_SPAN_LIMITS;
  const linksRaw = asArray(s['links']);
  let links: SpanLinkRef[] | undefined;
  const skippedLinks = (typeof s[SKIPPED_LINKS] === 'number' ? s[SKIPPED_LINKS] : 0) + Math.max(0, (linksRaw?.length ?? 0) - limits.links);
  if (skippedLinks > 0) ctx.diag.add('links_truncated', () => `${where()}: ${skippedLinks} links past the first ${limits.links} skipped`);
  const eventsRaw = asArray(s['events']);
  const skippedEvents = (typeof s[SKIPPED_EVENTS] === 'number' ? s[SKIPPED_EVENTS] : 0) + Math.max(0, (eventsRaw?.length ?? 0) - limits.events);
  if (skippedEvents > 0) ctx.diag.add('events_truncated', () => `${where()}: ${skippedEvents} events past the first ${limits.events} skipped`);
  if (linksRaw && linksRaw.length > 0) {
    links = [];
    for (let j = 0; j < linksRaw.length && j < limits.links; j++) {
      const l = linksRaw[j];
      if (!isObject(l)) continue;
      const lt = readId(field(l, 'traceId', 'trace_id'), 16);
      const ls = readId(field(l, 'spanId', 'span_id'), 8);
      if (lt.ok && ls.ok) links.push({ traceId: lt.id, spanId: ls.id });
      else if (!lt.ok) ctx.diag.add('link_invalid', () => `${where()}: links[${j}].traceId ${showId(field(l, 'traceId', 'trace_id'))} ${describeIdProblem(lt.problem)}`);
      else if (!ls.ok) ctx.diag.add('link_invalid', () => `${where()}: links[${j}].spanId ${showId(field(l, 'spanId', 'span_id'))} ${describeIdProblem(ls.problem)}`);
    }
  }
  // One object shape for every span (no conditional spreads): faster, and V8 keeps it monomorphic.
  ctx.emit({
    traceId: ctx.resources.string(tid.id),
    spanId: sid.id,
    parentSpanId,
    parentRef: undefined,
    name,
    kind,
    startNs,
    endNs,
    status,
    statusMessage,
    attributes: ctx.attributeKeys?.size === 0 ? NO_ATTRIBUTES : convertAttributes(s['attributes'], src, ctx, ctx.attributeKeys, s[SKIPPED_ATTRIBUTES]),
    resource,
    links: links && links.length > 0 ? links : undefined,
    source: src,
  });
  return true;
}

/** protobufjs leaves absent bytes fields as an empty array or buffer. */
function isEmptyBytes(v: unknown): boolean {
  return (Array.isArray(v) || v instanceof Uint8Array) && v.length === 0;
}

/** The common case: already lowercase hex of the right length, not all zeros (a regex beats a charCode loop here). */
const CANONICAL_SPAN_ID = /^(?!0+$)[0-9a-f]{16}$/;
const CANONICAL_TRACE_ID = /^(?!0+$)[0-9a-f]{32}$/;

function readId(v: unknown, bytes: 8 | 16): IdResult {
  if (typeof v === 'string' && (bytes === 8 ? CANONICAL_SPAN_ID : CANONICAL_TRACE_ID).test(v)) return { ok: true, id: v };
  if (isEmptyBytes(v)) return { ok: false, problem: 'empty' };
  if (typeof v === 'string') return normalizeId(v, bytes);
  if (v instanceof Uint8Array) return idFromBytes(v, bytes);
  return { ok: false, problem: v === undefined ? 'empty' : 'malformed' };
}

function showId(v: unknown): string {
  if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
  return JSON.stringify(v) ?? 'undefined';
}

/** A time for a message: the number when it is one, else the value as the input had it (String() throws on `{"toString": 1}`). */
function showTime(v: unknown): string {
  const n = readUint64(v);
  return n !== undefined ? String(n) : showValue(v);
}

/** A protobufjs Long. */
function isLong(v: unknown): v is { low: number; high: number } {
  return isObject(v) && typeof v['low'] === 'number' && typeof v['high'] === 'number';
}

function readUint64(v: unknown): bigint | undefined {
  if (isLong(v)) return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return parseUint64(v);
}

function readKind(v: unknown): SpanKind {
  if (typeof v === 'number') return kindFromNumber(v) ?? 'unspecified';
  if (typeof v === 'string') return kindFromName(v) ?? 'unspecified';
  return 'unspecified';
}

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/**
 * OTLP KeyValues to attributes, within the limits: the first `limits.attributes` kept, string
 * values cut to `limits.valueLength`, values nested deeper than MAX_ATTRIBUTE_DEPTH dropped;
 * each counted. `skipped`: attributes the protobuf decoder already skipped past the limit.
 */
function convertAttributes(v: unknown, src: SourceRef, ctx: ImportContext, keep?: ReadonlySet<string>, skipped?: unknown): Attributes {
  const out: Attributes = {};
  const list = asArray(v);
  if (!list) return out;
  const limits = ctx.limits ?? NO_SPAN_LIMITS;
  const cut = { values: 0 };
  let kept = 0;
  let dropped = typeof skipped === 'number' ? skipped : 0;
  for (let i = 0; i < list.length; i++) {
    if (kept >= limits.attributes) {
      dropped += list.length - i;
      break;
    }
    const kv = list[i];
    if (!isObject(kv)) continue;
    const key = kv['key'];
    if (typeof key !== 'string' || (keep !== undefined && !keep.has(key))) continue;
    const raw = kv['value'];
    if (nestedDeeperThan(raw, MAX_ATTRIBUTE_DEPTH)) {
      ctx.diag.add('attribute_too_deep', () => `${formatSource(src)}: attribute "${clipKey(key)}" nests arrays or key-value lists more than ${MAX_ATTRIBUTE_DEPTH} levels deep`);
      continue;
    }
    const val = convertAnyValue(raw, limits, cut);
    if (val === undefined) {
      if (raw !== undefined && raw !== null && !(isObject(raw) && Object.keys(raw).length === 0)) {
        ctx.diag.add('attribute_invalid', () => `${formatSource(src)}: attribute "${clipKey(key)}" has a malformed value ${showValue(raw)}`);
      }
      continue;
    }
    defineOwn(out, key, val);
    kept++;
  }
  if (dropped > 0) ctx.diag.add('attributes_truncated', () => `${formatSource(src)}: ${dropped} attributes past the first ${kept} dropped`);
  if (cut.values > 0) ctx.diag.add('attribute_value_truncated', () => `${formatSource(src)}: ${cut.values} attribute values cut to ${limits.valueLength} characters`, cut.values);
  return out;
}

/** `o[key] = v`, except that a key "__proto__" stays a key instead of replacing the prototype (and the value being lost). */
function defineOwn(o: Record<string, AttrValue>, key: string, v: AttrValue): void {
  // Plain assignment otherwise: this runs for every attribute of every span.
  if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
  else o[key] = v;
}

function clipKey(key: string): string {
  return key.length > 60 ? `${key.slice(0, 60)}…` : key;
}

/** The values an AnyValue holds directly (array elements, key-value list values). */
function childValues(v: JsonObject): readonly unknown[] {
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (!isObject(x)) continue;
    if (k === 'arrayValue' || k === 'array_value') return asArray(x['values']) ?? [];
    if (k === 'kvlistValue' || k === 'kvlist_value') return (asArray(x['values']) ?? []).map((kv) => (isObject(kv) ? kv['value'] : undefined));
  }
  return [];
}

/**
 * True when an AnyValue nests more than `max` levels of arrays or key-value lists (or the
 * protobuf decoder already found it too deep). Iterative: a hostile value may nest 10^5 levels,
 * and the conversion's recursion below is safe only once this said no.
 */
function nestedDeeperThan(v: unknown, max: number): boolean {
  if (isTooDeepMarker(v)) return true;
  if (!isObject(v) || (v['arrayValue'] === undefined && v['array_value'] === undefined && v['kvlistValue'] === undefined && v['kvlist_value'] === undefined)) return false;
  const stack: { v: unknown; depth: number }[] = [{ v, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (isTooDeepMarker(top.v)) return true;
    if (!isObject(top.v)) continue;
    const children = childValues(top.v);
    if (children.length === 0) continue;
    if (top.depth + 1 > max) return true;
    for (const c of children) stack.push({ v: c, depth: top.depth + 1 });
  }
  return false;
}

/** TOO_DEEP_VALUE, or its copy from the JSON parse worker. */
function isTooDeepMarker(v: unknown): boolean {
  return v === TOO_DEEP_VALUE || (isObject(v) && v[TOO_DEEP_KEY] === true);
}

/** One AnyValue; recursion is bounded by MAX_ATTRIBUTE_DEPTH (checked first by nestedDeeperThan). */
function convertAnyValue(v: unknown, limits: SpanLimits, cut: { values: number }): AttrValue | undefined {
  if (!isObject(v)) return undefined;
  // Own keys only: protobufjs puts defaults for absent oneof members on the prototype.
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (x === undefined || x === null) continue;
    switch (k) {
      case 'stringValue':
      case 'string_value':
        if (typeof x === 'string') return clipValue(x, limits, cut);
        return undefined;
      case 'boolValue':
      case 'bool_value':
        return typeof x === 'boolean' ? x : undefined;
      case 'intValue':
      case 'int_value':
        return convertInt(x);
      case 'doubleValue':
      case 'double_value':
        if (typeof x === 'number') return x;
        if (typeof x === 'string') {
          const n = Number(x); // "NaN", "Infinity" are how proto3 JSON writes non-finite doubles
          return Number.isNaN(n) && x !== 'NaN' ? undefined : n;
        }
        return undefined;
      case 'arrayValue':
      case 'array_value': {
        if (!isObject(x)) return undefined;
        const out: AttrValue[] = [];
        for (const e of asArray(x['values']) ?? []) {
          const c = convertAnyValue(e, limits, cut);
          if (c !== undefined) out.push(c);
        }
        return out;
      }
      case 'kvlistValue':
      case 'kvlist_value': {
        if (!isObject(x)) return undefined;
        const out: Record<string, AttrValue> = {};
        for (const kv of asArray(x['values']) ?? []) {
          if (!isObject(kv) || typeof kv['key'] !== 'string') continue;
          const c = convertAnyValue(kv['value'], limits, cut);
          if (c !== undefined) defineOwn(out, kv['key'], c);
        }
        return out;
      }
      case 'bytesValue':
      case 'bytes_value':
        if (typeof x === 'string') return clipValue(x, limits, cut);
        // Only what the limit can keep is encoded (a 30 MB value is not turned into 40 MB of base64).
        if (x instanceof Uint8Array) return clipValue(Buffer.from(x.buffer, x.byteOffset, Math.min(x.length, limits.valueLength)).toString('base64'), limits, cut, x.length > limits.valueLength);
        return undefined;
      default:
        continue; // unknown fields are ignored
    }
  }
  return undefined;
}

function clipValue(s: string, limits: SpanLimits, cut: { values: number }, longer = false): string {
  if (s.length <= limits.valueLength && !longer) return s;
  cut.values++;
  return s.slice(0, limits.valueLength);
}

function convertInt(i: unknown): AttrValue | undefined {
  if (typeof i === 'number' && Number.isInteger(i)) return i;
  if (isLong(i)) {
    const big = BigInt.asIntN(64, (BigInt(i.high >>> 0) << 32n) | BigInt(i.low >>> 0));
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }
  if (typeof i === 'string' && /^-?\d{1,20}$/.test(i)) {
    const n = Number(i);
    return Number.isSafeInteger(n) ? n : BigInt(i);
  }
  return undefined;
}
