// Golden tests of the Mann-Whitney U test. Expected values: scipy 1.17.1,
// scipy.stats.mannwhitneyu(x, y, alternative='two-sided', method='asymptotic',
// use_continuity=True), run on this machine; the first case is also worked by hand below.
import { describe, expect, it } from 'vitest';
import { erfc, mannWhitneyU } from '../../analysis/mann-whitney.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('mannWhitneyU', () => {
  it('a small textbook case, by hand and by scipy', () => {
    // Combined and ranked: 11y 12y 16x 17y 19x 20y 22x 24x 29x -> ranks of x: 3 5 7 8 9, R1 = 32,
    // U1 = 32 - 5·6/2 = 17. mu = 5·4/2 = 10, sigma² = 5·4·10/12 = 16.667 (no ties),
    // z = (17 - 10 - 0.5) / 4.0825 = 1.5922, p = 2·(1 - Φ(1.5922)) = 0.11135.
    const r = mannWhitneyU([19, 22, 16, 29, 24], [20, 11, 17, 12]);
    expect(r.u).toBe(17);
    expect(r.z).toBeCloseTo(1.5922, 4);
    expect(r.pValue).toBeCloseTo(0.11134688653314041, 6);
  });

  it('ties: mid-ranks and the tie-corrected variance (scipy: U 11, p 0.04988443697992588)', () => {
    const r = mannWhitneyU([1, 2, 2, 3, 3, 3, 4], [2, 3, 3, 4, 4, 5, 5, 6]);
    expect(r.u).toBe(11);
    expect(r.pValue).toBeCloseTo(0.04988443697992588, 6);
  });

  it('a clear shift (scipy: U 50, p 3.479739872462848e-09)', () => {
    const r = mannWhitneyU(range(1, 31), range(21, 51));
    expect(r.u).toBe(50);
    expect(r.pValue / 3.479739872462848e-9).toBeCloseTo(1, 5);
  });

  it('complete separation, far tail (scipy: U 0, p 1.435085306393668e-14)', () => {
    const r = mannWhitneyU(range(0, 40), range(100, 140));
    expect(r.u).toBe(0);
    expect(r.pValue / 1.435085306393668e-14).toBeCloseTo(1, 5);
  });

  it('the same values in another order: U = n1·n2/2, p = 1 (scipy: U 4.5, p 1.0)', () => {
    const r = mannWhitneyU([5, 1, 3], [3, 5, 1]);
    expect(r.u).toBe(4.5);
    expect(r.pValue).toBe(1);
  });

  it('degenerate inputs: an empty side, or every value tied, give p = 1', () => {
    expect(mannWhitneyU([], [1, 2]).pValue).toBe(1);
    expect(mannWhitneyU([7, 7, 7], [7, 7]).pValue).toBe(1);
  });

  it('is symmetric: swapping the samples gives U2 = n1·n2 - U1 and the same p', () => {
    const x = [3.1, 4.7, 2.2, 8.9, 5.5, 5.5];
    const y = [6.1, 7.7, 5.5, 9.9, 8.8];
    const a = mannWhitneyU(x, y);
    const b = mannWhitneyU(y, x);
    expect(a.u + b.u).toBe(x.length * y.length);
    expect(a.pValue).toBe(b.pValue);
  });

  it('handles 100k values per side quickly, with heavy ties', () => {
    const n = 100_000;
    // Whole-microsecond latencies (many ties), the second sample 1% slower.
    const x = Float64Array.from({ length: n }, (_, i) => 40_000 + ((i * 7919) % 5000));
    const y = Float64Array.from({ length: n }, (_, i) => 40_400 + ((i * 104729) % 5000));
    const t0 = performance.now();
    const r = mannWhitneyU(x, y);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.pValue).toBeLessThan(1e-12);
    const same = mannWhitneyU(x, Float64Array.from(x).reverse());
    expect(same.pValue).toBe(1);
    expect(same.u).toBe((n * n) / 2);
  });
});

describe('erfc', () => {
  it('matches reference values to 1.2e-7 relative', () => {
    // Reference values: Python 3 math.erfc (correctly rounded libm).
    const ref: [number, number][] = [
      [0, 1],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [2, 0.004677734981047265],
      [4, 1.541725790028002e-8],
      [-1, 1.842700792949715],
    ];
    for (const [x, v] of ref) expect(Math.abs(erfc(x) / v - 1)).toBeLessThan(1.2e-7);
  });
});
