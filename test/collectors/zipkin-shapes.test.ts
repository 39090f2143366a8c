// Golden tests for the shapes real Zipkin data has and Zipkin itself reads right (issue 14):
// an Envoy-style shared root without its client half, a span reported in fragments, one shared
// server id on several hosts, and Zipkin v1 JSON. Fixtures written by hand in
// test/fixtures/zipkin/, named after the shape.
import { describe, expect, it } from 'vitest';
import { endpointLabel, sharedServerId, zipkinJson } from '../../collectors/zipkin.js';
import type { Diagnostics } from '../../src/model/diagnostics.js';
import type { SourceRef, SpanInput } from '../../src/model/span.js';
import { T0, collect, fixtureText } from '../helpers/collect.js';

function importFixture(name: string): { spans: SpanInput[]; diag: Diagnostics } {
  const { ctx, spans, diag } = collect(name);
  const src: SourceRef = { file: name, offset: 0 };
  zipkinJson.handleValue(JSON.parse(fixtureText('zipkin', name)), src, ctx);
  zipkinJson.finish?.(ctx);
  return { spans, diag };
}

/** `spanId < parent kind "name" service@host +startµs durationµs status {attributes}`, µs after T0. */
function row(s: SpanInput): string {
  const us = (ns: bigint): string => String(Number(ns) / 1000);
  const attrs = Object.keys(s.attributes).length > 0 ? ` ${JSON.stringify(s.attributes)}` : '';
  return `${s.spanId} < ${s.parentSpanId ?? '-'} ${s.kind} "${s.name}" ${s.resource.service}@${s.resource.host} +${us(s.startNs - T0)}µs ${us(s.endNs - s.startNs)}µs ${s.status}${attrs}`;
}

function diagTable(diag: Diagnostics): [string, number, string | undefined][] {
  return diag.entries().map((e) => [e.code, e.count, e.example]);
}

describe('zipkin importer on the shapes of real data', () => {
  it('an Envoy-style shared root without its client half keeps its id, so its children find it', () => {
    const { spans, diag } = importFixture('envoy-shared-root.json');
    // µs after T0       0    1000 1500          6500 7000 8000 9000 10000      20000 20300
    // ingress /users    |==============================================|      envoy, shared SERVER, no client half: keeps 6b22…
    // get /users             |========================|                      envoy CLIENT 7c33…
    // get /users (shared)         |==================|                       users: client half present -> synthesised id
    // access log                                         |====|               envoy, child of 6b22…
    // ingress /health (2nd trace, a single shared span)                       |==|  keeps a1b2…
    const tid = '00000000000000005af7183fb1d4cf5f';
    const usersHalf = sharedServerId(tid, '7c332e6cdaf75a7d', 'users@10.1.0.2');
    expect(spans.map(row)).toEqual([
      '6b221d5bc9e6496c < - server "ingress /users" envoy@10.1.0.1 +0µs 10000µs unset {"http.method":"GET"}',
      '7c332e6cdaf75a7d < 6b221d5bc9e6496c client "get /users" envoy@10.1.0.1 +1000µs 6000µs unset',
      `${usersHalf} < 7c332e6cdaf75a7d server "get /users" users@10.1.0.2 +1500µs 5000µs unset`,
      '8d443f7debf86b8e < 6b221d5bc9e6496c internal "access log" envoy@10.1.0.1 +8000µs 1000µs unset',
      'a1b2c3d4e5f60718 < - server "ingress /health" envoy@10.1.0.1 +20000µs 300µs unset',
    ]);
    expect(diagTable(diag)).toEqual([['zipkin_shared_split', 1, `envoy-shared-root.json@0: span 2 of trace 0 ("get /users"): shared server half of span 7c332e6cdaf75a7d got span id ${usersHalf}`]]);
  });

  it('merges the fragments of one span as Zipkin does, instead of dropping the ones without a timestamp', () => {
    const { spans, diag } = importFixture('fragments-of-one-span.json');
    // Reported in three pieces: [name, tags] + [timestamp 0, annotation] + [duration 8000, tags].
    // µs after T0      0    2000       5000      8000
    // post /install    |=========================|      merged: timestamp from piece 2, duration from piece 3
    // download              |==========|                 child
    expect(spans.map(row)).toEqual([
      '0a1b2c3d4e5f6071 < - server "post /install" installer@10.2.0.1 +0µs 8000µs unset {"phase":"start","http.status_code":"201","http.method":"POST"}',
      '1b2c3d4e5f607182 < 0a1b2c3d4e5f6071 client "download" installer@10.2.0.1 +2000µs 3000µs unset',
    ]);
    expect(diagTable(diag)).toEqual([['zipkin_fragments_merged', 2, 'fragments-of-one-span.json@0: span 0 ("post /install"): span 0a1b2c3d4e5f6071 of trace 00000000000000003c9f1e2d4b5a6978 was reported in 3 pieces, merged into one']]);
  });

  it('keeps one shared server id on several hosts as several spans, each with its own children, and says so', () => {
    const { spans, diag } = importFixture('shared-id-on-several-hosts.json');
    // µs after T0       0   1000 1100 1200 1300 1400      2400 2500 2700 2900 3000  4000
    // post /notify      |==========================================================|   api c0c0…
    // push                  |==========================================|              api CLIENT d1d1…
    // pusher @10.3.0.13          |=========================|                          shared half -> id from its endpoint
    // pusher @10.3.0.11               |==========================|
    // pusher @10.3.0.12                    |============================|
    // send apns @10.3.0.12                      |==========|                          child of the .12 half only
    const tid = '00000000000000004d5e6f708192a3b4';
    const half = (ip: string): string => sharedServerId(tid, 'd1d1d1d1d1d1d1d1', `pusher@${ip}`);
    expect(new Set(['10.3.0.11', '10.3.0.12', '10.3.0.13'].map(half)).size).toBe(3);
    expect(spans.map(row)).toEqual([
      'c0c0c0c0c0c0c0c0 < - server "post /notify" api@10.3.0.1 +0µs 4000µs unset',
      'd1d1d1d1d1d1d1d1 < c0c0c0c0c0c0c0c0 client "push" api@10.3.0.1 +1000µs 2000µs unset',
      `${half('10.3.0.11')} < d1d1d1d1d1d1d1d1 server "pusher" pusher@10.3.0.11 +1200µs 1500µs unset`,
      `${half('10.3.0.12')} < d1d1d1d1d1d1d1d1 server "pusher" pusher@10.3.0.12 +1300µs 1600µs unset`,
      `${half('10.3.0.13')} < d1d1d1d1d1d1d1d1 server "pusher" pusher@10.3.0.13 +1100µs 1400µs unset`,
      `e2e2e2e2e2e2e2e2 < ${half('10.3.0.12')} internal "send apns" pusher@10.3.0.12 +1400µs 1000µs unset`,
    ]);
    expect(diagTable(diag)).toEqual([
      ['zipkin_shared_hosts', 3, 'shared-id-on-several-hosts.json@0: span 2 ("pusher"): span id d1d1d1d1d1d1d1d1 is a shared server half on 3 local endpoints (pusher@10.3.0.11, pusher@10.3.0.12, pusher@10.3.0.13); kept as 3 spans'],
      ['zipkin_shared_split', 3, `shared-id-on-several-hosts.json@0: span 2 ("pusher"): shared server half of span d1d1d1d1d1d1d1d1 got span id ${half('10.3.0.11')}`],
    ]);
  });

  it('without the client half, several shared halves of one id keep their own parent', () => {
    const { ctx, spans, diag } = collect('x.json');
    const half = (ip: string, ts: number): Record<string, unknown> => ({ traceId: 'a1', parentId: 'b0', id: 'c1', kind: 'SERVER', shared: true, name: 'consume', timestamp: 1700000000000000 + ts, duration: 10, localEndpoint: { serviceName: 'worker', ipv4: ip } });
    zipkinJson.handleValue([{ traceId: 'a1', id: 'b0', kind: 'PRODUCER', name: 'publish', timestamp: 1700000000000000, duration: 5 }, half('10.0.0.1', 20), half('10.0.0.2', 30)], { file: 'x.json', offset: 0 }, ctx);
    zipkinJson.finish?.(ctx);
    const tid = '000000000000000000000000000000a1';
    expect(spans.map((s) => [s.spanId, s.parentSpanId])).toEqual([
      ['00000000000000b0', undefined],
      [sharedServerId(tid, '00000000000000c1', 'worker@10.0.0.1'), '00000000000000b0'],
      [sharedServerId(tid, '00000000000000c1', 'worker@10.0.0.2'), '00000000000000b0'],
    ]);
    expect(diagTable(diag).map(([c, n]) => [c, n])).toEqual([['zipkin_shared_hosts', 2]]);
  });

  it('reads Zipkin v1 JSON: core annotations give kind, times and endpoints; a client + server span splits', () => {
    const { spans, diag } = importFixture('zipkin-v1.json');
    // µs after T0        0    1000 1500 2000 4000   6500 7000   9000
    // get /              |=======================================|   web SERVER (sr/ss, owns its timestamp)
    // get /profile            |=========================|           web CLIENT (cs/cr)
    // get /profile (sr/ss)         |===============|               profile, shared SERVER -> synthesised id
    // render                            |=====|                     profile, local span (lc), child of the server half
    const tid = '00000000000000006f7a8b9c0d1e2f30';
    const profileHalf = sharedServerId(tid, 'a1a2a3a4a5a6a7a8', 'profile@10.4.0.2');
    expect(spans.map(row)).toEqual([
      'f0e1d2c3b4a59687 < - server "get /" web@10.4.0.1 +0µs 9000µs unset {"network.local.port":80,"network.peer.address":"192.0.2.7","network.peer.port":50000,"http.path":"/"}',
      'a1a2a3a4a5a6a7a8 < f0e1d2c3b4a59687 client "get /profile" web@10.4.0.1 +1000µs 6000µs error {"peer.service":"profile","network.peer.address":"10.4.0.2","network.peer.port":8080,"error":"timeout"}',
      `${profileHalf} < a1a2a3a4a5a6a7a8 server "get /profile" profile@10.4.0.2 +1500µs 5000µs unset {"http.path":"/profile"}`,
      `b1b2b3b4b5b6b7b8 < ${profileHalf} internal "render" profile@10.4.0.2 +2000µs 2000µs unset {"lc":"templates"}`,
    ]);
    expect(spans[1]?.statusMessage).toBe('timeout');
    expect(diagTable(diag)).toEqual([
      ['zipkin_shared_split', 1, `zipkin-v1.json@0: span 1 ("get /profile"): shared server half of span a1a2a3a4a5a6a7a8 got span id ${profileHalf}`],
      ['zipkin_v1_converted', 3, 'zipkin-v1.json@0: span 0 ("get /"): v1 span with sr, ss -> SERVER'],
    ]);
  });

  it('merges v1 pieces of one span (cs, then cr, then the server side) into a client span and its shared server half', () => {
    // µs after T0   0    100            900 1000
    // call          |=====================|      web: cs at 0 in piece 1, cr at 1000 in piece 2 (no span timestamp: v1 clients in pieces)
    // call (srv)         |=============|         api: sr 100, ss 900, piece 3
    const { ctx, spans, diag } = collect('v1.json');
    const web = { serviceName: 'web', ipv4: '10.6.0.1' };
    const api = { serviceName: 'api', ipv4: '10.6.0.2' };
    const piece = (anns: [number, string, Record<string, string>][]): Record<string, unknown> => ({
      traceId: 'f1',
      id: 'e1',
      name: 'call',
      annotations: anns.map(([t, value, endpoint]) => ({ timestamp: 1700000000000000 + t, value, endpoint })),
      binaryAnnotations: [],
    });
    zipkinJson.handleValue([piece([[0, 'cs', web]]), piece([[1000, 'cr', web]]), piece([[100, 'sr', api], [900, 'ss', api]])], { file: 'v1.json', offset: 0 }, ctx);
    zipkinJson.finish?.(ctx);
    const tid = '000000000000000000000000000000f1';
    expect(spans.map(row)).toEqual([
      '00000000000000e1 < - client "call" web@10.6.0.1 +0µs 1000µs unset',
      `${sharedServerId(tid, '00000000000000e1', 'api@10.6.0.2')} < 00000000000000e1 server "call" api@10.6.0.2 +100µs 800µs unset`,
    ]);
    expect(diagTable(diag).map(([c, n]) => [c, n])).toEqual([
      ['zipkin_fragments_merged', 1],
      ['zipkin_shared_split', 1],
      ['zipkin_v1_converted', 3],
    ]);
  });

  it('merges a piece without a local endpoint into the one piece of that span that has one', () => {
    // µs after T0   0         500
    // work          |==========|   piece 1: svc, timestamp, no duration; piece 2: no endpoint, duration 500
    const { ctx, spans, diag } = collect('e.json');
    zipkinJson.handleValue(
      [
        { traceId: 'ab', id: 'cd', name: 'work', timestamp: 1700000000000000, localEndpoint: { serviceName: 'svc' } },
        { traceId: 'ab', id: 'cd', duration: 500, tags: { done: 'yes' } },
      ],
      { file: 'e.json', offset: 0 },
      ctx,
    );
    zipkinJson.finish?.(ctx);
    expect(spans.map(row)).toEqual(['00000000000000cd < - internal "work" svc@svc +0µs 500µs unset {"done":"yes"}']);
    expect(diagTable(diag).map(([c, n]) => [c, n])).toEqual([['zipkin_fragments_merged', 1]]);
  });

  it('counts an exact resend of a span as a duplicate, not as a fragment', () => {
    const { ctx, spans, diag } = collect('r.json');
    const s = { traceId: 'ab', id: 'cd', name: 'x', timestamp: 1700000000000000, duration: 10, localEndpoint: { serviceName: 'svc' } };
    zipkinJson.handleValue([s, s], { file: 'r.json', offset: 0 }, ctx);
    zipkinJson.finish?.(ctx);
    expect(spans).toHaveLength(1);
    expect(diagTable(diag)).toEqual([['span_duplicate', 1, 'r.json@0: span 1 ("x"): span 00000000000000cd of trace 000000000000000000000000000000ab repeats an earlier one in the same record; the first was kept']]);
  });

  it('names the endpoint of a shared half as service@ip:port', () => {
    expect(endpointLabel({ serviceName: 'a', ipv4: '10.0.0.1', port: 80 })).toBe('a@10.0.0.1:80');
    expect(endpointLabel({ serviceName: 'a', ipv6: '::1' })).toBe('a@::1');
    expect(endpointLabel(undefined)).toBe('@');
  });
});

describe('Zipkin v1 through the dispatcher', () => {
  it('is recognised as zipkin by its content and read like the direct import', async () => {
    const { importPath } = await import('../helpers/import.js');
    const got = await importPath(new URL('../fixtures/zipkin/zipkin-v1.json', import.meta.url).pathname);
    expect(got.summary).toMatchObject({ format: 'zipkin', detectedBy: 'content', spans: 4 });
    expect(got.spans.map(row)).toEqual(importFixture('zipkin-v1.json').spans.map(row));
  });
});
