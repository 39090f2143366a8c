// The typed-array sorting and merging of the endpoint index's cells (analysis/sorted-merge.ts)
// and the exact order statistics across sorted runs (analysis/sorted-runs.ts), against plain sorts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeRuns, sortRange } from '../../analysis/sorted-merge.js';
import { binCounts, binsOf, Scratch, valuesAtRanks, type Run } from '../../analysis/sorted-runs.js';

const valueArb = fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.constantFrom(0, 2047, 2048, 1e9));
const ascending = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

describe('sorted-merge', () => {
  it('sortRange sorts the range only, small (insertion) and large (builtin)', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 200 }), fc.nat(), fc.nat(), (xs, p, q) => {
        const a = Float64Array.from(xs);
        const from = xs.length === 0 ? 0 : p % xs.length;
        const to = from + (xs.length - from === 0 ? 0 : q % (xs.length - from + 1));
        sortRange(a, from, to);
        expect([...a]).toEqual([...xs.slice(0, from), ...ascending(xs.slice(from, to)), ...xs.slice(to)]);
      }),
    );
  });

  it('mergeRuns merges any number of sorted runs in place', () => {
    fc.assert(
      fc.property(fc.array(fc.array(valueArb, { maxLength: 40 }), { minLength: 1, maxLength: 40 }), fc.array(valueArb, { maxLength: 5 }), (runs, prefix) => {
        const sorted = runs.map(ascending);
        const a = Float64Array.from([...prefix, ...sorted.flat(), 7]);
        const starts: number[] = [];
        let at = prefix.length;
        for (const r of sorted) {
          starts.push(at);
          at += r.length;
        }
        mergeRuns(a, prefix.length, at, starts);
        expect([...a]).toEqual([...prefix, ...ascending(sorted.flat()), 7]);
      }),
    );
  });
});

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
