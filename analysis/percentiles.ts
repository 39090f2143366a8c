// Exact percentiles by nearest rank over a sorted array: the smallest value with at least p% of
// the values at or below it.

/** The 1-based nearest rank of percentile p among n values (n >= 1). */
export function rankOf(n: number, p: number): number {
  return Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
}

export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  return sorted[rankOf(n, p) - 1] ?? 0;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Sorts a copy (ascending) and takes p50/p90/p99/p99.9/max. */
export function percentiles(values: ArrayLike<number>): Percentiles {
  return sortedPercentiles(Float64Array.from(values).sort());
}

/** p50/p90/p99/p99.9/max of ascending values. */
export function sortedPercentiles(s: ArrayLike<number>): Percentiles {
  return { p50: nearestRank(s, 50), p90: nearestRank(s, 90), p99: nearestRank(s, 99), p999: nearestRank(s, 99.9), max: s.length > 0 ? (s[s.length - 1] ?? 0) : 0 };
}
