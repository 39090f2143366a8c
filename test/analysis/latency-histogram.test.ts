// The latency histogram written from counts per bin (analysis/latency-histogram.ts) is, byte for
// byte, what hdr-histogram-js encodes after recording the same values one by one, and its bins
// are the library's.
import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { encodeSorted, hdrBin, hdrBinLowest } from '../../analysis/latency-histogram.js';

function library(values: readonly number[]): string {
  const h = hdr.build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  for (const v of values) h.recordValue(v);
  const s = hdr.encodeIntoCompressedBase64(h);
  h.destroy();
  return s;
}

/** The library's own index and lowest value of an index (not in its typings). */
const probe = hdr.build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, useWebAssembly: false }) as unknown as { countsArrayIndex(v: number): number; valueFromIndex(i: number): number };

/** Integers of every magnitude up to 2^53 - 1, powers of two and their neighbours included. */
const valueArb = fc.oneof(
  fc.integer({ min: 0, max: 4096 }),
  fc.integer({ min: 0, max: 52 }).chain((k) => fc.constantFrom(2 ** k - 1, 2 ** k, 2 ** k + 1)),
  fc.integer({ min: 0, max: 53 }).chain((k) => fc.integer({ min: 0, max: 2 ** k - 1 })),
  fc.constant(Number.MAX_SAFE_INTEGER),
);

describe('latency histogram', () => {
  it('bins and their lowest values are the library’s', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const bin = hdrBin(v);
        expect(bin).toBe(probe.countsArrayIndex(v));
        expect(hdrBinLowest(bin)).toBe(probe.valueFromIndex(bin));
        expect(hdrBin(hdrBinLowest(bin))).toBe(bin);
      }),
      { numRuns: 20_000 },
    );
  });

  it('encodes exactly as the library, values recorded one by one in any order', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 400 }), (values, repeat) => {
        // Repeated values give counts of several LEB128 bytes.
        const all = [...values, ...Array.from({ length: repeat }, () => values[0] ?? 0)];
        expect(encodeSorted(Float64Array.from(all).sort())).toBe(library(all));
      }),
      { numRuns: 500 },
    );
    for (const all of [[0], [1], [2047], [2048], [0, 0, 0], [Number.MAX_SAFE_INTEGER], Array.from({ length: 100_000 }, (_, i) => i % 7)]) {
      expect(encodeSorted(Float64Array.from(all).sort())).toBe(library(all));
    }
  });
});
