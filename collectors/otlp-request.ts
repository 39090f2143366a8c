// One OTLP export request as a receiver gets it (HTTP body or gRPC message), to spans, and the
// replies the exporters expect. Decoding reuses the file importers' converter: a request is
// one message or one JSON document.
import { Diagnostics, type DiagnosticCode } from '../src/model/diagnostics.js';
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from '../src/model/limits.js';
import type { ResourceInterner, SpanInput } from '../src/model/span.js';
import type { ImportContext } from './format.js';
import { JsonParseWorker, OFF_THREAD_JSON_BYTES } from './json-parse-worker.js';
import { errorText } from './json-document.js';
import { convertOtlp } from './otlp-convert.js';
import { OFF_THREAD_PROTOBUF_BYTES, ProtobufDecodeWorker } from './protobuf-decode-worker.js';
import { otlpJson } from './otlp-json.js';
import { ExportTraceServiceResponse, RpcStatus, decodeProtobufRequest } from './otlp-schema.js';

export type OtlpEncoding = 'protobuf' | 'json';

/** Problems that reject a span (the partial-success count); other codes are repairs. */
const REJECTING: readonly DiagnosticCode[] = ['id_invalid', 'timestamp_invalid', 'record_invalid'];
/** Repairs the client is told about (a partial_success with 0 rejected is a warning in OTLP). */
const TRUNCATING: readonly DiagnosticCode[] = ['attributes_truncated', 'attribute_value_truncated', 'events_truncated', 'links_truncated'];

export type DecodedRequest =
  | {
      readonly ok: true;
      readonly spans: SpanInput[];
      /** Spans left out, with the first reason, for `partial_success`; or, with none left out, what was truncated. */
      readonly rejected: number;
      readonly rejectReason?: string;
      /** Everything counted while converting (rejections and repairs). */
      readonly diag: Diagnostics;
    }
  | { readonly ok: false; readonly message: string };

/** `source` names the request in messages, e.g. `http 127.0.0.1:53422`. */
export function decodeExportRequest(body: Uint8Array, encoding: OtlpEncoding, source: string, resources: ResourceInterner, limits: SpanLimits = DEFAULT_SPAN_LIMITS): DecodedRequest {
  const req = new RequestDecoder(source, resources, limits);
  if (body.length === 0) return req.result();
  if (encoding === 'protobuf') {
    const msg = decodeProtobufRequest(body, limits);
    if (!msg.ok) return msg;
    convertOtlp(msg.value, { file: source, offset: 0 }, req.ctx);
  } else {
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return { ok: false, message: `not valid JSON (${errorText(e)})` };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, message: `expected an ExportTraceServiceRequest object, found ${Array.isArray(value) ? 'an array' : typeof value}` };
    }
    // Epoch nanoseconds as bare JSON numbers were rounded by JSON.parse: parse again with them quoted.
    if (otlpJson.handleValue(value, { file: source }, req.ctx) === 'reparse') otlpJson.handleValue(JSON.parse(otlpJson.preprocess?.(text) ?? text), { file: source }, req.ctx);
  }
  return req.result();
}

/** The worker threads that decode big bodies off the event loop: one of each, started on first use. */
export class OffThreadDecoders {
  readonly json = new JsonParseWorker();
  readonly protobuf = new ProtobufDecodeWorker();

  async close(): Promise<void> {
    await Promise.all([this.json.close(), this.protobuf.close()]);
  }
}

/**
 * The same for a body in parts (as read from the socket), a big one decoded on a worker thread
 * (JSON.parse of tens of MB held the event loop for seconds; protobuf is faster but still grows
 * with the body): its parts are moved there and joined there, and only the conversion of what
 * the limits keep runs here. Smaller bodies decode faster than the round trip. The bytes to
 * keep (for --forward) are the `body` returned: the parts passed in may be emptied.
 */
export async function decodeExportRequestOffThread(
  parts: readonly Uint8Array[],
  encoding: OtlpEncoding,
  source: string,
  resources: ResourceInterner,
  limits: SpanLimits,
  workers: OffThreadDecoders,
): Promise<{ decoded: DecodedRequest; body: Uint8Array }> {
  const length = parts.reduce((n, p) => n + p.byteLength, 0);
  if (encoding === 'json' && length >= OFF_THREAD_JSON_BYTES) {
    const { parsed, body } = await workers.json.parse(parts, limits);
    if (!parsed.ok) return { decoded: { ok: false, message: parsed.message }, body };
    const req = new RequestDecoder(source, resources, limits);
    convertOtlp(parsed.value, { file: source }, req.ctx);
    return { decoded: req.result(), body };
  }
  if (encoding === 'protobuf' && length >= OFF_THREAD_PROTOBUF_BYTES) {
    const { decoded, body } = await workers.protobuf.decode(parts, limits);
    if (!decoded.ok) return { decoded, body };
    const req = new RequestDecoder(source, resources, limits);
    convertOtlp(decoded.value, { file: source, offset: 0 }, req.ctx);
    return { decoded: req.result(), body };
  }
  const [first] = parts;
  const body = parts.length === 1 && first ? first : Buffer.concat(parts, length);
  return { decoded: decodeExportRequest(body, encoding, source, resources, limits), body };
}

/** One request's spans and counts while converting, then the decoded result. */
class RequestDecoder {
  readonly diag = new Diagnostics();
  readonly spans: SpanInput[] = [];
  readonly ctx: ImportContext;

  constructor(source: string, resources: ResourceInterner, limits: SpanLimits) {
    this.ctx = { file: source, diag: this.diag, resources, limits, emit: (s: SpanInput) => this.spans.push(s) };
  }

  result(): DecodedRequest {
    const { diag, spans } = this;
    // Attribute values nested past the bound are bad data, not a repair: the request is refused.
    const tooDeep = diag.entries().find((e) => e.code === 'attribute_too_deep');
    if (tooDeep) return { ok: false, message: tooDeep.example ?? tooDeep.message };
    let rejected = 0;
    let rejectReason: string | undefined;
    const truncated: string[] = [];
    for (const e of diag.entries()) {
      if (TRUNCATING.includes(e.code)) truncated.push(e.example ?? e.message);
      if (!REJECTING.includes(e.code)) continue;
      rejected += e.count;
      rejectReason ??= e.example ?? e.message;
    }
    if (truncated.length > 0) rejectReason ??= `stored with the server's span limits: ${truncated.join('; ')}`;
    return { ok: true, spans, rejected, ...(rejectReason !== undefined ? { rejectReason } : {}), diag };
  }
}

/** The 200 reply: empty on full success, `partial_success` when spans were rejected. */
export function encodeExportResponse(encoding: OtlpEncoding, rejected: number, message?: string): Buffer {
  const partial = rejected > 0 || message !== undefined ? { rejectedSpans: rejected, errorMessage: message ?? '' } : undefined;
  if (encoding === 'json') return Buffer.from(JSON.stringify(partial ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: partial.errorMessage } } : {}));
  return Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create(partial ? { partialSuccess: partial } : {})).finish());
}

/** An error reply body: google.rpc.Status with a gRPC code (3 invalid argument, 8 exhausted, 14 unavailable...). */
export function encodeStatus(encoding: OtlpEncoding, code: number, message: string): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.from(RpcStatus.encode(RpcStatus.create({ code, message })).finish());
}
