// What `npm run fuzz` drives: every importer through the one dispatcher (readInputFrom, with the
// format forced or sniffed), the OTLP request decoder the receivers use (decodeExportRequest),
// and, for a smaller sample, a real `cpath serve`. Each target has seeds cut small from the real
// inputs in samples/ and test/fixtures, and an arbitrary of inputs (mutated seeds and garbage).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { InputError, readInputFrom, type InputFormat } from '../../collectors/index.js';
import { decodeExportRequest } from '../../collectors/otlp-request.js';
import { ExportTraceServiceRequest } from '../../collectors/otlp-schema.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { MAX_INPUT_BYTES, applyByteOps, applyLineOps, applyTreeOps, byteOpArb, lineOpArb, numberTokenArb, treeOpArb, vocabularyJson, type Json } from './mutate.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** One input: the bytes, and whether the importer is told the format or must sniff it. */
export interface FuzzInput {
  readonly bytes: Buffer;
  readonly forced: boolean;
  /** What made it, for the report. */
  readonly how: string;
}

/** What one run found: nothing wrong, or why it is a crash. */
export type Verdict = { readonly ok: true; readonly typed?: boolean } | { readonly ok: false; readonly error: unknown };

export interface Target {
  readonly name: string;
  readonly input: fc.Arbitrary<FuzzInput>;
  run(input: FuzzInput): Promise<Verdict>;
}

const OTLP_KEYS = ['resourceSpans', 'resource_spans', 'batches', 'resource', 'attributes', 'key', 'value', 'stringValue', 'intValue', 'doubleValue', 'boolValue', 'bytesValue', 'arrayValue', 'kvlistValue', 'values', 'scopeSpans', 'scope_spans', 'instrumentationLibrarySpans', 'scope', 'name', 'version', 'spans', 'traceId', 'trace_id', 'spanId', 'span_id', 'parentSpanId', 'parent_span_id', 'kind', 'startTimeUnixNano', 'start_time_unix_nano', 'endTimeUnixNano', 'end_time_unix_nano', 'status', 'code', 'message', 'events', 'timeUnixNano', 'links', 'traceState', 'flags', 'droppedAttributesCount', 'schemaUrl'];
const JAEGER_KEYS = ['data', 'traceID', 'spanID', 'operationName', 'references', 'refType', 'startTime', 'duration', 'tags', 'logs', 'timestamp', 'fields', 'processID', 'process', 'processes', 'serviceName', 'key', 'type', 'value', 'warnings', 'flags', 'parentSpanID', 'p1', 'p2'];
const ZIPKIN_KEYS = ['traceId', 'id', 'parentId', 'name', 'kind', 'timestamp', 'duration', 'localEndpoint', 'remoteEndpoint', 'serviceName', 'ipv4', 'ipv6', 'port', 'annotations', 'value', 'tags', 'shared', 'debug'];

const read = (...p: string[]): Buffer => readFileSync(join(ROOT, ...p));
const fixtures = (dir: string, ext: RegExp): Buffer[] =>
  readdirSync(join(ROOT, 'test/fixtures', dir))
    .filter((f) => ext.test(f))
    .sort()
    .map((f) => read('test/fixtures', dir, f));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** An OTLP request with at most `resources` resources and `spans` spans per scope. */
function smallOtlp(req: unknown, resources: number, spans: number): Json {
  const rs = isObject(req) ? asArray(req['resourceSpans']).slice(0, resources) : [];
  return JSON.parse(JSON.stringify({ resourceSpans: rs.map((r) => (isObject(r) ? { ...r, scopeSpans: asArray(r['scopeSpans']).slice(0, 1).map((s) => (isObject(s) ? { ...s, spans: asArray(s['spans']).slice(0, spans) } : s)) } : r)) })) as Json;
}

function otlpJsonSeeds(): { docs: Json[]; texts: Buffer[]; lines: Json[] } {
  const lines = ['samples/shop.otlp.jsonl', 'samples/threads/node-pool.otlp.jsonl', 'samples/diff/base.otlp.jsonl'].flatMap((f) =>
    read(f)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(0, 4)
      .map((l) => smallOtlp(JSON.parse(l), 2, 4)),
  );
  const texts = fixtures('otlp', /\.json$/).filter((b) => b.length <= MAX_INPUT_BYTES);
  const docs: Json[] = [];
  for (const t of texts) {
    try {
      docs.push(JSON.parse(t.toString('utf8')) as Json);
    } catch {
      // Kept as text only.
    }
  }
  return { docs: [...docs, ...lines], texts, lines };
}

function jaegerSeeds(): { docs: Json[]; texts: Buffer[] } {
  const texts = fixtures('jaeger', /\.json$/).filter((b) => b.length <= MAX_INPUT_BYTES);
  const shop = JSON.parse(read('samples/shop.jaeger.json').toString('utf8')) as unknown;
  const traces = isObject(shop) ? asArray(shop['data']).slice(0, 6) : [];
  const small = traces.map((t) => (isObject(t) ? JSON.parse(JSON.stringify({ data: [{ ...t, spans: asArray(t['spans']).slice(0, 4) }] })) : t) as Json);
  return { docs: [...texts.map((t) => JSON.parse(t.toString('utf8')) as Json), ...small], texts };
}

function zipkinSeeds(): { docs: Json[]; texts: Buffer[] } {
  const texts = fixtures('zipkin', /\.json$/).filter((b) => b.length <= MAX_INPUT_BYTES);
  const shop = asArray(JSON.parse(read('samples/shop.zipkin.json').toString('utf8')));
  const small: Json[] = [0, 12, 24, 36].map((i) => JSON.parse(JSON.stringify(shop.slice(i, i + 8))) as Json);
  return { docs: [...texts.map((t) => JSON.parse(t.toString('utf8')) as Json), ...small], texts };
}

/** Bare ExportTraceServiceRequest messages, small, from samples/shop.otlp.pb (length-prefixed). */
function protoSeeds(): Buffer[] {
  const file = read('samples/shop.otlp.pb');
  const out: Buffer[] = [];
  for (let p = 0; p + 4 <= file.length && out.length < 8; ) {
    const len = file.readUInt32BE(p);
    const msg = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(file.subarray(p + 4, p + 4 + len)), { longs: String });
    out.push(Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(smallOtlp(msg, 2, 3) as Record<string, unknown>)).finish()));
    p += 4 + len;
  }
  return out;
}

/** Header, a window of body lines, trailer: small event logs from the two recorded samples. */
function eventLogSeeds(): string[] {
  const out: string[] = [];
  for (const f of ['samples/threads/handoff.events.log.gz', 'samples/threads/node-pool.events.log.gz']) {
    const lines = gunzipSync(read(f)).toString('utf8').split('\n');
    const firstEvent = lines.findIndex((l) => /^\d/.test(l));
    const tail = lines.findIndex((l, i) => i > firstEvent && l.startsWith('# clock'));
    const head = lines.slice(0, firstEvent);
    const trailer = lines.slice(tail >= 0 ? tail : lines.length);
    const body = lines.slice(firstEvent, tail >= 0 ? tail : lines.length);
    for (let i = 0; i < 12; i++) {
      const at = Math.floor((i / 12) * Math.max(0, body.length - 40));
      out.push([...head, ...body.slice(at, at + 40), ...trailer].join('\n'));
    }
  }
  return out;
}

// ---- structured garbage: a random OTLP request, as protobuf or as OTLP/JSON ----

const u64 = fc
  .oneof(
    fc.constantFrom(0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 1764151200000000000n),
    fc.bigInt({ min: 1764151200000000000n - 10n ** 12n, max: 1764151200000000000n + 10n ** 12n }),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  )
  .map(String);
const idBytes = (n: number): fc.Arbitrary<Uint8Array> => fc.oneof({ weight: 4, arbitrary: fc.uint8Array({ minLength: n, maxLength: n }) }, fc.constant(new Uint8Array(n)), fc.uint8Array({ maxLength: 20 }));
const anyValue: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ v: Record<string, unknown> }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    fc.record({ stringValue: fc.string({ maxLength: 16 }) }),
    fc.record({ intValue: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) }),
    fc.record({ doubleValue: fc.double() }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ bytesValue: fc.uint8Array({ maxLength: 8 }) }),
    fc.constant({}),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('v'), { maxLength: 3 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string({ maxLength: 6 }), value: tie('v') }), { maxLength: 3 }) }) }),
  ),
})).v;
const keyValue = fc.record({ key: fc.oneof(fc.constantFrom('service.name', 'thread.id', 'span.kind', 'process.pid', '__proto__', ''), fc.string({ maxLength: 8 })), value: anyValue }, { requiredKeys: ['key'] });
const span = fc.record(
  {
    traceId: idBytes(16),
    spanId: idBytes(8),
    parentSpanId: idBytes(8),
    traceState: fc.string({ maxLength: 8 }),
    name: fc.string({ maxLength: 12 }),
    kind: fc.integer({ min: -2, max: 8 }),
    startTimeUnixNano: u64,
    endTimeUnixNano: u64,
    attributes: fc.array(keyValue, { maxLength: 4 }),
    events: fc.array(fc.record({ timeUnixNano: u64, name: fc.string({ maxLength: 6 }), attributes: fc.array(keyValue, { maxLength: 2 }) }, { requiredKeys: [] }), { maxLength: 2 }),
    links: fc.array(fc.record({ traceId: idBytes(16), spanId: idBytes(8), attributes: fc.array(keyValue, { maxLength: 2 }) }, { requiredKeys: [] }), { maxLength: 2 }),
    status: fc.record({ code: fc.integer({ min: -1, max: 4 }), message: fc.string({ maxLength: 8 }) }, { requiredKeys: [] }),
    flags: fc.nat(),
  },
  { requiredKeys: [] },
);
const otlpObject = fc.record({
  resourceSpans: fc.array(
    fc.record(
      {
        resource: fc.record({ attributes: fc.array(keyValue, { maxLength: 4 }) }, { requiredKeys: [] }),
        scopeSpans: fc.array(fc.record({ scope: fc.record({ name: fc.string({ maxLength: 6 }) }, { requiredKeys: [] }), spans: fc.array(span, { maxLength: 4 }) }, { requiredKeys: [] }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
});
/** Protobuf bytes of a random request. */
const otlpProtoGarbage = otlpObject.map((o) => Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(o)).finish()));
/** The same request as OTLP/JSON (ids base64 or hex, times strings, as protobufjs writes them). */
const otlpJsonGarbage = fc.tuple(otlpProtoGarbage, fc.boolean()).map(([b, hex]) => {
  const obj = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(b), { longs: String, bytes: String, defaults: false });
  const text = JSON.stringify(obj, (k, v: unknown) => (hex && typeof v === 'string' && /^(traceId|spanId|parentSpanId)$/.test(k) ? Buffer.from(v, 'base64').toString('hex') : v));
  return JSON.parse(text) as Json;
});

// ---- the arbitraries of each target ----

const cap = (b: Buffer): Buffer => (b.length > MAX_INPUT_BYTES ? b.subarray(0, MAX_INPUT_BYTES) : b);
const stringify = (v: Json): Buffer => cap(Buffer.from(JSON.stringify(v) ?? 'null'));

/** A JSON document: a mutated seed (tree, then bytes), a mutated seed text (bytes), or garbage of the format's vocabulary. */
function jsonInput(docs: readonly Json[], texts: readonly Buffer[], keys: readonly string[], extra?: fc.Arbitrary<Json>): fc.Arbitrary<FuzzInput> {
  const treeOps = fc.array(treeOpArb(keys), { minLength: 1, maxLength: 5 });
  const textOps = fc.array(byteOpArb(false), { maxLength: 3 });
  const kinds: { weight: number; arbitrary: fc.Arbitrary<FuzzInput> }[] = [
    { weight: 6, arbitrary: fc.record({ doc: fc.constantFrom(...docs), ops: treeOps, bytes: textOps, forced: fc.boolean() }).map(({ doc, ops, bytes, forced }) => ({ bytes: applyByteOps(stringify(applyTreeOps(doc, ops)), bytes), forced, how: 'tree+bytes' })) },
    { weight: 2, arbitrary: fc.record({ doc: fc.constantFrom(...docs), forced: fc.boolean(), ops: fc.array(byteOpArb(false), { minLength: 1, maxLength: 6 }) }).map(({ doc, forced, ops }) => ({ bytes: applyByteOps(stringify(doc), ops), forced, how: 'bytes' })) },
    { weight: 2, arbitrary: fc.record({ v: vocabularyJson(keys, 6), forced: fc.boolean() }).map(({ v, forced }) => ({ bytes: stringify(v), forced, how: 'vocabulary' })) },
  ];
  if (texts.length > 0) kinds.push({ weight: 1, arbitrary: fc.record({ t: fc.constantFrom(...texts), forced: fc.boolean(), ops: fc.array(byteOpArb(false), { minLength: 1, maxLength: 4 }) }).map(({ t, forced, ops }) => ({ bytes: applyByteOps(t, ops), forced, how: 'fixture-bytes' })) });
  if (extra) kinds.push({ weight: 3, arbitrary: fc.record({ v: extra, ops: fc.array(treeOpArb(keys), { maxLength: 3 }), forced: fc.boolean() }).map(({ v, ops, forced }) => ({ bytes: stringify(applyTreeOps(v, ops)), forced, how: 'generated' })) });
  return fc.oneof(...kinds);
}

function protoInput(seeds: readonly Buffer[], lengthPrefixed: 'never' | 'sometimes'): fc.Arbitrary<FuzzInput> {
  const message = fc.oneof(
    { weight: 3, arbitrary: fc.record({ s: fc.constantFrom(...seeds), ops: fc.array(byteOpArb(true), { minLength: 1, maxLength: 5 }) }).map(({ s, ops }) => ({ b: applyByteOps(s, ops), how: 'seed-bytes' })) },
    { weight: 2, arbitrary: otlpProtoGarbage.map((b) => ({ b: cap(b), how: 'generated' })) },
    { weight: 2, arbitrary: fc.record({ g: otlpProtoGarbage, ops: fc.array(byteOpArb(true), { minLength: 1, maxLength: 3 }) }).map(({ g, ops }) => ({ b: applyByteOps(g, ops), how: 'generated-bytes' })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => ({ b: Buffer.from(a), how: 'random' })) },
  );
  if (lengthPrefixed === 'never') return fc.record({ m: message, forced: fc.boolean() }).map(({ m, forced }) => ({ bytes: m.b, forced, how: m.how }));
  // The Collector's file exporter with format: proto: each message after a 4-byte big-endian length (sometimes a wrong one).
  const framed = fc.record({ ms: fc.array(message, { minLength: 1, maxLength: 3 }), lie: fc.option(fc.integer({ min: -8, max: 8 }), { nil: undefined }), ops: fc.array(byteOpArb(true), { maxLength: 2 }) }).map(({ ms, lie, ops }) => {
    const parts = ms.flatMap(({ b }, i) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(Math.max(0, b.length + (i === 0 && lie !== undefined ? lie : 0)));
      return [len, b];
    });
    return { b: applyByteOps(cap(Buffer.concat(parts)), ops), how: `length-prefixed ${ms.map((m) => m.how).join(',')}` };
  });
  return fc.record({ m: fc.oneof(message, framed), forced: fc.boolean() }).map(({ m, forced }) => ({ bytes: m.b, forced, how: m.how }));
}

function jsonLinesInput(lines: readonly Json[]): fc.Arbitrary<FuzzInput> {
  const line = fc.record({ doc: fc.constantFrom(...lines), ops: fc.array(treeOpArb(OTLP_KEYS), { maxLength: 3 }) }).map(({ doc, ops }) => JSON.stringify(applyTreeOps(doc, ops)) ?? 'null');
  return fc.record({ ls: fc.array(fc.oneof({ weight: 8, arbitrary: line }, fc.constantFrom('', ' ', '{', 'null', '[]', '{"resourceSpans":[]}')), { minLength: 2, maxLength: 6 }), ops: fc.array(byteOpArb(false), { maxLength: 3 }), forced: fc.boolean(), crlf: fc.boolean() }).map(({ ls, ops, forced, crlf }) => ({ bytes: applyByteOps(cap(Buffer.from(ls.join(crlf ? '\r\n' : '\n'))), ops), forced, how: 'lines' }));
}

function eventLogInput(seeds: readonly string[]): fc.Arbitrary<FuzzInput> {
  const kinds = ['SW', 'WK', 'WN', 'EX', 'RN', 'UE', 'UX', 'US', 'ST', 'AN', 'XX', ''];
  const garbageLine = fc.oneof(
    fc.tuple(numberTokenArb, fc.constantFrom(...kinds), fc.array(numberTokenArb, { maxLength: 7 }), fc.string({ maxLength: 10 })).map(([ts, k, nums, tail]) => [ts, k, ...nums].join(' ') + (tail ? `\t${tail}` : '')),
    fc.tuple(fc.constantFrom('host', 'kernel', 'bpftrace', 'command', 'scope', 'stacks', 'target-pids', 'tracer-pids', 'probes', 'clock', 'end lost', 'cpath-events'), fc.array(numberTokenArb, { maxLength: 3 })).map(([k, v]) => `# ${k}: ${v.join(' ')}`),
    fc.constantFrom('# end lost=0 exit=0', '# end lost=-1 exit=x', '# cpath-events 2', '# clock: 1 1', '# clock: 99999999999999999999 1', 'Attaching 24 probes...', '\t0x0 ??', ''),
  );
  const ops = fc.array(lineOpArb(garbageLine, numberTokenArb), { minLength: 1, maxLength: 8 });
  return fc.record({ s: fc.constantFrom(...seeds), ops, bytes: fc.array(byteOpArb(false), { maxLength: 2 }), forced: fc.boolean() }).map(({ s, ops: lo, bytes, forced }) => ({ bytes: applyByteOps(cap(Buffer.from(applyLineOps(s, lo))), bytes), forced, how: 'event-log' }));
}

// ---- running one input ----

/** A span as the importers promise it (model/span.ts); anything else is reported as a crash too. */
function checkSpan(s: SpanInput): string | undefined {
  if (!/^[0-9a-f]{32}$/.test(s.traceId) || /^0+$/.test(s.traceId)) return `bad traceId ${s.traceId}`;
  if (!/^[0-9a-f]{16}$/.test(s.spanId) || /^0+$/.test(s.spanId)) return `bad spanId ${s.spanId}`;
  if (s.parentSpanId !== undefined && !/^[0-9a-f]{16}$/.test(s.parentSpanId)) return `bad parentSpanId ${s.parentSpanId}`;
  if (typeof s.startNs !== 'bigint' || typeof s.endNs !== 'bigint' || s.startNs < 0n) return `bad times ${String(s.startNs)}..${String(s.endNs)}`;
  // An attribute called "__proto__" must stay an attribute, not become the object's prototype.
  const proto: unknown = Object.getPrototypeOf(s.attributes);
  if (proto !== Object.prototype && proto !== null) return 'the attributes object has another prototype (an attribute "__proto__" was assigned, not defined)';
  return undefined;
}

class InvariantError extends Error {}

async function importBytes(input: FuzzInput, format: InputFormat, name: string): Promise<Verdict> {
  const spans: SpanInput[] = [];
  try {
    await readInputFrom(
      name,
      (async function* () {
        yield input.bytes;
      })(),
      { diag: new Diagnostics(), resources: new ResourceInterner(), emit: (s) => spans.push(s), eventLog: () => {} },
      input.forced ? { format } : {},
    );
  } catch (e) {
    if (e instanceof InputError) return { ok: true, typed: true };
    return { ok: false, error: e };
  }
  for (const s of spans) {
    const bad = checkSpan(s);
    if (bad) return { ok: false, error: new InvariantError(`an importer emitted a span that breaks the model: ${bad}`) };
  }
  return { ok: true };
}

function decode(input: FuzzInput, encoding: 'protobuf' | 'json'): Verdict {
  try {
    const r = decodeExportRequest(input.bytes, encoding, 'fuzz', new ResourceInterner());
    if (r.ok) {
      for (const s of r.spans) {
        const bad = checkSpan(s);
        if (bad) return { ok: false, error: new InvariantError(`the decoder accepted a span that breaks the model: ${bad}`) };
      }
    }
    return { ok: true, typed: !r.ok };
  } catch (e) {
    // The receiver's handler would answer this 500.
    return { ok: false, error: e };
  }
}

export function buildTargets(): Target[] {
  const otlp = otlpJsonSeeds();
  const jaeger = jaegerSeeds();
  const zipkin = zipkinSeeds();
  const proto = protoSeeds();
  const events = eventLogSeeds();
  const otlpJsonArb = jsonInput(otlp.docs, otlp.texts, OTLP_KEYS, otlpJsonGarbage);
  return [
    { name: 'otlp-json', input: otlpJsonArb, run: (i) => importBytes(i, 'otlp-json', 'fuzz.otlp.json') },
    { name: 'json-lines', input: jsonLinesInput(otlp.lines), run: (i) => importBytes(i, 'otlp-json', 'fuzz.jsonl') },
    { name: 'otlp-proto', input: protoInput(proto, 'sometimes'), run: (i) => importBytes(i, 'otlp-proto', 'fuzz.pb') },
    { name: 'jaeger', input: jsonInput(jaeger.docs, jaeger.texts, JAEGER_KEYS), run: (i) => importBytes(i, 'jaeger', 'fuzz.jaeger.json') },
    { name: 'zipkin', input: jsonInput(zipkin.docs, zipkin.texts, ZIPKIN_KEYS), run: (i) => importBytes(i, 'zipkin', 'fuzz.zipkin.json') },
    { name: 'bpftrace-events', input: eventLogInput(events), run: (i) => importBytes(i, 'cpath-events', 'fuzz.events.log') },
    { name: 'request-protobuf', input: protoInput(proto, 'never'), run: (i) => Promise.resolve(decode(i, 'protobuf')) },
    { name: 'request-json', input: otlpJsonArb, run: (i) => Promise.resolve(decode(i, 'json')) },
  ];
}

/** The decoder targets' inputs posted to a real `cpath serve`: any 5xx is a failure. */
export function serverTargets(post: (body: Buffer, contentType: string) => Promise<{ status: number; message: string }>): Target[] {
  const [proto, json] = buildTargets().filter((t) => t.name.startsWith('request-'));
  if (!proto || !json) return [];
  const run = (type: string) => async (i: FuzzInput): Promise<Verdict> => {
    const r = await post(i.bytes, type);
    if (r.status < 500) return { ok: true, typed: r.status >= 400 };
    // Told apart: spans the store cannot hold (issue 15 finding 1, times past int64) and the rest.
    const d = decodeExportRequest(i.bytes, type === 'application/json' ? 'json' : 'protobuf', 'fuzz', new ResourceInterner());
    const past = d.ok && d.spans.some((s) => s.startNs > INT64_MAX || s.endNs > INT64_MAX);
    return { ok: false, error: new ServerError(`HTTP ${r.status}${past ? ' for a span with a time past 2^63-1 ns (issue 15 finding 1)' : ''}: ${r.message}`) };
  };
  return [
    { name: 'serve-protobuf', input: proto.input, run: run('application/x-protobuf') },
    { name: 'serve-json', input: json.input, run: run('application/json') },
  ];
}

export class ServerError extends Error {}

const INT64_MAX = 2n ** 63n - 1n;

