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
