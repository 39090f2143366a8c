// The endpoints' latency histogram: an HDR histogram (1 ns, 3 significant digits) encoded as
// hdr-histogram-js's encodeIntoCompressedBase64 encodes it (V2, zlib, base64), written here
// from counts per HDR bin. Building it through the library cost 1-3 ms per endpoint (a call per
// bin, then its byte buffer), most of a merged query (endpoint-index.ts); the bytes are the same
// (test/analysis/latency-histogram.test.ts compares them with the library's on random data).
import { deflateSync } from 'node:zlib';
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
  if (value < 2048) return Math.floor(value);
  if (value < 4294967296) {
    // The library's floor(log2(value)), without a logarithm.
    const bucket = 31 - Math.clz32(value) - HALF_MAGNITUDE;
    return bucket * HALF_COUNT + (value >>> bucket);
  }
  const bucket = Math.max(Math.floor(Math.log2(value)) - HALF_MAGNITUDE, 0);
  return bucket * HALF_COUNT + Math.floor(value / 2 ** bucket);
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

/**
 * The highestTrackableValue the library's auto-resizing histogram ends with when its largest
 * value is in `bin` (it is in the encoding): asked of the library once per bin.
 */
const highestTrackable = new Map<number, number>();
function highestTrackableFor(bin: number): number {
  let v = highestTrackable.get(bin);
  if (v === undefined) {
    const h = hdr.build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, useWebAssembly: false });
    h.recordValue(hdrBinLowest(bin));
    highestTrackable.set(bin, (v = h.highestTrackableValue));
    h.destroy();
  }
  return v;
}

/** A growing byte buffer with the library's int32/int64 (big-endian) and ZigZag LEB128 writes. */
class Bytes {
  data = new Uint8Array(256);
  length = 0;

  byte(v: number): void {
    if (this.length === this.data.length) {
      const old = this.data;
      this.data = new Uint8Array(old.length * 2);
      this.data.set(old);
    }
    // Stored modulo 256, as the library's Uint8Array stores it.
    this.data[this.length++] = v;
  }

  int32(v: number): void {
    const u = v >>> 0;
    this.byte(u >>> 24);
    this.byte(u >>> 16);
    this.byte(u >>> 8);
    this.byte(u);
  }

  int64(v: number): void {
    this.int32(Math.floor(v / 4294967296));
    this.int32(v);
  }

  /** ZigZagEncoding.encode (LEB128-64b9B), expression for expression. */
  zigzag(value: number): void {
    const v = value >= 0 ? value * 2 : -value * 2 - 1;
    // Counts and zero runs are small: one or two bytes.
    if (v < 128) return this.byte(v);
    if (v < 16384) {
      this.byte(v | 0x80);
      return this.byte(Math.floor(v / 128));
    }
    for (let shift = 0; ; shift += 7) {
      const part = Math.floor(v / 2 ** shift);
      if (shift === 56 || v < 2 ** (shift + 7)) return this.byte(part);
      // The library ORs in the continuation bit (int32 semantics) except before the 9th byte,
      // where it adds it.
      this.byte(shift === 49 ? part + 0x80 : part | 0x80);
    }
  }
}

/** V2 encoding cookies with the TLZE bit, as the library writes them. */
const ENCODING_COOKIE = 0x1c849303 | 0x10;
const COMPRESSED_COOKIE = 0x1c849304 | 0x10;

/** Encodes counts per bin: `counts[i]` values in bin `firstBin + i` (at least one value). */
export function encodeBinCounts(counts: ArrayLike<number>, firstBin: number): string {
  let last = counts.length - 1;
  while (last > 0 && (counts[last] ?? 0) === 0) last--;
  const maxBin = Math.max(0, firstBin + last);
  const b = new Bytes();
  b.int32(ENCODING_COOKIE);
  b.int32(0); // payload length, written below
  b.int32(1); // normalizingIndexOffset
  b.int32(3); // significant digits
  b.int64(1); // lowestDiscernibleValue
  b.int64(maxBin < 2048 ? 2 : highestTrackableFor(maxBin)); // 2: the builder's default, never resized
  b.int64(1); // integerToDoubleValueConversionRatio
  const payloadStart = b.length;
  // Counts from bin 0 to the largest value's bin; a run of zeros is one negative number.
  let zeros = firstBin;
  for (let i = 0; i <= maxBin - firstBin; i++) {
    const c = counts[i] ?? 0;
    if (c === 0) {
      zeros++;
      continue;
    }
    if (zeros > 0) b.zigzag(zeros > 1 ? -zeros : 0);
    zeros = 0;
    b.zigzag(c);
  }
  if (zeros > 0) b.zigzag(zeros > 1 ? -zeros : 0);
  const payloadLength = b.length - payloadStart;
  b.data[4] = payloadLength >>> 24;
  b.data[5] = payloadLength >>> 16;
  b.data[6] = payloadLength >>> 8;
  b.data[7] = payloadLength;
  const compressed = deflateSync(b.data.subarray(0, b.length));
  // The library's 16-byte buffer holds the 8-byte header and the compressed bytes, grown to fit.
  const out = new Uint8Array(Math.max(16, 8 + compressed.length));
  const head = new Bytes();
  head.int32(COMPRESSED_COOKIE);
  head.int32(compressed.length);
  out.set(head.data.subarray(0, 8));
  out.set(compressed, 8);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64');
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
