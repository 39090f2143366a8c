// OTLP protobuf: one ExportTraceServiceRequest / TracesData message, or the Collector file
// exporter's `format: proto` stream of messages each prefixed by a 4-byte big-endian length.
import type { Diagnostics } from '../src/model/diagnostics.js';
import type { ImportContext } from './format.js';
import { errorText } from './json-document.js';
import { convertOtlp } from './otlp-convert.js';
import { NO_SPAN_LIMITS } from '../src/model/limits.js';
import { decodeWithLimits } from './otlp-schema.js';

/** Decodes one message; a malformed one is counted with its byte offset and skipped. */
export function decodeOtlpMessage(bytes: Uint8Array, offset: number, ctx: ImportContext): void {
  let msg: unknown;
  try {
    msg = decodeWithLimits(bytes, ctx.limits ?? NO_SPAN_LIMITS);
  } catch (e) {
    ctx.diag.add('line_unparsable', () => `${ctx.file}@${offset}: not a valid OTLP protobuf message (${errorText(e)})`);
    return;
  }
  convertOtlp(msg, { file: ctx.file, offset }, ctx);
}

/** Reads a stream of length-prefixed messages as chunks arrive. */
export class OtlpProtoStreamReader {
  private parts: Buffer[] = [];
  private total = 0;
  /** Bytes needed before the next message can be decoded (concatenating only then keeps big messages linear). */
  private need = 4;
  private offset = 0;

  constructor(private readonly ctx: ImportContext) {}

  push(chunk: Buffer): void {
    this.parts.push(chunk);
    this.total += chunk.length;
    if (this.total < this.need) return;
    const buf = this.parts.length === 1 ? chunk : Buffer.concat(this.parts);
    let pos = 0;
    for (;;) {
      if (buf.length - pos < 4) {
        this.need = 4;
        break;
      }
      const len = buf.readUInt32BE(pos);
      if (buf.length - pos - 4 < len) {
        this.need = 4 + len;
        break;
      }
      decodeOtlpMessage(buf.subarray(pos + 4, pos + 4 + len), this.offset + pos + 4, this.ctx);
      pos += 4 + len;
    }
    this.offset += pos;
    const rest = buf.subarray(pos);
    this.parts = rest.length > 0 ? [rest] : [];
    this.total = rest.length;
  }

  end(diag: Diagnostics): void {
    if (this.total > 0) {
      diag.add('input_truncated', `${this.ctx.file}@${this.offset}: the input ends inside a length-prefixed message (${this.total} of ${this.need} bytes); every message before it was kept`);
    }
  }
}

/** True when the bytes look like the length-prefixed stream rather than one bare message. */
export function looksLengthPrefixed(head: Buffer): boolean {
  // A bare request starts with field 1, wire type 2 (0x0a); a prefix of a message under
  // 16 MiB starts with a zero byte.
  return head.length >= 5 && head[0] === 0x00;
}
