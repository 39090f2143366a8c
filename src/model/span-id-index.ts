// Span id -> span index for one trace, as an open-addressing hash table over typed arrays. A
// span id is 16 hex digits, i.e. a 64-bit key held as two 32-bit halves, so lookups compare
// numbers and never allocate; a Map with a million string keys cost several times as much in
// building a 1M-span trace, most of it in the garbage collector.

export class SpanIdIndex {
  private readonly hi: Int32Array;
  private readonly lo: Int32Array;
  /** Span index + 1; 0 marks an empty slot. */
  private readonly val: Int32Array;
  private readonly mask: number;
  /** Keys that are not 16 hex digits (never from the importers, which normalise ids). */
  private readonly odd = new Map<string, number>();
  /** Scratch for the two halves of the id being looked up. */
  private readonly halves = new Int32Array(2);

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.hi = new Int32Array(size);
    this.lo = new Int32Array(size);
    this.val = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Adds id -> index unless the id is present; returns the index already there, or -1. */
  add(id: string, index: number): number {
    if (!splitHex(id, this.halves)) {
      const had = this.odd.get(id);
      if (had !== undefined) return had;
      this.odd.set(id, index);
      return -1;
    }
    const h = this.halves[0] ?? 0;
    const l = this.halves[1] ?? 0;
    for (let slot = hash(h, l) & this.mask; ; slot = (slot + 1) & this.mask) {
      const v = this.val[slot] ?? 0;
      if (v === 0) {
        this.hi[slot] = h;
        this.lo[slot] = l;
        this.val[slot] = index + 1;
        return -1;
      }
      if (this.hi[slot] === h && this.lo[slot] === l) return v - 1;
    }
  }

  get(id: string): number {
    if (!splitHex(id, this.halves)) return this.odd.get(id) ?? -1;
    const h = this.halves[0] ?? 0;
    const l = this.halves[1] ?? 0;
    for (let slot = hash(h, l) & this.mask; ; slot = (slot + 1) & this.mask) {
      const v = this.val[slot] ?? 0;
      if (v === 0) return -1;
      if (this.hi[slot] === h && this.lo[slot] === l) return v - 1;
    }
  }
}

/** The two 32-bit halves of a 16-digit lowercase hex id; false for anything else. */
function splitHex(id: string, out: Int32Array): boolean {
  if (id.length !== 16) return false;
  let h = 0;
  let l = 0;
  for (let i = 0; i < 16; i++) {
    const c = id.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return false;
    if (i < 8) h = (h << 4) | d;
    else l = (l << 4) | d;
  }
  out[0] = h;
  out[1] = l;
  return true;
}

function hash(h: number, l: number): number {
  return (Math.imul(h, 0x9e3779b1) ^ Math.imul(l ^ (h >>> 15), 0x85ebca77)) >>> 0;
}
