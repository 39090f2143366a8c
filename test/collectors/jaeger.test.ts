// Golden tests for the Jaeger JSON importer: fixtures in test/fixtures/jaeger/, named after the
// problem they exercise; every emitted span and every diagnostic is checked exactly.
import { describe, expect, it } from 'vitest';
import { jaegerJson } from '../../collectors/jaeger.js';
import { JsonDocumentReader } from '../../collectors/json-document.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import type { SourceRef, SpanInput } from '../../src/model/span.js';
import { at, collect, fixtureText as fixtureTextIn } from '../helpers/collect.js';

const fixtureText = (name: string): string => fixtureTextIn('jaeger', name);

/** Parses a fixture the way the readers do (preprocess, then JSON.parse) and imports it. */
function importFixture(name: string): { spans: SpanInput[]; diag: Diagnostics; src: SourceRef } {
  const { ctx, spans, diag } = collect(name);
  const src: SourceRef = { file: name, offset: 0 };
  const text = fixtureText(name);
  jaegerJson.handleValue(JSON.parse(jaegerJson.preprocess?.(text) ?? text), src, ctx);
  jaegerJson.finish?.(ctx);
  return { spans, diag, src };
}

/** The fields a golden comparison looks at (the resource by service and attributes). */
function view(s: SpanInput): Record<string, unknown> {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    parentRef: s.parentRef,
    name: s.name,
    kind: s.kind,
    service: s.resource.service,
    startNs: s.startNs,
    endNs: s.endNs,
    status: s.status,
    statusMessage: s.statusMessage,
    attributes: s.attributes,
    links: s.links,
  };
}

function diagTable(diag: Diagnostics): [string, number, string | undefined][] {
  return diag.entries().map((e) => [e.code, e.count, e.example]);
}

describe('jaeger importer', () => {
  it('left-pads short trace and span ids, including ids in references ({data: [...]} shape)', () => {
    const { spans, diag, src } = importFixture('short-trace-ids.json');
    // µs after T0      0    1000      3500  4500  5000
    // GET /cart        |==============================|   a3ce929d0e0e4736
    // SELECT cart           |=========|                   e0e4736 -> 000000000e0e4736
    // render                          |=====|              abcdef012345 (12 hex digits: not base64)
    const tid = '00000000000000004bf92f3577b34da6';
    expect(spans.map(view)).toEqual([
      { traceId: tid, spanId: 'a3ce929d0e0e4736', name: 'GET /cart', kind: 'server', service: 'cart', startNs: at(0), endNs: at(5000), status: 'unset', attributes: { 'span.kind': 'server' } },
      { traceId: tid, spanId: '000000000e0e4736', parentSpanId: 'a3ce929d0e0e4736', parentRef: 'child-of', name: 'SELECT cart', kind: 'client', service: 'cart', startNs: at(1000), endNs: at(3500), status: 'unset', attributes: { 'span.kind': 'client' } },
      { traceId: tid, spanId: '0000abcdef012345', parentSpanId: 'a3ce929d0e0e4736', parentRef: 'child-of', name: 'render', kind: 'unspecified', service: 'cart', startNs: at(3500), endNs: at(4500), status: 'unset', attributes: {} },
    ]);
    expect(spans[0]?.resource.attributes).toEqual({ 'service.name': 'cart', hostname: 'cart-7d9f', 'host.name': 'cart-7d9f', ip: '10.0.0.7' });
    expect(spans[0]?.resource.host).toBe('cart-7d9f');
    expect(spans.every((s) => s.source === src)).toBe(true);
    expect(diag.size).toBe(0);
  });

  it('makes a span whose only references are FOLLOWS_FROM a follows-from child; other references become links', () => {
    const { spans, diag } = importFixture('follows-from.json');
    // µs after T0      0    1000   4000 5000 6500 7000  9000 9500
    // publish order    |====|                                       producer (shop)
    // consume order               |===========|                     FOLLOWS_FROM publish
    // store order                      |======|                     refType omitted = CHILD_OF consume; FOLLOWS_FROM publish -> link
    // audit                                             |===|       CHILD_OF in another trace -> link; FOLLOWS_FROM publish -> parent
    const tid = '5b8efff798038103d269b633813fc60c';
    expect(spans.map(view)).toEqual([
      { traceId: tid, spanId: '1000000000000001', name: 'publish order', kind: 'producer', service: 'shop', startNs: at(0), endNs: at(1000), status: 'unset', attributes: { 'span.kind': 'producer' } },
      { traceId: tid, spanId: '1000000000000002', parentSpanId: '1000000000000001', parentRef: 'follows-from', name: 'consume order', kind: 'consumer', service: 'orders', startNs: at(4000), endNs: at(7000), status: 'unset', attributes: { 'span.kind': 'consumer' } },
      {
        traceId: tid,
        spanId: '1000000000000003',
        parentSpanId: '1000000000000002',
        parentRef: 'child-of',
        name: 'store order',
        kind: 'unspecified',
        service: 'orders',
        startNs: at(5000),
        endNs: at(6500),
        status: 'unset',
        attributes: {},
        links: [{ traceId: tid, spanId: '1000000000000001' }],
      },
      {
        traceId: tid,
        spanId: '1000000000000004',
        parentSpanId: '1000000000000001',
        parentRef: 'follows-from',
        name: 'audit',
        kind: 'unspecified',
        service: 'orders',
        startNs: at(9000),
        endNs: at(9500),
        status: 'unset',
        attributes: {},
        links: [{ traceId: '7d0000000000000000000000000000aa', spanId: '2000000000000001' }],
      },
    ]);
    expect(diag.size).toBe(0);
  });

  it('resolves processes that come after the spans, and spans of one process share one resource', () => {
    const { spans, diag } = importFixture('processes-after-spans.json');
    // µs after T0      0    1000 1500        6500 7000  8000
    // GET / (web)      |================================|
    // GET /api/items        |=======================|        client (web)
    // GET /api/items (api)       |============|              server (api)
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.kind, s.resource.service, s.startNs, s.endNs])).toEqual([
      ['0c0000000000000a', undefined, 'server', 'web', at(0), at(8000)],
      ['0c0000000000000b', '0c0000000000000a', 'client', 'web', at(1000), at(7000)],
      ['0c0000000000000c', '0c0000000000000b', 'server', 'api', at(1500), at(6500)],
    ]);
    const [a, b, c] = spans;
    expect(a?.resource).toBe(b?.resource);
    expect(a?.resource).toEqual({ service: 'web', host: 'web-1', pid: 4242, attributes: { 'service.name': 'web', 'host.name': 'web-1', 'process.pid': 4242 } });
    expect(c?.resource).toEqual({ service: 'api', host: 'api-3', attributes: { 'service.name': 'api', hostname: 'api-3', 'host.name': 'api-3' } });
    expect(diag.size).toBe(0);
  });

  it('decodes typed tags (int64 as string or beyond 2^53 exactly) and reads kind and status from tags', () => {
    const { spans, diag } = importFixture('typed-tags.json');
    expect(spans.map(view)).toEqual([
      {
        traceId: '7a1b2c3d4e5f60718293a4b5c6d7e8f9',
        spanId: '00000000000000f1',
        name: 'charge card',
        kind: 'client',
        service: 'payments',
        startNs: at(0),
        endNs: at(2000),
        status: 'error',
        statusMessage: 'card declined',
        attributes: {
          'span.kind': 'client',
          'http.method': 'POST',
          retry: true,
          cached: false,
          'http.status_code': 402,
          'order.id': 9223372036854775807n,
          'balance.delta': -17,
          'card.token': 1234567890123456789n,
          fee: 3.25,
          ratio: 0.5,
          payload: '3q2+7w==',
          error: true,
          'otel.status_description': 'card declined',
        },
      },
      // otel.status_code wins over the error tag.
      { traceId: '7a1b2c3d4e5f60718293a4b5c6d7e8f9', spanId: '00000000000000f2', name: 'retry charge', kind: 'unspecified', service: 'payments', startNs: at(3000), endNs: at(4000), status: 'ok', attributes: { 'otel.status_code': 'OK', error: 'true' } },
      { traceId: '7a1b2c3d4e5f60718293a4b5c6d7e8f9', spanId: '00000000000000f3', name: 'notify', kind: 'unspecified', service: 'payments', startNs: at(4000), endNs: at(5000), status: 'error', attributes: { error: 'true' } },
    ]);
    expect(diagTable(diag)).toEqual([['attribute_invalid', 2, 'typed-tags.json@0: span 0 ("charge card") of trace "7a1b2c3d4e5f60718293a4b5c6d7e8f9": tag "attempt" of type "int64" has a malformed value "12abc"']]);
  });

  it('keeps int64 tags beyond 2^53 exact only thanks to preprocess', () => {
    const text = fixtureText('typed-tags.json');
    const pre = jaegerJson.preprocess?.(text) ?? text;
    expect(pre).toContain('"value": "1234567890123456789"');
    expect(pre).toContain('"startTime": 1700000000000000'); // other keys are left alone
    const { ctx, spans } = collect('typed-tags.json');
    jaegerJson.handleValue(JSON.parse(text), { file: 'typed-tags.json' }, ctx);
    expect(spans[0]?.attributes['card.token']).toBe(1234567890123456768n); // what JSON.parse alone leaves
  });

  it('counts and skips spans with empty, zero or absurdly long ids, bad times or fields, keeps the rest, and treats a bad parent id as a root', () => {
    const { spans, diag } = importFixture('invalid-ids.json');
    // µs after T0      0   1000  2000  3000 4000 4500 5000 6000  9000
    // root (a0)        |===============================================|
    // bad parent (a3)             |=====|                                 kept as a root
    // child (a8)                            |=============|
    // bad link (a9)                              |====|                    malformed FOLLOWS_FROM dropped
    const tid = '9f8e7d6c5b4a39281706f5e4d3c2b1a0';
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.name, s.startNs, s.endNs, s.links])).toEqual([
      ['00000000000000a0', undefined, 'root', at(0), at(9000), undefined],
      ['00000000000000a3', undefined, 'bad parent', at(2000), at(3000), undefined],
      ['00000000000000a8', '00000000000000a0', 'child', at(4000), at(6000), undefined],
      ['00000000000000a9', '00000000000000a8', 'bad link', at(4500), at(5000), undefined],
    ]);
    expect(spans.every((s) => s.traceId === tid)).toBe(true);
    const where = `invalid-ids.json@0`;
    const trace = `trace "${tid}"`;
    expect(diagTable(diag)).toEqual([
      ['id_invalid', 2, `${where}: span 1 ("bad span id") of ${trace}: spanID "${'y'.repeat(59)}… is longer than 256 characters`],
      ['record_invalid', 2, `${where}: span 5 of ${trace} is string "not a span", expected an object`],
      ['timestamp_invalid', 2, `${where}: span 4 ("no start") of ${trace}: startTime missing is not a number of microseconds`],
      ['link_invalid', 1, `${where}: span 9 ("bad link") of ${trace}: references[1].traceID is 12, expected a string`],
      ['parent_id_invalid', 1, `${where}: span 3 ("bad parent") of ${trace}: references[0].spanID is 7, expected a string; kept as a root`],
    ]);
  });

  it('reads inline processes and the legacy parentSpanID, and flags a processID with no process', () => {
    const { spans, diag } = importFixture('inline-process-and-legacy-parent.json');
    // µs after T0      0    1000 2000 2500 3000
    // legacy root      |=======================|   parentSpanID "0" = no parent
    // legacy child          |====|                 parentSpanID "b1" (short)
    // lost process               |===|             reference without traceID = same trace
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.parentRef, s.resource.service, s.resource.host, s.startNs, s.endNs])).toEqual([
      ['00000000000000b1', undefined, undefined, 'legacy', 'old-box', at(0), at(3000)],
      ['00000000000000b2', '00000000000000b1', 'child-of', 'legacy', 'old-box', at(1000), at(2000)],
      ['00000000000000b3', '00000000000000b1', 'child-of', 'unknown_service', 'unknown_service', at(2000), at(2500)],
    ]);
    expect(spans[0]?.resource).toBe(spans[1]?.resource);
    expect(diagTable(diag)).toEqual([
      ['jaeger_process_missing', 1, `inline-process-and-legacy-parent.json@0: span 2 ("lost process") of trace "1f2e3d4c5b6a79880000000000000001": processID "p9" is not in the trace's processes`],
    ]);
  });

  it('rejects values that are not Jaeger traces without throwing', () => {
    const { ctx, spans, diag } = collect('x.json');
    jaegerJson.handleValue({ data: null, errors: [{ code: 404, msg: 'trace not found' }] }, { file: 'x.json', line: 1 }, ctx);
    jaegerJson.handleValue(17, { file: 'x.json', line: 2 }, ctx);
    jaegerJson.handleValue({ traceID: 'ab', spans: 'nope' }, { file: 'x.json', line: 3 }, ctx);
    expect(spans).toEqual([]);
    expect(diagTable(diag)).toEqual([['record_invalid', 3, 'x.json:1: "data" is null, expected an array of traces']]);
  });

  it('streams: descends into data, traces and spans, flushes each trace, and gives the same spans', () => {
    expect(jaegerJson.descend([])).toBe(true);
    expect(jaegerJson.descend(['data'])).toBe(true);
    expect(jaegerJson.descend(['data', 0])).toBe(true);
    expect(jaegerJson.descend(['data', 0, 'spans'])).toBe(true);
    expect(jaegerJson.descend(['data', 0, 'processes'])).toBe(false);
    expect(jaegerJson.descend(['data', 0, 'spans', 3])).toBe(false);
    expect(jaegerJson.descend([2])).toBe(true);
    expect(jaegerJson.descend([2, 'spans'])).toBe(true);
    expect(jaegerJson.descend(['spans'])).toBe(false); // a single-trace root is parsed whole
    expect(jaegerJson.flush(['data', 4])).toBe(true);
    expect(jaegerJson.flush([4])).toBe(true);
    expect(jaegerJson.flush(['data'])).toBe(false);
    expect(jaegerJson.flush([4, 'spans'])).toBe(false);
    expect(jaegerJson.flush(['spans'])).toBe(false);

    for (const name of ['short-trace-ids.json', 'typed-tags.json', 'processes-after-spans.json', 'invalid-ids.json']) {
      const whole = importFixture(name);
      const { ctx, spans, diag } = collect(name);
      const reader = new JsonDocumentReader(jaegerJson, name, diag, (v, src) => jaegerJson.handleValue(v, src, ctx));
      const bytes = Buffer.from(fixtureText(name));
      for (let i = 0; i < bytes.length; i += 7) reader.push(bytes.subarray(i, i + 7));
      reader.end();
      expect(spans.map(view), name).toEqual(whole.spans.map(view));
      expect(diag.entries().map((e) => [e.code, e.count]), name).toEqual(whole.diag.entries().map((e) => [e.code, e.count]));
    }
  });
});
