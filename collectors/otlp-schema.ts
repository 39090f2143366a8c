// The OTLP trace protobuf schema (opentelemetry-proto v1.x) for protobufjs, inline: no npm
// package ships the .proto files. Field numbers are from docs/otlp.md. Span and
// AnyValue get decoders of our own that apply the span limits while reading (issue 15).
import protobuf from 'protobufjs';
import { MAX_ATTRIBUTE_DEPTH, NO_SPAN_LIMITS, type SpanLimits } from '../src/model/limits.js';

const schema = {
  nested: {
    otlp: {
      nested: {
        ExportTraceServiceRequest: { fields: { resourceSpans: { rule: 'repeated', type: 'ResourceSpans', id: 1 } } },
        ResourceSpans: {
          fields: {
            resource: { type: 'Resource', id: 1 },
            scopeSpans: { rule: 'repeated', type: 'ScopeSpans', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
            instrumentationLibrarySpans: { rule: 'repeated', type: 'ScopeSpans', id: 1000 },
          },
        },
        Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 }, droppedAttributesCount: { type: 'uint32', id: 2 } } },
        ScopeSpans: {
          fields: {
            scope: { type: 'InstrumentationScope', id: 1 },
            spans: { rule: 'repeated', type: 'Span', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
          },
        },
        InstrumentationScope: {
          fields: {
            name: { type: 'string', id: 1 },
            version: { type: 'string', id: 2 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
            droppedAttributesCount: { type: 'uint32', id: 4 },
          },
        },
        Span: {
          fields: {
            traceId: { type: 'bytes', id: 1 },
            spanId: { type: 'bytes', id: 2 },
            traceState: { type: 'string', id: 3 },
            parentSpanId: { type: 'bytes', id: 4 },
            name: { type: 'string', id: 5 },
            kind: { type: 'int32', id: 6 },
            startTimeUnixNano: { type: 'fixed64', id: 7 },
            endTimeUnixNano: { type: 'fixed64', id: 8 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 9 },
            droppedAttributesCount: { type: 'uint32', id: 10 },
            events: { rule: 'repeated', type: 'Event', id: 11 },
            droppedEventsCount: { type: 'uint32', id: 12 },
            links: { rule: 'repeated', type: 'Link', id: 13 },
            droppedLinksCount: { type: 'uint32', id: 14 },
            status: { type: 'Status', id: 15 },
            flags: { type: 'fixed32', id: 16 },
          },
        },
        Event: {
          fields: {
            timeUnixNano: { type: 'fixed64', id: 1 },
            name: { type: 'string', id: 2 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
            droppedAttributesCount: { type: 'uint32', id: 4 },
          },
        },
        Link: {
          fields: {
            traceId: { type: 'bytes', id: 1 },
            spanId: { type: 'bytes', id: 2 },
            traceState: { type: 'string', id: 3 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 4 },
            droppedAttributesCount: { type: 'uint32', id: 5 },
            flags: { type: 'fixed32', id: 6 },
          },
        },
        Status: { fields: { message: { type: 'string', id: 2 }, code: { type: 'int32', id: 3 } } },
        KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
        AnyValue: {
          oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
          fields: {
            stringValue: { type: 'string', id: 1 },
            boolValue: { type: 'bool', id: 2 },
            intValue: { type: 'int64', id: 3 },
            doubleValue: { type: 'double', id: 4 },
            arrayValue: { type: 'ArrayValue', id: 5 },
            kvlistValue: { type: 'KeyValueList', id: 6 },
            bytesValue: { type: 'bytes', id: 7 },
          },
        },
        ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
        KeyValueList: { fields: { values: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
        ExportTraceServiceResponse: { fields: { partialSuccess: { type: 'ExportTracePartialSuccess', id: 1 } } },
        ExportTracePartialSuccess: { fields: { rejectedSpans: { type: 'int64', id: 1 }, errorMessage: { type: 'string', id: 2 } } },
        // google.rpc.Status; `details` (repeated Any) is never filled by cpath.
        RpcStatus: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(schema);

/** opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest (same wire shape as TracesData). */
export const ExportTraceServiceRequest = root.lookupType('otlp.ExportTraceServiceRequest');

/** opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse. */
export const ExportTraceServiceResponse = root.lookupType('otlp.ExportTraceServiceResponse');

/** google.rpc.Status, the body of OTLP/HTTP error replies. */
export const RpcStatus = root.lookupType('otlp.RpcStatus');

/**
 * What an AnyValue nested deeper than MAX_ATTRIBUTE_DEPTH decodes to: its bytes are skipped
 * unread (so protobufjs's recursion stays shallow) and the converter drops the attribute.
 */
export const TOO_DEEP_VALUE: Readonly<Record<string, true>> = Object.freeze({ cpathTooDeep: true });
/** The key that marks TOO_DEEP_VALUE (a copy from another thread is not the same object). */
export const TOO_DEEP_KEY = 'cpathTooDeep';

/** Message keys the Span decoder adds: how many attributes, events, links it skipped past the limits. */
export const SKIPPED_ATTRIBUTES = 'cpathSkippedAttributes';
export const SKIPPED_EVENTS = 'cpathSkippedEvents';
export const SKIPPED_LINKS = 'cpathSkippedLinks';

let activeLimits: SpanLimits = NO_SPAN_LIMITS;

/** Decodes with `limits` applied while reading: past them, attributes, events and links are skipped, not built. */
export function decodeWithLimits(bytes: Uint8Array, limits: SpanLimits): unknown {
  activeLimits = limits;
  try {
    return ExportTraceServiceRequest.decode(bytes);
  } finally {
    activeLimits = NO_SPAN_LIMITS;
  }
}

/** A protobuf request body decoded with the limits, or why it is not one. */
export type ProtobufDecoded = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/** decodeWithLimits with the receivers' checks and messages; the same on the event loop and on the decode worker. */
export function decodeProtobufRequest(body: Uint8Array, limits: SpanLimits): ProtobufDecoded {
  // protobufjs reads a zero tag as field 0 and skips it, so zero-filled garbage would "decode"
  // as an empty request; field number 0 never occurs in a valid message.
  if (body[0] === 0) return { ok: false, message: 'not a valid OTLP protobuf ExportTraceServiceRequest (it starts with field number 0)' };
  try {
    return { ok: true, value: decodeWithLimits(body, limits) };
  } catch (e) {
    return { ok: false, message: `not a valid OTLP protobuf ExportTraceServiceRequest (${e instanceof Error ? e.message : String(e)})` };
  }
}

type Decode = (r: protobuf.Reader, l?: number, e?: number, n?: number) => unknown;

/** The decode protobufjs generates for `type` (the one used by its parents' generated code). */
function generated(type: protobuf.Type): Decode {
  type.setup();
  const d = type.decode.bind(type) as Decode;
  return d;
}

const AnyValue = root.lookupType('otlp.AnyValue');
const decodeAnyValue = generated(AnyValue);
// An AnyValue at nesting level k of a span attribute is message level 5 + 2k.
const ANY_VALUE_LEVEL_LIMIT = 5 + 2 * (MAX_ATTRIBUTE_DEPTH + 1);
Object.assign(AnyValue, {
  decode: (r: protobuf.Reader, l?: number, e?: number, n?: number): unknown => {
    if (n !== undefined && n > ANY_VALUE_LEVEL_LIMIT && l !== undefined) {
      r.skip(l);
      return TOO_DEEP_VALUE;
    }
    return decodeAnyValue(r, l, e, n);
  },
});

const Span = root.lookupType('otlp.Span');
const decodeKeyValue = generated(root.lookupType('otlp.KeyValue'));
const decodeEvent = generated(root.lookupType('otlp.Event'));
const decodeLink = generated(root.lookupType('otlp.Link'));
const decodeStatus = generated(root.lookupType('otlp.Status'));
Span.setup();
Object.assign(Span, { decode: decodeSpan });
// protobufjs's default for absent bytes is an empty array (messages print it as `[]`).
const NO_BYTES: readonly number[] = Object.freeze([]);

/** Span, as protobufjs would decode it, but stopping at the active limits (a span with 10^6 attributes builds 128). */
function decodeSpan(r: protobuf.Reader, l?: number, _e?: number, n = 0): Record<string, unknown> {
  if (n > protobuf.util.recursionLimit) throw new Error('maximum nesting depth exceeded');
  const limits = activeLimits;
  const outer = r.len;
  const end = l === undefined ? r.len : r.pos + l;
  if (end > r.len) throw new RangeError('index out of range');
  r.len = end;
  const attributes: unknown[] = [];
  const events: unknown[] = [];
  const links: unknown[] = [];
  // protobufjs's defaults for absent fields, as own properties.
  const m: Record<string, unknown> = { traceId: NO_BYTES, spanId: NO_BYTES, parentSpanId: NO_BYTES, traceState: '', name: '', kind: 0, startTimeUnixNano: 0, endTimeUnixNano: 0, attributes, events, links, status: null, flags: 0 };
  let skippedAttributes = 0;
  let skippedEvents = 0;
  let skippedLinks = 0;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: m['traceId'] = r.bytes(); break;
      case 2: m['spanId'] = r.bytes(); break;
      case 3: m['traceState'] = r.string(); break;
      case 4: m['parentSpanId'] = r.bytes(); break;
      case 5: m['name'] = r.string(); break;
      case 6: m['kind'] = r.int32(); break;
      case 7: m['startTimeUnixNano'] = r.fixed64(); break;
      case 8: m['endTimeUnixNano'] = r.fixed64(); break;
      case 9:
        if (attributes.length < limits.attributes) attributes.push(decodeKeyValue(r, r.uint32(), undefined, n + 1));
        else {
          skippedAttributes++;
          r.skipType(t & 7, n);
        }
        break;
      case 10: m['droppedAttributesCount'] = r.uint32(); break;
      case 11:
        if (events.length < limits.events) events.push(decodeEvent(r, r.uint32(), undefined, n + 1));
        else {
          skippedEvents++;
          r.skipType(t & 7, n);
        }
        break;
      case 12: m['droppedEventsCount'] = r.uint32(); break;
      case 13:
        if (links.length < limits.links) links.push(decodeLink(r, r.uint32(), undefined, n + 1));
        else {
          skippedLinks++;
          r.skipType(t & 7, n);
        }
        break;
      case 14: m['droppedLinksCount'] = r.uint32(); break;
      case 15: m['status'] = decodeStatus(r, r.uint32(), undefined, n + 1); break;
      case 16: m['flags'] = r.fixed32(); break;
      default: r.skipType(t & 7, n); break;
    }
  }
  if (r.pos !== end) throw new RangeError('index out of range');
  r.len = outer;
  if (skippedAttributes > 0) m[SKIPPED_ATTRIBUTES] = skippedAttributes;
  if (skippedEvents > 0) m[SKIPPED_EVENTS] = skippedEvents;
  if (skippedLinks > 0) m[SKIPPED_LINKS] = skippedLinks;
  return m;
}
