// Inputs `npm run fuzz` (test/fuzz/) found to throw out of an importer or the OTLP request
// decoder, cut down by hand: each must now be read with a diagnostic, not an exception.
import { describe, expect, it } from 'vitest';
import { decodeExportRequest } from '../../collectors/otlp-request.js';
import { ResourceInterner } from '../../src/model/span.js';
import { importBytes } from '../helpers/import.js';

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

describe('inputs the fuzzer found', () => {
  it('OTLP/JSON: a time that is an object with a "toString" key (String() threw while writing the diagnostic)', async () => {
    const doc = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE, spanId: SPAN, name: 'x', startTimeUnixNano: { toString: 'peer.service' }, endTimeUnixNano: '1764151200004000000' }] }] }] };
    const text = JSON.stringify(doc);
    for (const name of ['t.otlp.json', 't.jsonl']) {
      const r = await importBytes(name.endsWith('.jsonl') ? `${text}\n${text}\n` : text, name);
      expect(r.spans).toEqual([]);
      expect(r.diagnostics.find((d) => d.code === 'timestamp_invalid')?.example).toMatch(/startTimeUnixNano \{"toString":"peer.service"\} \/ endTimeUnixNano 1764151200004000000 is not a valid time/);
    }
    const decoded = decodeExportRequest(Buffer.from(text), 'json', 'http test', new ResourceInterner());
    expect(decoded).toMatchObject({ ok: true, rejected: 1 });
  });

  it('Jaeger and Zipkin: microseconds near Number.MAX_VALUE (BigInt(Infinity) threw)', async () => {
    const jaeger = (start: number, duration: number): string =>
      JSON.stringify({ data: [{ traceID: TRACE, spans: [{ traceID: TRACE, spanID: SPAN, operationName: 'x', startTime: start, duration, processID: 'p1', tags: [] }], processes: { p1: { serviceName: 's' } } }] });
    const zipkin = (timestamp: number, duration: number): string => JSON.stringify([{ traceId: TRACE, id: SPAN, name: 'x', timestamp, duration, localEndpoint: { serviceName: 's' } }]);
    for (const [text, name] of [
      [jaeger(1.7976931348623157e308, 5), 'j.json'],
      [jaeger(1795168800502000, 1.7976931348623157e308), 'j.json'],
      [jaeger(1795168800502000, -1.7976931348623157e308), 'j.json'],
      [zipkin(1.7976931348623157e308, 5), 'z.json'],
      [zipkin(1795168800502000, 1e306), 'z.json'],
    ] as const) {
      const r = await importBytes(text, name);
      expect(r.spans, text).toEqual([]);
      expect(r.diagnostics.map((d) => d.code), text).toContain('timestamp_invalid');
    }
  });
});

describe('attributes called "__proto__" (found by the fuzzer\'s model check)', () => {
  it('stay attributes, in OTLP/JSON, protobuf and kvlist values, and do not change the object\'s prototype', async () => {
    const attrs = [
      { key: '__proto__', value: { kvlistValue: { values: [{ key: 'polluted', value: { stringValue: 'yes' } }, { key: '__proto__', value: { stringValue: 'inner' } }] } } },
      { key: 'after', value: { stringValue: 'kept' } },
    ];
    const req = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: '__proto__', value: { stringValue: 'res' } }] }, scopeSpans: [{ spans: [{ traceId: TRACE, spanId: SPAN, name: 'x', startTimeUnixNano: '1764151200000000000', endTimeUnixNano: '1764151200000001000', attributes: attrs }] }] }] };
    const text = JSON.stringify(req);
    const { ExportTraceServiceRequest } = await import('../../collectors/otlp-schema.js');
    const hex = (h: string): Buffer => Buffer.from(h, 'hex');
    const proto = Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({ resourceSpans: [{ ...req.resourceSpans[0], scopeSpans: [{ spans: [{ ...req.resourceSpans[0]?.scopeSpans[0]?.spans[0], traceId: hex(TRACE), spanId: hex(SPAN) }] }] }] })).finish());
    const results = [(await importBytes(text, 'p.otlp.json')).spans, (await importBytes(proto, 'p.pb')).spans];
    for (const [body, enc] of [[Buffer.from(text), 'json'], [proto, 'protobuf']] as const) {
      const d = decodeExportRequest(body, enc, 'http test', new ResourceInterner());
      if (d.ok) results.push(d.spans);
    }
    expect(results).toHaveLength(4);
    for (const spans of results) {
      const a = spans[0]?.attributes ?? {};
      expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
      expect(Object.keys(a)).toEqual(['__proto__', 'after']);
      const inner = Object.getOwnPropertyDescriptor(a, '__proto__')?.value as Record<string, unknown>;
      expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
      expect(Object.keys(inner)).toEqual(['polluted', '__proto__']);
      expect('polluted' in a).toBe(false);
    }
  });
});
