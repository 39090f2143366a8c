// Exact order statistics and sums over several sorted runs (one per time bucket), without
// merging them: counts per HDR bin locate the bin that holds a rank, and only the values of that
// bin are gathered (a binary search per run) and sorted. A query costs about one typed-array add
// per value plus a binary search per run and rank, instead of a sort of everything.
import { hdrBin } from './latency-histogram.js';

/** values[from, to), ascending, and the HDR bin of each value (so non-decreasing too). */
export interface Run {
  readonly values: Float64Array;
  readonly bins: Uint16Array;
  readonly from: number;
  readonly to: number;
}

/** The HDR bin of each of ascending values. */
export function binsOf(sorted: Float64Array): Uint16Array {
  const bins = new Uint16Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) bins[i] = hdrBin(sorted[i] ?? 0);
  return bins;
}

/** First index in [from, to) with a[i] >= x (to if none). */
export function lowerBound(a: ArrayLike<number>, x: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] ?? 0) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in [from, to) with a[i] > x (to if none). */
export function upperBound(a: ArrayLike<number>, x: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] ?? 0) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A Float64Array reused from call to call. A query would otherwise allocate thousands of
 * ArrayBuffers for counts and gathered values, and their external memory drives full
 * collections of the (large) heap. What take() returns is valid until its next call.
 */
export class Scratch {
  private buf = new Float64Array(1024);

  /** `n` zeros. */
  take(n: number): Float64Array {
    const view = this.space(n);
    view.fill(0);
    return view;
  }

  /** `n` numbers, whatever they were. */
  space(n: number): Float64Array {
    if (this.buf.length < n) this.buf = new Float64Array(Math.max(n, 2 * this.buf.length));
    return this.buf.subarray(0, n);
  }
}

/**
 * How many values fall in each group of 2^shift consecutive HDR bins, from the first group
 * present (shift 0: per bin, what the latency histogram records).
 */
export interface BinCounts {
  readonly counts: Float64Array;
  readonly first: number;
  readonly shift: number;
}

/** Counts in `scratch` (valid until its next use). */
export function binCounts(runs: readonly Run[], shift: number, scratch: Scratch): BinCounts {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of runs) {
    if (r.to <= r.from) continue;
    lo = Math.min(lo, (r.bins[r.from] ?? 0) >> shift);
    hi = Math.max(hi, (r.bins[r.to - 1] ?? 0) >> shift);
  }
  if (lo > hi) return { counts: scratch.take(0), first: 0, shift };
  const counts = scratch.take(hi - lo + 1);
  for (const r of runs) {
    const bins = r.bins;
    for (let i = r.from; i < r.to; i++) counts[((bins[i] ?? 0) >> shift) - lo]++;
  }
  return { counts, first: lo, shift };
}

/**
 * The values at the given 1-based ranks (each within 1..total) of the union of the runs, exactly;
 * `counts` must be binCounts(runs, ...).
 */
export function valuesAtRanks(runs: readonly Run[], ranks: readonly number[], counts: BinCounts): number[] {
  const out = new Array<number>(ranks.length).fill(0);
  const order = ranks.map((_, i) => i).sort((a, b) => (ranks[a] ?? 0) - (ranks[b] ?? 0));
  let group = 0;
  let below = 0;
  let inGroup: { group: number; values: Float64Array } | undefined;
  for (const i of order) {
    const rank = ranks[i] ?? 1;
    while (group < counts.counts.length - 1 && below + (counts.counts[group] ?? 0) < rank) below += counts.counts[group++] ?? 0;
    if (inGroup?.group !== group) inGroup = { group, values: gather(runs, counts.first + group, counts.shift, counts.counts[group] ?? 0) };
    out[i] = inGroup.values[rank - below - 1] ?? 0;
  }
  return out;
}

const gathered = new Scratch();

/** The values of one group of bins across the runs, ascending (in a scratch array). */
function gather(runs: readonly Run[], group: number, shift: number, size: number): Float64Array {
  const lo = group << shift;
  const hi = ((group + 1) << shift) - 1;
  const out = gathered.take(size);
  let n = 0;
  for (const r of runs) {
    const bins = r.bins;
    if (r.to <= r.from || (bins[r.from] ?? 0) > hi || (bins[r.to - 1] ?? 0) < lo) continue;
    const a = lowerBound(bins, lo, r.from, r.to);
    const b = upperBound(bins, hi, a, r.to);
    const values = r.values;
    for (let i = a; i < b; i++) out[n++] = values[i] ?? 0;
  }
  return out.sort();
}

/** The largest value of the runs (-Infinity when empty). */
export function maxOf(runs: readonly Run[]): number {
  let m = -Infinity;
  for (const r of runs) if (r.to > r.from) m = Math.max(m, r.values[r.to - 1] ?? -Infinity);
  return m;
}

/**
 * Σ of the runs' values given their double sum, exactly. Values are integer ns >= 0, so a double
 * sum that is still a safe integer is exact (no partial sum was larger), whatever the order of
 * addition; past that the values are summed again in bigint and rounded once.
 */
export function exactSum(doubleSum: number, runs: readonly Pick<Run, 'values' | 'from' | 'to'>[]): number {
  if (doubleSum <= Number.MAX_SAFE_INTEGER) return doubleSum;
  let s = 0n;
  // Math.round: a no-op on the integer ns cpath produces, and no exception on anything else.
  for (const r of runs) for (let i = r.from; i < r.to; i++) s += BigInt(Math.round(r.values[i] ?? 0));
  return Number(s);
}
