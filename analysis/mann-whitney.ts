// Mann-Whitney U test (Wilcoxon rank-sum), two-sided, normal approximation with tie correction
// and continuity correction: the same numbers as scipy.stats.mannwhitneyu(x, y,
// alternative='two-sided', method='asymptotic', use_continuity=True). A rank test because
// latency distributions are skewed and heavy-tailed: it assumes no shape, and one 10 s outlier
// weighs no more than any other slow request. Iterative, O(n log n): both samples are sorted
// natively and merged, so 100k values per side take milliseconds.

export interface MannWhitneyResult {
  /** U of the first sample: the number of (x, y) pairs with x > y, ties counting one half. */
  readonly u: number;
  /** Standardised statistic (with the continuity correction), 0 when there is no spread. */
  readonly z: number;
  /** Two-sided p-value, 0..1. 1 when either sample is empty or every value is tied. */
  readonly pValue: number;
}

export function mannWhitneyU(x: ArrayLike<number>, y: ArrayLike<number>): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, pValue: 1 };
  const a = Float64Array.from(x).sort();
  const b = Float64Array.from(y).sort();
  // Walk both sorted samples together; each run of equal values gets the mean of its ranks.
  let i = 0;
  let j = 0;
  let pos = 0; // values already ranked
  let rankSumX = 0;
  let tieTerm = 0; // Σ (t³ - t) over tie groups
  while (i < n1 || j < n2) {
    const va = i < n1 ? (a[i] ?? Infinity) : Infinity;
    const vb = j < n2 ? (b[j] ?? Infinity) : Infinity;
    const v = va < vb ? va : vb;
    let cx = 0;
    while (i < n1 && a[i] === v) {
      i++;
      cx++;
    }
    let cy = 0;
    while (j < n2 && b[j] === v) {
      j++;
      cy++;
    }
    const t = cx + cy;
    if (t === 0) break; // NaN in the input: never produced by callers, but never loop on it
    rankSumX += cx * (pos + (t + 1) / 2);
    if (t > 1) tieTerm += t * t * t - t;
    pos += t;
  }
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const mu = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, pValue: 1 };
  // Two-sided: the larger of U1, U2 against its upper tail, doubled (as scipy does).
  const big = Math.max(u, n1 * n2 - u);
  const z = Math.max(0, big - mu - 0.5) / Math.sqrt(variance);
  const pValue = Math.min(1, erfc(z / Math.SQRT2));
  return { u, z, pValue };
}

/**
 * Complementary error function, fractional error below 1.2e-7 everywhere (the Chebyshev fit of
 * Numerical Recipes, 2nd ed., §6.2, `erfcc`). 2·Φ(-z) = erfc(z/√2) is the two-sided p-value.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
