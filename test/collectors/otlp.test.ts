// Golden tests for the OTLP readers (JSON, JSON Lines, protobuf): fixtures in test/fixtures/otlp/,
// named after the problem they exercise. Every fixture goes through the dispatcher and is checked
// three ways by checkImport (test/helpers/import.ts): the span dump and diagnostics, the same
// gzip-compressed and sniffed without a file name, and (JSON documents) streamed in 7-byte chunks.
//
// Dump lines: `traceId spanId < parent kind "name" service@host startNs +duration status {attributes} [links] location`,
// location `:line` (JSON Lines) or `@offset` (one streamed document, protobuf).
// Every fixture starts at T0 = 1764151200000000000 ns (2025-11-26T10:00:00Z).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ImportContext } from '../../collectors/format.js';
import { otlpJson } from '../../collectors/otlp-json.js';
import { ExportTraceServiceRequest } from '../../collectors/otlp-schema.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { checkImport, dumpSpans, importBytes } from '../helpers/import.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/otlp/${name}`, import.meta.url));
const fixtureText = (name: string): string => readFileSync(fixture(name), 'utf8');

describe('OTLP JSON fixtures', () => {
  it('ids-base64.json: accepts hex in either case, standard and URL-safe base64 ids, also in parents and links', async () => {
    // µs after T0      0    1000 1500   3500 4000       10000
    // GET /checkout    |=======================================|  trace W47/95g…== (base64), span 7uGbfsPBsXQ=
    // reserve               |==================|                  trace in upper-case hex, span +/8AAAAAAAE=
    // SELECT stock              |========|                        trace W47_95g…== (URL-safe), span -_8AAAAAAAI=, parent FBFF… (upper hex)
    const { spans } = await checkImport(
      { path: fixture('ids-base64.json') },
      {
        format: 'otlp-json',
        spans: [
          '5b8efff798038103d269b633813fc60c eee19b7ec3c1b174 < - server "GET /checkout" checkout@web-1 1764151200000000000 +10000000ns unset {} links a1b2c3d4e5f60718293a4b5c6d7e8f90/00f067aa0ba902b7 :1',
          '5b8efff798038103d269b633813fc60c fbff000000000001 < eee19b7ec3c1b174 client "reserve" checkout@web-1 1764151200001000000 +3000000ns unset {} :1',
          '5b8efff798038103d269b633813fc60c fbff000000000002 < fbff000000000001 client "SELECT stock" checkout@web-1 1764151200001500000 +2000000ns unset {} :1',
        ],
      },
    );
    // One resource object for the spans of one ResourceSpans.
    expect(spans[0]?.resource).toBe(spans[2]?.resource);
    expect(spans[0]?.resource.attributes).toEqual({ 'service.name': 'checkout', 'host.name': 'web-1' });
  });

  it('times-as-numbers-above-2p53.json: 64-bit integers written as bare JSON numbers stay exact', async () => {
    const name = 'times-as-numbers-above-2p53.json';
    const { spans } = await checkImport(
      { path: fixture(name) },
      {
        format: 'otlp-json',
        spans: [
          'e3b57217468c743a517b90d8e9e59c05 e0518d130f38bf2c < - server "exact" clock@clock 1764151200123456789 +2000000ns unset {"big": 9007199254740993n, "min": -9223372036854775808n, "small": 42, "as.string": 1234567890123456789n, "double": 1.5} :1',
          // "endTimeUnixNano" : 1764151200125456788, with spaces around the colon
          'e3b57217468c743a517b90d8e9e59c05 e0518d130f38bf2d < e0518d130f38bf2c internal "mixed" clock@clock 1764151200123456790 +1999998ns unset {} :1',
          // short numbers need no quoting
          'e3b57217468c743a517b90d8e9e59c05 e0518d130f38bf2e < e0518d130f38bf2c internal "small numbers" clock@clock 1000 +1000ns unset {} :1',
        ],
      },
    );
    expect(spans[0]?.startNs).toBe(1764151200123456789n);
    expect(spans[0]?.endNs).toBe(1764151200125456789n);
    expect(spans[1]?.endNs).toBe(1764151200125456788n);
    expect(spans[0]?.attributes['big']).toBe(9007199254740993n);
    expect(spans[0]?.resource.pid).toBe(31337);
    // What JSON.parse alone would have made of it, and how preprocess prevents that.
    expect(BigInt(JSON.parse('1764151200123456789') as number)).toBe(1764151200123456768n);
    const pre = otlpJson.preprocess?.(fixtureText(name)) ?? '';
    expect(pre).toContain('"startTimeUnixNano":"1764151200123456789"');
    expect(pre).toContain('"endTimeUnixNano" : "1764151200125456788"');
    expect(pre).toContain('"timeUnixNano":"1764151200124000001"');
    expect(pre).toContain('"intValue":"-9223372036854775808"');
    expect(pre).toContain('"intValue":42}'); // short ones are left alone
    expect(pre).toContain('"startTimeUnixNano":1000,');
  });

  it('snake-case-keys.json: reads protobuf field names (resource_spans, trace_id, int_value, …)', async () => {
    const { spans } = await checkImport(
      { path: fixture('snake-case-keys.json') },
      {
        format: 'otlp-json',
        spans: [
          '0af7651916cd43dd8448eb211c80319c b7ad6b7169203331 < - server "GET /cart" cart@cart 1764151200000000000 +5000000ns ok {"cache.hit": true, "ratio": 0.25, "items": ["a", 7], "meta": {"k": "v"}, "blob": "3q2+7w=="} :1',
          // start_time_unix_nano: 1764151200001000001 as a bare number
          '0af7651916cd43dd8448eb211c80319c 7f3e9a0c44d2b18e < b7ad6b7169203331 client "cache.get" cart@cart 1764151200001000001 +999999ns error "miss" {} :1',
        ],
      },
    );
    expect(spans[0]?.resource).toEqual({ service: 'cart', host: 'cart', pid: 4242, attributes: { 'service.name': 'cart', 'process.pid': 4242 } });
  });

  it('enum-names.json: kind and status code as enum names; unknown names fall back to unspecified / unset', async () => {
    await checkImport(
      { path: fixture('enum-names.json') },
      {
        format: 'otlp-json',
        spans: [
          '4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba90201 < - server "POST /orders" orders@app-1 1764151200000000000 +8000000ns error "out of stock" {} :1',
          '4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba90202 < 00f067aa0ba90201 client "reserve" orders@app-1 1764151200001000000 +2000000ns ok {} :1',
          '4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba90203 < 00f067aa0ba90201 producer "publish" orders@app-1 1764151200003000000 +500000ns unset {} :1',
          // status {code: 2}: numbers still work next to names
          '4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba90204 < 00f067aa0ba90203 consumer "consume" orders@app-1 1764151200009000000 +500000ns error {} :1',
          // status STATUS_CODE_FUTURE
          '4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba90205 < 00f067aa0ba90201 internal "local" orders@app-1 1764151200004000000 +1000000ns unset {} :1',
          // kind SPAN_KIND_FUTURE, status {}
          '4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba90206 < 00f067aa0ba90201 unspecified "odd kind" orders@app-1 1764151200005000000 +1000000ns unset {} :1',
        ],
      },
    );
  });

  it('legacy-instrumentation-library-spans.json: reads the pre-1.0 instrumentationLibrarySpans key', async () => {
    const { spans } = await checkImport(
      { path: fixture('legacy-instrumentation-library-spans.json') },
      {
        format: 'otlp-json',
        spans: [
          'a1b2c3d4e5f60718293a4b5c6d7e8f90 1000000000000001 < - server "GET /legacy" legacy@old-box 1764151200000000000 +6000000ns unset {} :1',
          'a1b2c3d4e5f60718293a4b5c6d7e8f90 1000000000000002 < 1000000000000001 client "SELECT legacy" legacy@old-box 1764151200001000000 +4000000ns unset {} :1',
        ],
      },
    );
    expect(spans[0]?.resource).toBe(spans[1]?.resource); // two scopes, one resource
  });

  it('unknown-fields.json: ignores unknown fields at every level; an AnyValue of an unknown type is dropped and counted', async () => {
    await checkImport(
      { path: fixture('unknown-fields.json') },
      {
        format: 'otlp-json',
        spans: [
          // {"futureMember": true, "stringValue": "A-1"} -> "A-1"; {"mapValue": …} dropped; {} (empty AnyValue) left out silently
          'c0ffee00c0ffee00c0ffee00c0ffee00 c0ffee0000000001 < - internal "lookup" catalog@app-3 1764151200000000000 +2500000ns unset {"sku": "A-1"} :1',
        ],
        diagnostics: [['attribute_invalid', 1, 'unknown-fields.json:1: attribute "future" has a malformed value {"mapValue":{"k":"v"}}']],
      },
    );
  });

  it('array-of-requests.json: a JSON array of export requests, including an empty one', async () => {
    const { spans } = await checkImport(
      { path: fixture('array-of-requests.json') },
      {
        format: 'otlp-json',
        spans: [
          '11111111111111111111111111111111 2000000000000001 < - server "GET /" frontend@web-1 1764151200000000000 +9000000ns unset {} :1',
          '11111111111111111111111111111111 2000000000000002 < 2000000000000001 client "GET /api" frontend@web-1 1764151200001000000 +7000000ns unset {} :1',
          '11111111111111111111111111111111 2000000000000003 < 2000000000000002 server "GET /api" api@app-9 1764151200002000000 +5000000ns unset {} :1',
        ],
      },
    );
    expect(spans[0]?.resource).not.toBe(spans[2]?.resource);
  });

  it('invalid-ids.json: all-zero, wrong-length, malformed and missing ids are counted and skipped, the others kept', async () => {
    // µs after T0      0   2000 2500 3000 3500 4000 4500  9000
    // root (a0)        |========================================|
    // bad parent (a7)       |====|                                 parentSpanId all zeros: kept as a root
    // child (a8)                 |====|
    // bad link (a9)                        |====|                  links[0] malformed: dropped and counted, links[1] kept
    await checkImport(
      { path: fixture('invalid-ids.json') },
      {
        format: 'otlp-json',
        spans: [
          '9f8e7d6c5b4a39281706f5e4d3c2b1a0 00000000000000a0 < - internal "root" ids@ids-1 1764151200000000000 +9000000ns unset {} :1',
          '9f8e7d6c5b4a39281706f5e4d3c2b1a0 00000000000000a7 < - internal "bad parent" ids@ids-1 1764151200002000000 +500000ns unset {} :1',
          '9f8e7d6c5b4a39281706f5e4d3c2b1a0 00000000000000a8 < 00000000000000a0 internal "child" ids@ids-1 1764151200003000000 +500000ns unset {} :1',
          '9f8e7d6c5b4a39281706f5e4d3c2b1a0 00000000000000a9 < 00000000000000a0 internal "bad link" ids@ids-1 1764151200004000000 +500000ns unset {} links 9f8e7d6c5b4a39281706f5e4d3c2b1a0/00000000000000a8 :1',
        ],
        diagnostics: [
          ['id_invalid', 6, 'invalid-ids.json:1: span 1 "zero trace": traceId "00000000000000000000000000000000" is all zeros'],
          ['link_invalid', 1, 'invalid-ids.json:1: span 9 "bad link": links[0].spanId "nope" has the wrong length'],
          ['parent_id_invalid', 1, 'invalid-ids.json:1: span 7 "bad parent": parentSpanId "0000000000000000" is all zeros'],
        ],
      },
    );
  });

  it('invalid-ids.json: each rejected span has its own message', () => {
    // Only the first example of a code is kept, so import the rejected spans one at a time.
    const doc = JSON.parse(fixtureText('invalid-ids.json')) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
    const all = doc.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    const messages = [1, 2, 3, 4, 5, 6].map((i) => {
      const diag = new Diagnostics();
      const spans: SpanInput[] = [];
      const ctx: ImportContext = { file: 'invalid-ids.json', diag, resources: new ResourceInterner(), emit: (s) => spans.push(s) };
      otlpJson.handleValue({ resourceSpans: [{ scopeSpans: [{ spans: [all[i]] }] }] }, { file: 'invalid-ids.json', line: 1 }, ctx);
      expect(spans).toEqual([]);
      return diag.entries().map((e) => `${e.code} ×${e.count}: ${e.example ?? ''}`);
    });
    expect(messages).toEqual([
      ['id_invalid ×1: invalid-ids.json:1: span 0 "zero trace": traceId "00000000000000000000000000000000" is all zeros'],
      ['id_invalid ×1: invalid-ids.json:1: span 0 "short trace": traceId "9f8e7d6c5b4a39281706f5e4d3c2b1" has the wrong length'],
      ['id_invalid ×1: invalid-ids.json:1: span 0 "zero span": spanId "0000000000000000" is all zeros'],
      ['id_invalid ×1: invalid-ids.json:1: span 0 "long span": spanId "00000000000000a4a4" has the wrong length'],
      ['id_invalid ×1: invalid-ids.json:1: span 0 "not hex": spanId "zz!zz!zz!zz!zz!z" is neither hex nor base64'],
      ['id_invalid ×1: invalid-ids.json:1: span 0 "no trace id": traceId undefined is empty'],
    ]);
  });

  it('tempo-batches.json: Tempo\'s {"batches": [...]} with base64 ids and enum names', async () => {
    await checkImport(
      { path: fixture('tempo-batches.json') },
      {
        format: 'otlp-json',
        spans: [
          '0af7651916cd43dd8448eb211c80319c b7ad6b7169203331 < - server "GET /product" shop-frontend@shop-frontend 1764151200000000000 +12000000ns unset {"http.route": "/product", "http.response.status_code": 200} :1',
          '0af7651916cd43dd8448eb211c80319c 7f3e9a0c44d2b18e < b7ad6b7169203331 client "GET /catalog" shop-frontend@shop-frontend 1764151200001000000 +10000000ns unset {} :1',
          '0af7651916cd43dd8448eb211c80319c c0ffee0000000001 < 7f3e9a0c44d2b18e server "GET /catalog" shop-catalog@shop-catalog 1764151200002000000 +8000000ns error "timeout" {} :1',
        ],
      },
    );
  });

  it('pretty-printed.json: a multi-line document is streamed in document mode, one source per ResourceSpans', async () => {
    const name = 'pretty-printed.json';
    const { spans } = await checkImport(
      { path: fixture(name) },
      {
        format: 'otlp-json',
        spans: [
          '8a3c60f7d188f8fa79d48a391a778fa6 3000000000000001 < - server "GET /pretty" frontend@web-1 1764151200000000000 +4000000ns unset {"http.route": "/pretty"} @27',
          '8a3c60f7d188f8fa79d48a391a778fa6 3000000000000002 < 3000000000000001 client "GET /data" frontend@web-1 1764151200000500000 +3000000ns unset {} @27',
          '8a3c60f7d188f8fa79d48a391a778fa6 3000000000000003 < 3000000000000002 server "GET /data" data@app-4 1764151200001000000 +2000000ns unset {} @1395',
        ],
      },
    );
    // The offsets are those of the two ResourceSpans objects.
    const text = fixtureText(name);
    expect(text.slice(27, 48)).toBe('{\n      "resource": {');
    expect(text.slice(1395, 1416)).toBe('{\n      "resource": {');
    expect(spans[0]?.source).toBe(spans[1]?.source);
  });
});

describe('OTLP JSON Lines fixtures', () => {
  const cfSpans = [
    '5c1a3b4d6e7f80911a2b3c4d5e6f7081 4000000000000001 < - server "GET /checkout" frontend@web-1 1764151200000000000 +10000000ns unset {} :1',
    '5c1a3b4d6e7f80911a2b3c4d5e6f7081 4000000000000002 < 4000000000000001 client "POST /pay" frontend@web-1 1764151200001000000 +8000000ns unset {} :1',
    '5c1a3b4d6e7f80911a2b3c4d5e6f7081 4000000000000003 < 4000000000000002 server "POST /pay" payment@pay-1 1764151200002000000 +6000000ns unset {} :2',
    '5c1a3b4d6e7f80911a2b3c4d5e6f7081 4000000000000004 < 4000000000000003 internal "fraud-check" payment@pay-1 1764151200003000000 +2000000ns unset {} :2',
  ];
  const productSpan = (line: number): string => `5c1a3b4d6e7f80911a2b3c4d5e6f7082 4000000000000005 < - server "GET /product" frontend@web-1 1764151200020000000 +6000000ns unset {} :${line}`;

  it('collector-file-exporter.jsonl: one request per line, a trace spread over lines, sources by line', async () => {
    const { spans } = await checkImport({ path: fixture('collector-file-exporter.jsonl') }, { format: 'otlp-json', spans: [...cfSpans, productSpan(3)] });
    // Batches of the same resource on different lines share one interned resource.
    expect(spans[0]?.resource).toBe(spans[4]?.resource);
    expect(spans[0]?.source).toBe(spans[1]?.source);
  });

  it('truncated-last-line.jsonl: an incomplete last line is counted with file:line, every line before it kept', async () => {
    await checkImport(
      { path: fixture('truncated-last-line.jsonl') },
      {
        format: 'otlp-json',
        spans: cfSpans,
        diagnostics: [['input_truncated', 1, expect.stringMatching(/^truncated-last-line\.jsonl:3: the last line is incomplete \(.*JSON.*\); every line before it was kept$/)]],
      },
    );
  });

  it('bad-line-in-middle.jsonl: an unparsable line is counted with its line number, the lines after it kept', async () => {
    // line 2: two writers' output interleaved; line 3: empty (skipped silently)
    await checkImport(
      { path: fixture('bad-line-in-middle.jsonl') },
      {
        format: 'otlp-json',
        spans: [...cfSpans.slice(0, 2), productSpan(4)],
        diagnostics: [['line_unparsable', 1, expect.stringMatching(/^bad-line-in-middle\.jsonl:2: .*JSON.* in "\{\\"resourceSpans\\":\[\{\\"resource\\":\{\\"attributes\\":\[\{\\"key\\":\\"service…"$/)]],
      },
    );
  });
});

describe('OTLP streaming paths', () => {
  it('descends into requests, resourceSpans, scopeSpans and spans, and flushes each ResourceSpans', () => {
    expect(otlpJson.descend([])).toBe(true);
    expect(otlpJson.descend(['resourceSpans'])).toBe(true);
    expect(otlpJson.descend(['resourceSpans', 0])).toBe(true);
    expect(otlpJson.descend(['resource_spans', 0, 'scope_spans'])).toBe(true);
    expect(otlpJson.descend(['batches', 2, 'instrumentationLibrarySpans', 1])).toBe(true);
    expect(otlpJson.descend(['resourceSpans', 0, 'scopeSpans', 0, 'spans'])).toBe(true);
    expect(otlpJson.descend(['resourceSpans', 0, 'scopeSpans', 0, 'spans', 7])).toBe(false); // a span is one piece
    expect(otlpJson.descend(['resourceSpans', 0, 'resource'])).toBe(false);
    expect(otlpJson.descend(['resourceSpans', 0, 'scopeSpans', 0, 'scope'])).toBe(false);
    expect(otlpJson.descend(['futureTopLevel'])).toBe(false);
    expect(otlpJson.descend([3])).toBe(true);
    expect(otlpJson.descend([3, 'resourceSpans', 0, 'scopeSpans', 0, 'spans'])).toBe(true);
    expect(otlpJson.flush(['resourceSpans', 4])).toBe(true);
    expect(otlpJson.flush([1, 'batches', 4])).toBe(true);
    expect(otlpJson.flush(['resourceSpans'])).toBe(false);
    expect(otlpJson.flush(['resourceSpans', 4, 'scopeSpans', 0])).toBe(false);
    expect(otlpJson.flush([1])).toBe(false);
  });
});

// ---- protobuf ---------------------------------------------------------------------------------

const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const PB_TRACE = hex('7b3f1c2a9d8e4f60a1b2c3d4e5f60718');

/** One ExportTraceServiceRequest with one resource and the given spans (protobufjs object form). */
function request(service: string, spans: Record<string, unknown>[]): Uint8Array {
  const msg = ExportTraceServiceRequest.fromObject({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }, { key: 'host.name', value: { stringValue: `${service}-host` } }] },
        scopeSpans: [{ scope: { name: 'shop', version: '1.0' }, spans }],
      },
    ],
  });
  return ExportTraceServiceRequest.encode(msg).finish();
}

/** The Collector file exporter's `format: proto` framing: a 4-byte big-endian length before each message. */
function lengthPrefixed(messages: readonly Uint8Array[]): Buffer {
  return Buffer.concat(
    messages.flatMap((m) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(m.length);
      return [len, Buffer.from(m)];
    }),
  );
}

const checkoutMessage = (): Uint8Array =>
  request('frontend', [
    {
      traceId: PB_TRACE,
      spanId: hex('0000000000000b01'),
      name: 'GET /checkout',
      kind: 2,
      startTimeUnixNano: '1764151200123456789',
      endTimeUnixNano: '1764151200133456789',
      attributes: [
        { key: 'http.route', value: { stringValue: '/checkout' } },
        { key: 'retry', value: { boolValue: false } },
        { key: 'http.response.status_code', value: { intValue: 502 } },
        { key: 'order.id', value: { intValue: '9223372036854775807' } },
        { key: 'delta', value: { intValue: '-9007199254740993' } },
        { key: 'ratio', value: { doubleValue: 0.5 } },
        { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 1 }] } } },
        { key: 'meta', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
        { key: 'raw', value: { bytesValue: hex('deadbeef') } },
      ],
      status: { code: 2 },
      flags: 0x301,
    },
    {
      traceId: PB_TRACE,
      spanId: hex('0000000000000b02'),
      parentSpanId: hex('0000000000000b01'),
      name: 'POST /payment/charge',
      kind: 3,
      startTimeUnixNano: '1764151200124000000',
      endTimeUnixNano: '1764151200132000000',
      status: { code: 2, message: 'payment gateway unavailable' },
      links: [{ traceId: hex('0102030405060708090a0b0c0d0e0f10'), spanId: hex('1112131415161718') }],
      events: [{ timeUnixNano: '1764151200125000000', name: 'exception' }],
    },
  ]);

const checkoutDump = (loc: string): string[] => [
  `7b3f1c2a9d8e4f60a1b2c3d4e5f60718 0000000000000b01 < - server "GET /checkout" frontend@frontend-host 1764151200123456789 +10000000ns error {"http.route": "/checkout", "retry": false, "http.response.status_code": 502, "order.id": 9223372036854775807n, "delta": -9007199254740993n, "ratio": 0.5, "tags": ["a", 1], "meta": {"k": true}, "raw": "3q2+7w=="} ${loc}`,
  `7b3f1c2a9d8e4f60a1b2c3d4e5f60718 0000000000000b02 < 0000000000000b01 client "POST /payment/charge" frontend@frontend-host 1764151200124000000 +8000000ns error "payment gateway unavailable" {} links 0102030405060708090a0b0c0d0e0f10/1112131415161718 ${loc}`,
];

const paymentMessage = (): Uint8Array =>
  request('payment', [
    { traceId: PB_TRACE, spanId: hex('0000000000000c01'), parentSpanId: hex('0000000000000b02'), name: 'POST /payment/charge', kind: 2, startTimeUnixNano: '1764151200125000000', endTimeUnixNano: '1764151200131000000', status: { code: 1 } },
  ]);
const paymentDump = (loc: string): string =>
  `7b3f1c2a9d8e4f60a1b2c3d4e5f60718 0000000000000c01 < 0000000000000b02 server "POST /payment/charge" payment@payment-host 1764151200125000000 +6000000ns ok {} ${loc}`;

const workerMessage = (): Uint8Array =>
  request('worker', [
    { traceId: hex('00000000000000000000000000000abc'), spanId: hex('0000000000000d01'), name: 'process order', kind: 5, startTimeUnixNano: '1764151201000000000', endTimeUnixNano: '1764151201000000001' },
  ]);
const workerDump = (loc: string): string =>
  `00000000000000000000000000000abc 0000000000000d01 < - consumer "process order" worker@worker-host 1764151201000000000 +1ns unset {} ${loc}`;

describe('OTLP protobuf', () => {
  it('reads one bare ExportTraceServiceRequest: bytes ids, fixed64 times exact, every AnyValue type', async () => {
    const bytes = Buffer.from(checkoutMessage());
    expect(bytes[0]).toBe(0x0a); // field 1, wire type 2: what the sniffer looks for
    const { spans } = await checkImport({ bytes, name: 'request.pb' }, { format: 'otlp-proto', spans: checkoutDump('@0') });
    expect(spans[0]?.startNs).toBe(1764151200123456789n);
    expect(spans[0]?.attributes['order.id']).toBe(9223372036854775807n);
  });

  it('reads the Collector file exporter\'s length-prefixed stream, each message located by its offset', async () => {
    const m1 = checkoutMessage();
    const m2 = paymentMessage();
    const m3 = workerMessage();
    const bytes = lengthPrefixed([m1, m2, m3]);
    const at2 = 4 + m1.length + 4;
    const at3 = at2 + m2.length + 4;
    await checkImport({ bytes, name: 'traces.binpb' }, { format: 'otlp-proto', spans: [...checkoutDump('@4'), paymentDump(`@${at2}`), workerDump(`@${at3}`)] });
  });

  it('keeps every message before a truncated one in a length-prefixed stream and reports where it stopped', async () => {
    const m1 = checkoutMessage();
    const m2 = paymentMessage();
    const m3 = workerMessage();
    const whole = lengthPrefixed([m1, m2, m3]);
    const cut = whole.length - 10;
    const at2 = 4 + m1.length + 4;
    const at3 = at2 + m2.length + 4; // the third message's body
    await checkImport(
      { bytes: whole.subarray(0, cut), name: 'traces.pb' },
      {
        format: 'otlp-proto',
        spans: [...checkoutDump('@4'), paymentDump(`@${at2}`)],
        diagnostics: [['input_truncated', 1, `traces.pb@${at3 - 4}: the input ends inside a length-prefixed message (${m3.length + 4 - 10} of ${m3.length + 4} bytes); every message before it was kept`]],
      },
    );
  });

  it('skips a corrupt message inside a length-prefixed stream and reads the ones after it', async () => {
    const m1 = paymentMessage();
    const bad = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]); // resource_spans claiming ~4 GB
    const m3 = workerMessage();
    const bytes = lengthPrefixed([m1, bad, m3]);
    const atBad = 4 + m1.length + 4;
    const at3 = atBad + bad.length + 4;
    await checkImport(
      { bytes, name: 'traces.pb' },
      {
        format: 'otlp-proto',
        spans: [paymentDump('@4'), workerDump(`@${at3}`)],
        diagnostics: [['line_unparsable', 1, expect.stringMatching(new RegExp(`^traces\\.pb@${atBad}: not a valid OTLP protobuf message \\(.+\\)$`))]],
      },
    );
  });

  it('counts spans with empty, short or all-zero id bytes (e.g. logs posted as traces) and keeps the rest', async () => {
    const bytes = Buffer.from(
      request('odd', [
        { name: 'no ids', startTimeUnixNano: '1764151200000000000', endTimeUnixNano: '1764151200000000001' },
        { traceId: hex('01020304'), spanId: hex('0000000000000e01'), name: 'short trace', startTimeUnixNano: '1764151200000000000', endTimeUnixNano: '1764151200000000001' },
        { traceId: PB_TRACE, spanId: hex('0000000000000000'), name: 'zero span', startTimeUnixNano: '1764151200000000000', endTimeUnixNano: '1764151200000000001' },
        { traceId: PB_TRACE, spanId: hex('0000000000000e04'), parentSpanId: hex('00'), name: 'short parent', kind: 1, startTimeUnixNano: '1764151200000000000', endTimeUnixNano: '1764151200000000001' },
        { traceId: PB_TRACE, spanId: hex('0000000000000e05'), name: 'no times', kind: 1 },
      ]),
    );
    await checkImport(
      { bytes, name: 'odd.pb' },
      {
        format: 'otlp-proto',
        spans: ['7b3f1c2a9d8e4f60a1b2c3d4e5f60718 0000000000000e04 < - internal "short parent" odd@odd-host 1764151200000000000 +1ns unset {} @0'],
        diagnostics: [
          ['id_invalid', 3, 'odd.pb@0: span 0 "no ids": traceId [] is empty' /* protobufjs' default for absent bytes is [] */],
          ['timestamp_invalid', 1, 'odd.pb@0: span 4 "no times": startTimeUnixNano 0 / endTimeUnixNano 0 is not a valid time'],
          ['parent_id_invalid', 1, 'odd.pb@0: span 3 "short parent": parentSpanId 0x00 has the wrong length'],
        ],
      },
    );
  });
});

describe('OTLP JSON and protobuf agree', () => {
  it('gives the same spans for protobufjs\' JSON form of a request (base64 ids, 64-bit integers as strings)', async () => {
    const json = JSON.stringify(ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(checkoutMessage()), { longs: String, bytes: String }));
    expect(json).toContain('"traceId":"ez8cKp2OT2ChssPU5fYHGA=="');
    const fromJson = await checkImport({ bytes: Buffer.from(`${json}\n`), name: 'request.json' }, { format: 'otlp-json', spans: checkoutDump(':1') });
    const fromPb = await importBytes(Buffer.from(checkoutMessage()), 'request.pb');
    expect(dumpSpans(fromJson.spans, { location: false })).toEqual(dumpSpans(fromPb.spans, { location: false }));
  });
});
