// The one dispatcher: opens an input (file, `-` for stdin, gzip transparently), recognises the
// format from the content (the file name is only a hint), and streams it into a format reader.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Diagnostics } from '../src/model/diagnostics.js';
import type { ResourceInterner, SpanInput } from '../src/model/span.js';
import type { ImportContext, InputFormat, JsonFormat } from './format.js';
import { jaegerJson } from './jaeger.js';
import { JsonDocumentReader, errorText } from './json-document.js';
import { JsonLinesReader } from './json-lines.js';
import { otlpJson } from './otlp-json.js';
import { OtlpProtoStreamReader, decodeOtlpMessage, looksLengthPrefixed } from './otlp-proto.js';
import { zipkinJson } from './zipkin.js';
import type { EventLog } from '../src/model/event-log.js';
import { looksLikeEventLog, parseEventLog } from './bpftrace/parse.js';

export type { InputFormat } from './format.js';
export { INPUT_FORMATS } from './format.js';

const JSON_FORMATS: Record<Exclude<InputFormat, 'otlp-proto' | 'cpath-events'>, JsonFormat> = {
  'otlp-json': otlpJson,
  jaeger: jaegerJson,
  zipkin: zipkinJson,
};

/** A problem with an input as a whole (missing file, unknown format): shown as one line, no stack. */
export class InputError extends Error {}

export interface InputSummary {
  /** As given on the command line. */
  file: string;
  /** The format read, or undefined for an empty input. */
  format: InputFormat | undefined;
  /** How it was recognised. */
  detectedBy: 'forced' | 'content' | 'empty';
  gzip: boolean;
  /** Bytes read from the file (compressed size for .gz). */
  bytes: number;
  /** Valid spans handed on. */
  spans: number;
}

export interface ReadOptions {
  format?: InputFormat;
  /** Span attribute keys to keep (undefined: all); see ImportContext.attributeKeys. */
  attributeKeys?: ReadonlySet<string>;
  /** Called with the bytes read so far, for progress display. */
  onBytes?: (bytesRead: number) => void;
}

export interface SpanSink {
  readonly diag: Diagnostics;
  readonly resources: ResourceInterner;
  emit(span: SpanInput): void;
  /** Takes an event log of `cpath record` (thread data); without it such an input is refused. */
  eventLog?(log: EventLog): void;
}

const PEEK_BYTES = 64 * 1024;
/** How far to look for the end of the first line when telling JSON Lines from one document. */
const FIRST_LINE_MAX = 16 * 1024 * 1024;

export async function inputSize(path: string): Promise<number | undefined> {
  if (path === '-') return undefined;
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

export async function readInput(path: string, sink: SpanSink, opts: ReadOptions = {}): Promise<InputSummary> {
  return readInputFrom(path, await openRaw(path), sink, opts);
}

/** readInput over content already open (`path` only names it in messages): what the fuzzer drives. */
export async function readInputFrom(path: string, raw: AsyncIterable<unknown>, sink: SpanSink, opts: ReadOptions = {}): Promise<InputSummary> {
  let bytes = 0;
  const counted = (async function* () {
    for await (const chunk of raw) {
      const b = toBuffer(chunk);
      bytes += b.length;
      opts.onBytes?.(bytes);
      yield b;
    }
  })();
  const rawIt = new ChunkIterator(counted);
  const head = await rawIt.peek(2);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  let input = rawIt;
  let gunzipError: string | undefined;
  if (gzip) {
    const gunzip = createGunzip();
    gunzip.on('error', (e) => {
      gunzipError = errorText(e);
    });
    const src = Readable.from(rawIt.rest());
    src.on('error', (e) => gunzip.destroy(e));
    src.pipe(gunzip);
    input = new ChunkIterator(
      (async function* () {
        try {
          for await (const c of gunzip) yield toBuffer(c);
        } catch (e) {
          gunzipError = errorText(e);
        }
      })(),
    );
  }

  let spans = 0;
  const keys = opts.attributeKeys;
  const ctx: ImportContext = {
    file: path,
    diag: sink.diag,
    resources: sink.resources,
    ...(keys ? { attributeKeys: keys } : {}),
    emit(span) {
      spans++;
      sink.emit(keys ? keepAttributes(span, keys) : span);
    },
  };

  let peek = await input.peek(PEEK_BYTES);
  if (peek[0] === 0xef && peek[1] === 0xbb && peek[2] === 0xbf) {
    // A UTF-8 byte order mark (Notepad, PowerShell) is not part of the JSON: JSON.parse rejects it.
    input.skip(3);
    peek = await input.peek(PEEK_BYTES);
  }
  let format = opts.format;
  let detectedBy: InputSummary['detectedBy'] = 'forced';
  if (format === undefined) {
    format = detectFormat(peek, path);
    detectedBy = format === undefined ? 'empty' : 'content';
  }
  const reportGunzipError = (): void => {
    if (gunzipError !== undefined) {
      sink.diag.add('input_truncated', `${path}: the gzip stream is damaged or incomplete (${gunzipError}); everything before the damage was kept`);
    }
  };
  if (format === undefined) {
    if (firstNonSpace(peek) >= 0) {
      throw new InputError(`${path}: not a trace format cpath reads (OTLP JSON or protobuf, Jaeger JSON, Zipkin v1 or v2 JSON, a cpath record event log); it starts with ${describeHead(peek)}. Use --input-format to force one.`);
    }
    // Damage early in a gzip stream leaves nothing to read: say so rather than report an empty input.
    reportGunzipError();
    return { file: path, format: undefined, detectedBy, gzip, bytes, spans: 0 };
  }

  if (format === 'cpath-events') {
    if (!sink.eventLog) throw new InputError(`${path}: an event log of cpath record; this command reads spans only`);
    sink.eventLog(await parseEventLog(input.rest(), path, sink.diag));
    reportGunzipError();
    return { file: path, format, detectedBy, gzip, bytes, spans: 0 };
  }
  if (format === 'otlp-proto') {
    const whole = await input.peek(5);
    if (looksLengthPrefixed(whole)) {
      const reader = new OtlpProtoStreamReader(ctx);
      for await (const c of input.rest()) reader.push(c);
      if (gunzipError === undefined) reader.end(sink.diag); // else the damage is reported below
    } else {
      const parts: Buffer[] = [];
      for await (const c of input.rest()) parts.push(c);
      const all = Buffer.concat(parts);
      if (all.length > 0) decodeOtlpMessage(all, 0, ctx);
    }
  } else {
    const fmt = JSON_FORMATS[format];
    const onValue = (v: unknown, src: Parameters<JsonFormat['handleValue']>[1]): void | 'reparse' => fmt.handleValue(v, src, ctx);
    const lines = await isJsonLines(input, fmt);
    const reader = lines ? new JsonLinesReader(path, sink.diag, fmt.preprocess, fmt.preprocessOnRequest === true, onValue) : new JsonDocumentReader(fmt, path, sink.diag, onValue);
    for await (const c of input.rest()) reader.push(c);
    // A damaged gzip stream also leaves a partial last record: report the damage once, as such.
    if (gunzipError !== undefined) reportGunzipError();
    else reader.end();
    fmt.finish?.(ctx);
    return { file: path, format, detectedBy, gzip, bytes, spans };
  }
  reportGunzipError();
  return { file: path, format, detectedBy, gzip, bytes, spans };
}

/** The span with only the wanted attributes (formats that need all of them to read kind and status filter here). */
function keepAttributes(span: SpanInput, keys: ReadonlySet<string>): SpanInput {
  let extra = false;
  for (const k in span.attributes) {
    if (!keys.has(k)) {
      extra = true;
      break;
    }
  }
  if (!extra) return span;
  const attributes: SpanInput['attributes'] = {};
  for (const k of keys) {
    const v = span.attributes[k];
    if (v !== undefined) attributes[k] = v;
  }
  return { ...span, attributes };
}

/** Streams hand out Buffers; anything else (a string from a text-mode stdin) is made one. */
function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}

async function openRaw(path: string): Promise<AsyncIterable<unknown>> {
  if (path === '-') return process.stdin;
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    throw new InputError(code === 'ENOENT' ? `${path}: no such file` : code === 'EACCES' ? `${path}: permission denied` : `${path}: cannot read (${errorText(e)})`);
  }
  if (st.isDirectory()) throw new InputError(`${path}: is a directory; give trace files`);
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  return stream;
}

/** Recognises the format from the first bytes of the (decompressed) content. */
export function detectFormat(head: Buffer, name: string): InputFormat | undefined {
  const i = firstNonSpace(head);
  if (i < 0) return undefined;
  if (looksLikeEventLog(head)) return 'cpath-events';
  const b = head[i];
  if (b === 0x7b || b === 0x5b) {
    const text = head.subarray(i, Math.min(head.length, i + PEEK_BYTES)).toString('utf8');
    // The format whose tell-tale key comes first wins: OTLP spans contain "traceId" too, but
    // only after "resourceSpans".
    const tells: [InputFormat, RegExp][] = [
      ['otlp-json', /"(?:resourceSpans|resource_spans|batches|scopeSpans|scope_spans|instrumentationLibrarySpans)"\s*:/],
      ['jaeger', /"(?:traceID|spanID|operationName|processes)"\s*:/],
      ['zipkin', /"(?:localEndpoint|remoteEndpoint|traceId|parentId)"\s*:/],
    ];
    let best: InputFormat | undefined;
    let bestAt = Infinity;
    for (const [fmt, re] of tells) {
      const m = re.exec(text);
      if (m && m.index < bestAt) {
        best = fmt;
        bestAt = m.index;
      }
    }
    if (best) return best;
    if (/^\s*(\{\s*\}|\[\s*\])\s*$/.test(text)) return /jaeger/i.test(name) ? 'jaeger' : /zipkin/i.test(name) ? 'zipkin' : 'otlp-json';
    // A bare protobuf request can look like this too: 0x0a (a newline), then a length of 123 ('{') or 91 ('[').
    return looksLikeBareRequest(head) ? 'otlp-proto' : undefined;
  }
  // Binary: a bare ExportTraceServiceRequest starts with field 1 (0x0a), a length-prefixed one with 0x00.
  // 0x0a is also a newline, which firstNonSpace skips: look at the raw first byte.
  if (head[0] === 0x00 || looksLikeBareRequest(head)) return 'otlp-proto';
  if (/\.(pb|binpb|proto|protobuf)(\.gz)?$/i.test(name) && i === 0) return 'otlp-proto';
  return undefined;
}

/**
 * Field 1 (0x0a), a varint length, then the first field of a ResourceSpans (resource 0x0a,
 * scope_spans 0x12, schema_url 0x1a, legacy instrumentation_library_spans 0xc2 0x3e) or an empty
 * one; text that merely starts with a newline does not look like this.
 */
function looksLikeBareRequest(head: Buffer): boolean {
  if (head[0] !== 0x0a) return false;
  let len = 0;
  for (let p = 1, shift = 0; p < head.length && shift < 35; p++, shift += 7) {
    const c = head[p] ?? 0;
    len += (c & 0x7f) * 2 ** shift;
    if ((c & 0x80) === 0) {
      const t = head[p + 1];
      return len === 0 || t === undefined || t === 0x0a || t === 0x12 || t === 0x1a || t === 0xc2;
    }
  }
  return false;
}

/** JSON Lines when the first line is complete and parses on its own; otherwise one streamed document. */
async function isJsonLines(input: ChunkIterator, fmt: JsonFormat): Promise<boolean> {
  let scanned = 0;
  for (;;) {
    const buf = await input.peek(scanned + PEEK_BYTES);
    const nl = buf.indexOf(0x0a, scanned);
    if (nl >= 0 || buf.length <= scanned) {
      const end = nl >= 0 ? nl : buf.length;
      let text = buf.subarray(0, end).toString('utf8');
      if (fmt.preprocess) text = fmt.preprocess(text);
      try {
        JSON.parse(text);
        return nl >= 0;
      } catch {
        return false;
      }
    }
    scanned = buf.length;
    if (scanned > FIRST_LINE_MAX) return false;
  }
}

function firstNonSpace(b: Buffer): number {
  let i = 0;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3; // UTF-8 BOM
  for (; i < b.length; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
  }
  return -1;
}

function describeHead(b: Buffer): string {
  const s = b.subarray(0, 16);
  const printable = s.every((c) => (c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x0d || c === 0x09);
  return printable ? JSON.stringify(s.toString('latin1')) : `bytes ${s.toString('hex').replace(/(..)/g, '$1 ').trim()}`;
}

/** An async chunk source that can look ahead without losing what it read. */
class ChunkIterator {
  private buffered: Buffer[] = [];
  private bufferedLen = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(src: AsyncIterable<Buffer>) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** At least `n` bytes from the start (fewer at the end of input), without consuming them. */
  async peek(n: number): Promise<Buffer> {
    while (this.bufferedLen < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.buffered.push(r.value);
        this.bufferedLen += r.value.length;
      }
    }
    if (this.buffered.length > 1) this.buffered = [Buffer.concat(this.buffered)];
    return this.buffered[0] ?? Buffer.alloc(0);
  }

  /** Drops the first `n` bytes, which the last peek() returned. */
  skip(n: number): void {
    const b = this.buffered[0];
    if (!b) return;
    this.buffered[0] = b.subarray(n);
    this.bufferedLen -= n;
  }

  /** Everything: what was peeked, then the rest. */
  async *rest(): AsyncGenerator<Buffer> {
    const first = this.buffered;
    this.buffered = [];
    this.bufferedLen = 0;
    for (const b of first) yield b;
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else yield r.value;
    }
  }
}
