// Sorting numbers in typed arrays, for the endpoint index's cells. V8's TypedArray sort costs
// about 135 ns per element here (a builtin call per comparison): small slices are sorted by
// insertion, and slices that are already sorted runs (a block's buckets) are merged pairwise,
// round after round (no recursion), at a few ns per element and round.
import { Scratch } from './sorted-runs.js';

/** Below this, insertion sort beats the builtin's per-call and per-comparison cost. */
const INSERTION_MAX = 48;

/** Sorts a[from, to) ascending. */
export function sortRange(a: Float64Array, from: number, to: number): void {
  if (to - from > INSERTION_MAX) {
    a.subarray(from, to).sort();
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const v = a[i] ?? 0;
    let j = i - 1;
    while (j >= from && (a[j] ?? 0) > v) {
      a[j + 1] = a[j] ?? 0;
      j--;
    }
    a[j + 1] = v;
  }
}

const spare = new Scratch();

/**
 * a[from, to) holds ascending runs starting at the offsets `starts` (ascending, the first one
 * `from`); leaves the whole range ascending.
 */
export function mergeRuns(a: Float64Array, from: number, to: number, starts: readonly number[]): void {
  let bounds = [...starts, to];
  if (bounds.length <= 2) return;
  let src = a;
  let dst = spare.space(to);
  while (bounds.length > 2) {
    const next: number[] = [];
    for (let r = 0; r + 1 < bounds.length; r += 2) {
      const lo = bounds[r] ?? to;
      const mid = bounds[r + 1] ?? to;
      const hi = bounds[r + 2] ?? mid;
      next.push(lo);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        const x = src[i] ?? 0;
        const y = src[j] ?? 0;
        if (x <= y) {
          dst[k++] = x;
          i++;
        } else {
          dst[k++] = y;
          j++;
        }
      }
      while (i < mid) dst[k++] = src[i++] ?? 0;
      while (j < hi) dst[k++] = src[j++] ?? 0;
    }
    next.push(to);
    bounds = next;
    [src, dst] = [dst, src];
  }
  if (src !== a) a.set(src.subarray(from, to), from);
}
