// The exact order statistics across sorted runs (analysis/sorted-runs.ts) that the endpoint
// index's percentiles use, against a plain sort.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binCounts, binsOf, Scratch, valuesAtRanks, type Run } from '../../analysis/sorted-runs.js';

const valueArb = fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.constantFrom(0, 2047, 2048, 1e9));
const ascending = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

describe('sorted-runs', () => {
  it('valuesAtRanks is the k-th value of the runs together, for any shift', () => {
    fc.assert(
      fc.property(fc.array(fc.array(valueArb, { minLength: 0, maxLength: 60 }), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 6 }), (raw, picks, shift) => {
        const all = ascending(raw.flat());
        fc.pre(all.length > 0);
        const runs: Run[] = raw.map((xs) => {
          const values = Float64Array.from(ascending(xs));
          return { values, bins: binsOf(values), from: 0, to: values.length };
        });
        const ranks = picks.map((p) => 1 + (p % all.length));
        expect(valuesAtRanks(runs, ranks, binCounts(runs, shift, new Scratch()))).toEqual(ranks.map((r) => all[r - 1]));
      }),
    );
  });
});
