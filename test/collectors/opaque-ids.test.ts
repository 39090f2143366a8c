// Ids that are not hex (Jaeger UI's fixtures use `trace-123`, `span-A`): accepted as opaque
// strings mapped to stable hex ids, so references still resolve; one info diagnostic; only
// empty, all-zero or absurdly long ids are refused.
import { describe, expect, it } from 'vitest';
import { jaegerJson } from '../../collectors/jaeger.js';
import { zipkinJson } from '../../collectors/zipkin.js';
import { MAX_OPAQUE_ID_LENGTH, normalizeTextId, opaqueId } from '../../src/model/ids.js';
import { traceIdOpt } from '../../src/cli/options.js';
import { at, collect, fixtureText } from '../helpers/collect.js';

describe('opaque (non-hex) ids', () => {
  it('maps Jaeger UI fixture ids to stable hex ids and keeps the references between them', () => {
    const { ctx, spans, diag } = collect('opaque-ids.json');
    jaegerJson.handleValue(JSON.parse(fixtureText('jaeger', 'opaque-ids.json')), { file: 'opaque-ids.json', offset: 0 }, ctx);
    // µs after T0   0    1000      4000 4500 5000 5500
    // op A          |===================|            span-A
    // op B               |==========|                span-B, CHILD_OF span-A
    // op C                               |=====|      span-C, FOLLOWS_FROM span-B
    const tid = opaqueId('trace-123', 16);
    const [a, b, c] = ['span-A', 'span-B', 'span-C'].map((s) => opaqueId(s, 8));
    expect(tid).toMatch(/^[0-9a-f]{32}$/);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(spans.map((s) => [s.traceId, s.spanId, s.parentSpanId, s.parentRef, s.name, s.startNs, s.endNs])).toEqual([
      [tid, a, undefined, undefined, 'op A', at(0), at(5000)],
      [tid, b, a, 'child-of', 'op B', at(1000), at(4000)],
      [tid, c, b, 'follows-from', 'op C', at(4500), at(5500)],
    ]);
    expect(diag.entries().map((e) => [e.code, e.severity, e.count, e.example])).toEqual([
      ['id_opaque', 'info', 3, `opaque-ids.json@0: span 0 ("op A") of trace "trace-123": traceID "trace-123" -> ${tid}, spanID "span-A" -> ${a}`],
    ]);
    // --trace-id and --trace take the id as the file writes it.
    expect(traceIdOpt('trace-123', true)).toBe(tid);
  });

  it('maps Zipkin ids the same way, parentId included', () => {
    const { ctx, spans, diag } = collect('z.json');
    zipkinJson.handleValue(
      [
        { traceId: 'trace-123', id: 'span-A', name: 'a', timestamp: 1700000000000000, duration: 10 },
        { traceId: 'trace-123', id: 'span-B', parentId: 'span-A', name: 'b', timestamp: 1700000000000002, duration: 5 },
      ],
      { file: 'z.json', offset: 0 },
      ctx,
    );
    zipkinJson.finish?.(ctx);
    expect(spans.map((s) => [s.traceId, s.spanId, s.parentSpanId])).toEqual([
      [opaqueId('trace-123', 16), opaqueId('span-A', 8), undefined],
      [opaqueId('trace-123', 16), opaqueId('span-B', 8), opaqueId('span-A', 8)],
    ]);
    expect(diag.entries().map((e) => [e.code, e.count])).toEqual([['id_opaque', 2]]);
  });

  it('keeps hex ids as they were, and refuses only empty, all-zero or absurdly long ones', () => {
    expect(normalizeTextId('ABC', 8)).toEqual({ ok: true, id: '0000000000000abc', opaque: false });
    expect(normalizeTextId('span-A', 8)).toEqual({ ok: true, id: opaqueId('span-A', 8), opaque: true });
    expect(normalizeTextId('', 8)).toEqual({ ok: false, problem: 'empty' });
    expect(normalizeTextId('0000', 8)).toEqual({ ok: false, problem: 'zero' });
    expect(normalizeTextId('x'.repeat(MAX_OPAQUE_ID_LENGTH), 8).ok).toBe(true);
    expect(normalizeTextId('x'.repeat(MAX_OPAQUE_ID_LENGTH + 1), 8)).toEqual({ ok: false, problem: 'too-long' });
    // Stable across runs: a fixed value, not only a fixed function.
    expect(opaqueId('span-A', 8)).toBe(opaqueId('span-A', 8));
    expect(opaqueId('span-A', 8)).not.toBe(opaqueId('span-a', 8));
  });
});
