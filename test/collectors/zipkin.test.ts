// Golden tests for the Zipkin v2 JSON importer: fixtures in test/fixtures/zipkin/, named after the
// problem they exercise; every emitted span and every diagnostic is checked exactly.
import { describe, expect, it } from 'vitest';
import { JsonDocumentReader } from '../../collectors/json-document.js';
import { sharedServerId, zipkinJson } from '../../collectors/zipkin.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import type { SourceRef, SpanInput } from '../../src/model/span.js';
import { at, collect, fixtureText as fixtureTextIn } from '../helpers/collect.js';

const fixtureText = (name: string): string => fixtureTextIn('zipkin', name);

function importFixture(name: string): { spans: SpanInput[]; diag: Diagnostics; src: SourceRef } {
  const { ctx, spans, diag } = collect(name);
  const src: SourceRef = { file: name, offset: 0 };
  zipkinJson.handleValue(JSON.parse(fixtureText(name)), src, ctx);
  zipkinJson.finish?.(ctx);
  return { spans, diag, src };
}

/** The fields a golden comparison looks at (the resource by service and host). */
function view(s: SpanInput): Record<string, unknown> {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    service: s.resource.service,
    host: s.resource.host,
    startNs: s.startNs,
    endNs: s.endNs,
    status: s.status,
    statusMessage: s.statusMessage,
    attributes: s.attributes,
  };
}

function diagTable(diag: Diagnostics): [string, number, string | undefined][] {
  return diag.entries().map((e) => [e.code, e.count, e.example]);
}

describe('zipkin importer', () => {
  it('splits a shared server half off its client half and re-parents its server-side children', () => {
    const { spans, diag, src } = importFixture('shared-server-half.json');
    // µs after T0        0    1000 1200 1300 2000 2500   4500  6000 7000   10000
    // get /checkout      |=========================================================|  frontend 4848…  SERVER
    // get /price              |=====================================|                frontend 5f2c…  CLIENT
    // retry timer             |==|                                                   frontend, parent 5f2c… (stays)
    // get /price (shared)                 |=====================|                    pricing  5f2c… -> 36ed7dd4d7a54f0d
    // select price                            |==========|                           pricing, parent 5f2c… -> 36ed…
    // Input order: server half, its child, client half, root, timer.
    const tid = '0000000000000000463ac35c9f6413ad';
    const serverId = '36ed7dd4d7a54f0d';
    expect(sharedServerId(tid, '5f2c1a3b4d6e7f80', 'pricing@10.0.0.2:8080')).toBe(serverId);
    expect(spans.map(view)).toEqual([
      {
        traceId: tid,
        spanId: serverId,
        parentSpanId: '5f2c1a3b4d6e7f80',
        name: 'get /price',
        kind: 'server',
        service: 'pricing',
        host: '10.0.0.2',
        startNs: at(2000),
        endNs: at(6000),
        status: 'unset',
        attributes: { 'network.local.port': 8080, 'network.peer.address': '10.0.0.1', 'network.peer.port': 51234 },
      },
      {
        traceId: tid,
        spanId: '6a7b8c9d0e1f2a3b',
        parentSpanId: serverId,
        name: 'select price',
        kind: 'client',
        service: 'pricing',
        host: '10.0.0.2',
        startNs: at(2500),
        endNs: at(4500),
        status: 'unset',
        attributes: { 'peer.service': 'mysql', 'network.peer.address': '10.0.0.9', 'network.peer.port': 3306, 'db.statement': 'select * from price where sku = ?' },
      },
      { traceId: tid, spanId: '5f2c1a3b4d6e7f80', parentSpanId: '48485a3953bb6124', name: 'get /price', kind: 'client', service: 'frontend', host: '10.0.0.1', startNs: at(1000), endNs: at(7000), status: 'unset', attributes: { 'peer.service': 'pricing' } },
      { traceId: tid, spanId: '48485a3953bb6124', name: 'get /checkout', kind: 'server', service: 'frontend', host: '10.0.0.1', startNs: at(0), endNs: at(10000), status: 'unset', attributes: {} },
      { traceId: tid, spanId: '7c8d9e0f1a2b3c4d', parentSpanId: '5f2c1a3b4d6e7f80', name: 'retry timer', kind: 'internal', service: 'frontend', host: '10.0.0.1', startNs: at(1200), endNs: at(1300), status: 'unset', attributes: {} },
    ]);
    expect(spans[0]?.resource).toBe(spans[1]?.resource);
    expect(spans[0]?.resource.attributes).toEqual({ 'service.name': 'pricing', 'host.name': '10.0.0.2' });
    expect(spans.every((s) => s.source === src)).toBe(true);
    expect(diagTable(diag)).toEqual([
      ['zipkin_shared_split', 1, `shared-server-half.json@0: span 0 ("get /price"): shared server half of span 5f2c1a3b4d6e7f80 got span id ${serverId}`],
    ]);
  });

  it('pairs a shared half with children that arrive in a later value (line) of the same input', () => {
    const { ctx, spans } = collect('spans.jsonl');
    const half = { traceId: 'aa', id: 'b1', kind: 'SERVER', shared: true, name: 's', timestamp: 10, duration: 5, localEndpoint: { serviceName: 'back' } };
    const child = { traceId: 'aa', parentId: 'b1', id: 'c1', name: 'c', timestamp: 11, duration: 1, localEndpoint: { serviceName: 'back' } };
    const client = { traceId: 'aa', id: 'b1', kind: 'CLIENT', name: 's', timestamp: 9, duration: 7, localEndpoint: { serviceName: 'front' } };
    zipkinJson.handleValue([child], { file: 'spans.jsonl', line: 1 }, ctx);
    expect(spans).toEqual([]); // buffered until finish
    zipkinJson.handleValue(half, { file: 'spans.jsonl', line: 2 }, ctx);
    zipkinJson.handleValue(client, { file: 'spans.jsonl', line: 3 }, ctx);
    zipkinJson.finish?.(ctx);
    const tid = '000000000000000000000000000000aa';
    const serverId = sharedServerId(tid, '00000000000000b1', 'back@');
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.source.line])).toEqual([
      ['00000000000000c1', serverId, 1],
      [serverId, '00000000000000b1', 2],
      ['00000000000000b1', undefined, 3],
    ]);
    zipkinJson.finish?.(ctx); // a second finish emits nothing more
    expect(spans).toHaveLength(3);
  });

  it('keeps a span without duration at zero length, and skips spans without a timestamp', () => {
    const { spans, diag } = importFixture('missing-duration.json');
    // µs after T0          0    1000        5000
    // post /orders         |================|
    // send order-created        |             no duration: zero length at 1000
    const tid = '0af7651916cd43dd8448eb211c80319c';
    expect(spans.map(view)).toEqual([
      { traceId: tid, spanId: 'b7ad6b7169203331', name: 'post /orders', kind: 'server', service: 'orders', host: 'orders', startNs: at(0), endNs: at(5000), status: 'unset', attributes: {} },
      { traceId: tid, spanId: 'c7ad6b7169203332', parentSpanId: 'b7ad6b7169203331', name: 'send order-created', kind: 'producer', service: 'orders', host: 'orders', startNs: at(1000), endNs: at(1000), status: 'unset', attributes: {} },
    ]);
    expect(diagTable(diag)).toEqual([
      ['timestamp_invalid', 2, 'missing-duration.json@0: span 2 ("no timestamp"): timestamp is missing, so the span cannot be placed in time'],
      ['duration_missing', 1, 'missing-duration.json@0: span 1 ("send order-created"): no duration; kept with zero duration'],
    ]);
  });

  it('reads the list-of-traces shape, pads 64-bit trace ids and short span ids, and treats a zero parentId as none', () => {
    const { spans, diag } = importFixture('list-of-traces.json');
    // µs after T0      0    1000  2500 3000   ...   100000 100700
    // get /a           |=================|
    // compute               |=====|
    // on message (2nd trace)                        |======|
    expect(spans.map(view)).toEqual([
      { traceId: '00000000000000001234567890abcdef', spanId: '1000000000000001', name: 'get /a', kind: 'server', service: 'alpha', host: '2001:db8::1', startNs: at(0), endNs: at(3000), status: 'unset', attributes: {} },
      { traceId: '00000000000000001234567890abcdef', spanId: '1000000000000002', parentSpanId: '1000000000000001', name: 'compute', kind: 'internal', service: 'alpha', host: '2001:db8::1', startNs: at(1000), endNs: at(2500), status: 'unset', attributes: {} },
      { traceId: 'fedcba0987654321fedcba0987654321', spanId: '0000000000000abc', name: 'on message', kind: 'consumer', service: 'beta', host: 'beta', startNs: at(100000), endNs: at(100700), status: 'unset', attributes: {} },
    ]);
    expect(diag.size).toBe(0);
  });

  it('derives status from the error and otel.status_code tags', () => {
    const { spans, diag } = importFixture('error-tags.json');
    expect(spans.map((s) => [s.name, s.status, s.statusMessage, s.resource.service])).toEqual([
      ['empty error tag', 'error', undefined, 'svc'],
      ['error message', 'error', 'timeout after 3s', 'svc'],
      ['otel status', 'error', 'bad gateway', 'svc'],
      ['otel ok wins', 'ok', undefined, 'svc'],
      ['fine', 'unset', undefined, 'unknown_service'],
    ]);
    expect(spans[4]?.attributes).toEqual({ 'http.status_code': '200' });
    expect(diag.size).toBe(0);
  });

  it('counts and skips spans with empty or absurdly long ids, keeps the rest, and treats a bad parentId as a root', () => {
    const { spans, diag } = importFixture('invalid-ids.json');
    // µs after T0      0    2000 3000 4000 5000
    // root (c01)       |======================|
    // bad parent (c05)      |====|               kept as a root
    // child (c07)                |====|
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.name, s.startNs, s.endNs])).toEqual([
      ['0000000000000c01', undefined, 'root', at(0), at(5000)],
      ['0000000000000c05', undefined, 'bad parent', at(2000), at(3000)],
      ['0000000000000c07', '0000000000000c01', 'child', at(3000), at(4000)],
    ]);
    expect(diagTable(diag)).toEqual([
      ['id_invalid', 2, `invalid-ids.json@0: span 1 ("bad id"): id "${'x'.repeat(59)}… is longer than 256 characters`],
      ['record_invalid', 2, 'invalid-ids.json@0: span 3 ("no id"): id is missing, expected a string'],
      ['parent_id_invalid', 1, 'invalid-ids.json@0: span 4 ("bad parent"): parentId 3333 is not a string; kept as a root'],
    ]);
  });

  it('accepts one span object and rejects other values without throwing', () => {
    const { ctx, spans, diag } = collect('x.json');
    zipkinJson.handleValue({ traceId: '1', id: '2', name: 'solo', timestamp: 1700000000000000, duration: 3 }, { file: 'x.json', line: 1 }, ctx);
    zipkinJson.handleValue('nope', { file: 'x.json', line: 2 }, ctx);
    zipkinJson.finish?.(ctx);
    expect(spans.map((s) => [s.traceId, s.spanId, s.name, s.kind, s.resource.service, s.startNs, s.endNs])).toEqual([
      ['00000000000000000000000000000001', '0000000000000002', 'solo', 'internal', 'unknown_service', at(0), at(3)],
    ]);
    expect(diagTable(diag)).toEqual([['record_invalid', 1, 'x.json:2: expected an array of Zipkin spans or one span, found string "nope"']]);
  });

  it('streams: descends into the root and list-of-traces arrays, flushes each element, and gives the same spans', () => {
    expect(zipkinJson.descend([])).toBe(true);
    expect(zipkinJson.descend([3])).toBe(true);
    expect(zipkinJson.descend([3, 0])).toBe(false);
    expect(zipkinJson.descend([3, 'tags'])).toBe(false);
    expect(zipkinJson.flush([3])).toBe(true);
    expect(zipkinJson.flush([3, 0])).toBe(false);

    for (const name of ['shared-server-half.json', 'list-of-traces.json', 'missing-duration.json', 'invalid-ids.json', 'envoy-shared-root.json', 'fragments-of-one-span.json', 'shared-id-on-several-hosts.json', 'zipkin-v1.json', 'async-subtree-two-levels.json']) {
      const whole = importFixture(name);
      const { ctx, spans, diag } = collect(name);
      const reader = new JsonDocumentReader(zipkinJson, name, diag, (v, src) => zipkinJson.handleValue(v, src, ctx));
      const bytes = Buffer.from(fixtureText(name));
      for (let i = 0; i < bytes.length; i += 5) reader.push(bytes.subarray(i, i + 5));
      reader.end();
      zipkinJson.finish?.(ctx);
      expect(spans.map(view), name).toEqual(whole.spans.map(view));
      expect(diag.entries().map((e) => [e.code, e.count]), name).toEqual(whole.diag.entries().map((e) => [e.code, e.count]));
    }
  });
});
