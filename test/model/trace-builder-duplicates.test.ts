// The builder keeps the first of two spans with the same trace and span id; its message names
// both places, and never one place twice (two copies inside one record).
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner, type SourceRef, type SpanInput } from '../../src/model/span.js';
import { TraceSetBuilder } from '../../src/model/trace-builder.js';

const resource = new ResourceInterner().intern({ 'service.name': 'svc' });
const span = (spanId: string, source: SourceRef): SpanInput => ({
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId,
  name: 'op',
  kind: 'server',
  startNs: 1_000n,
  endNs: 2_000n,
  status: 'unset',
  attributes: {},
  resource,
  source,
});

function duplicates(spans: readonly SpanInput[]): [number, string | undefined] {
  const diag = new Diagnostics();
  const b = new TraceSetBuilder(diag);
  for (const s of spans) b.add(s);
  expect(b.build().spanCount).toBe(1);
  const e = diag.entries().find((d) => d.code === 'span_duplicate');
  return [e?.count ?? 0, e?.example];
}

describe('span_duplicate', () => {
  it('names where the first copy was when it came from elsewhere', () => {
    expect(duplicates([span('b7ad6b7169203331', { file: 'a.jsonl', line: 1 }), span('b7ad6b7169203331', { file: 'a.jsonl', line: 7 })])).toEqual([
      1,
      'a.jsonl:7: span b7ad6b7169203331 of trace 0af7651916cd43dd8448eb211c80319c repeats the one at a.jsonl:1; the first was kept',
    ]);
  });

  it('says "in the same record" instead of naming its own location as the first copy', () => {
    const src: SourceRef = { file: 'trace.json', offset: 0 };
    expect(duplicates([span('b7ad6b7169203331', src), span('b7ad6b7169203331', src)])).toEqual([
      1,
      'trace.json@0: span b7ad6b7169203331 of trace 0af7651916cd43dd8448eb211c80319c repeats an earlier one in the same record; the first was kept',
    ]);
  });
});
