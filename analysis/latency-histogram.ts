// The endpoints' latency histogram: an HDR histogram (1 ns, 3 significant digits) encoded as
// compressed base64. Built from counts per HDR bin, not value by value, so that merged
// statistics (endpoint-index.ts) and a one-shot aggregation (endpoints.ts) encode the same counts
// into the same string.
import * as hdr from 'hdr-histogram-js';

/** 3 significant digits: 2048 sub-buckets, of which the upper half (1024) per power of two above 2048. */
const HALF_MAGNITUDE = 10;
const HALF_COUNT = 1 << HALF_MAGNITUDE;

/**
 * The HDR histogram's counts index of a value (>= 0), as hdr-histogram-js computes it for
 * lowestDiscernibleValue 1 and 3 significant digits (JsHistogram.countsArrayIndex): values below
 * 2048 have a bin each, above that 1024 bins per power of two. At most 46,079 for values up to 2^53.
 */
export function hdrBin(value: number): number {
  const bucket = Math.max(Math.floor(Math.log2(value)) - HALF_MAGNITUDE, 0);
  const sub = Math.floor(value / 2 ** bucket);
  return (bucket + 1) * HALF_COUNT + sub - HALF_COUNT;
}

/** The lowest value of a bin (JsHistogram.valueFromIndex): recording it counts in that bin. */
export function hdrBinLowest(bin: number): number {
  let bucket = Math.floor(bin / HALF_COUNT) - 1;
  let sub = (bin % HALF_COUNT) + HALF_COUNT;
  if (bucket < 0) {
    sub -= HALF_COUNT;
    bucket = 0;
  }
  return sub * 2 ** bucket;
}

/** Encodes counts per bin: `counts[i]` values in bin `firstBin + i`. */
export function encodeBinCounts(counts: ArrayLike<number>, firstBin: number): string {
  const histogram = hdr.build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  try {
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i] ?? 0;
      if (c > 0) histogram.recordValueWithCount(hdrBinLowest(firstBin + i), c);
    }
    return hdr.encodeIntoCompressedBase64(histogram);
  } finally {
    histogram.destroy();
  }
}

/** Encodes ascending values (one pass: counts per bin, then encodeBinCounts). */
export function encodeSorted(sorted: ArrayLike<number>): string {
  const n = sorted.length;
  if (n === 0) return encodeBinCounts([], 0);
  const first = hdrBin(sorted[0] ?? 0);
  const counts = new Float64Array(hdrBin(sorted[n - 1] ?? 0) - first + 1);
  for (let i = 0; i < n; i++) counts[hdrBin(sorted[i] ?? 0) - first]++;
  return encodeBinCounts(counts, first);
}
