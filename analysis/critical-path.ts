// The span-level walk of docs/critical-path.md section 1: a partition of a root's window into
// sections, each blamed on one span. Iterative (an explicit stack, so 100k-deep chains are
// fine) and O(n log n): each parent's children are sorted once by end, the "latest end <= cursor
// + ε" child is found by binary search, and picked children leave a union-find "previous alive"
// structure so none is looked at twice (Jaeger UI's linear scan made wide spans quadratic).
import type { PreparedTrace } from './prepare.js';

/** One section of a path: [start, end) in ns relative to the trace's baseNs, blamed on `span`. */
export interface PathSection {
  readonly span: number;
  start: number;
  readonly end: number;
}

/**
 * Every parent's eligible, non-zero children in one set of typed arrays (no per-span objects:
 * a 1M-span trace would otherwise allocate a million small structures): the children of p are
 * order[off[p] .. off[p + 1]), sorted by (ε asc, end asc, start desc), so each ε class is a
 * contiguous run. dsu[i] === i while order[i] is still a candidate; a picked (or hopeless)
 * child points below itself, and lookups never go below their parent's range.
 */
interface Candidates {
  readonly off: Int32Array;
  readonly order: Int32Array;
  readonly ends: Float64Array;
  readonly dsu: Int32Array;
  /** Start of each ε run after the first, for the rare parents whose children differ in ε. */
  readonly runs: Map<number, number[]>;
}

function candidates(prep: PreparedTrace): Candidates {
  const { ws, we, eps, eligible } = prep;
  const { childOffset, childIndex } = prep.trace;
  const n = eligible.length;
  const off = new Int32Array(n + 1);
  for (let p = 0; p < n; p++) {
    let c = 0;
    for (let k = childOffset[p]; k < childOffset[p + 1]; k++) {
      const x = childIndex[k];
      if (eligible[x] === 1 && we[x] > ws[x]) c++; // zero-duration children are never on the path
    }
    off[p + 1] = off[p] + c;
  }
  const m = off[n];
  const order = new Int32Array(m);
  let w = 0;
  for (let p = 0; p < n; p++) {
    for (let k = childOffset[p]; k < childOffset[p + 1]; k++) {
      const x = childIndex[k];
      if (eligible[x] === 1 && we[x] > ws[x]) order[w++] = x;
    }
  }
  const cmp = (a: number, b: number): number => eps[a] - eps[b] || we[a] - we[b] || ws[b] - ws[a] || b - a;
  const runs = new Map<number, number[]>();
  for (let p = 0; p < n; p++) {
    const lo = off[p];
    const hi = off[p + 1];
    if (hi - lo > 1) {
      order.subarray(lo, hi).sort(cmp);
      if (eps[order[lo]] !== eps[order[hi - 1]]) {
        const r: number[] = [];
        for (let i = lo + 1; i < hi; i++) if (eps[order[i]] !== eps[order[i - 1]]) r.push(i);
        runs.set(p, r);
      }
    }
  }
  const ends = new Float64Array(m);
  const dsu = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    ends[i] = we[order[i]];
    dsu[i] = i;
  }
  return { off, order, ends, dsu, runs };
}

export function criticalPath(prep: PreparedTrace, root: number, shared?: Candidates): PathSection[] {
  const { ws, we, eps } = prep;
  const cand = shared ?? candidates(prep);
  const { off, order, ends, dsu, runs } = cand;
  const out: PathSection[] = [];

  const emit = (span: number, s: number, e: number): void => {
    const last = out[out.length - 1];
    // Sections are produced backwards in time; merge with the previous one when contiguous.
    if (last && last.span === span && last.start === e) last.start = s;
    else out.push({ span, start: s, end: e });
  };

  /** Best candidate in one ε run [lo, hi): latest end <= limit with a start before the cursor. */
  const bestIn = (lo: number, hi: number, cursor: number, setterEps: number): number => {
    if (lo >= hi) return -1;
    const limit = cursor + Math.max(eps[order[lo]], setterEps);
    let idx = find(dsu, upperBound(ends, lo, hi, limit) - 1, lo);
    while (idx >= lo) {
      if (ws[order[idx]] < cursor) return idx;
      // Starts at or after the cursor: the cursor only moves back, so it never qualifies.
      dsu[idx] = idx - 1;
      idx = find(dsu, idx - 1, lo);
    }
    return -1;
  };

  /** The child of p whose end is latest and at most cursor + ε (ties: earlier start, then input order), removed from further picks. */
  const pick = (p: number, cursor: number, setterEps: number): number => {
    const lo = off[p];
    const hi = off[p + 1];
    const r = runs.get(p);
    let bestIdx: number;
    if (r === undefined) bestIdx = bestIn(lo, hi, cursor, setterEps);
    else {
      bestIdx = -1;
      const bounds = [lo, ...r, hi];
      for (let k = 0; k + 1 < bounds.length; k++) {
        const idx = bestIn(bounds[k] ?? 0, bounds[k + 1] ?? 0, cursor, setterEps);
        if (idx < 0) continue;
        const x = order[idx];
        const b = bestIdx >= 0 ? order[bestIdx] : -1;
        if (b < 0 || we[x] > we[b] || (we[x] === we[b] && (ws[x] < ws[b] || (ws[x] === ws[b] && x < b)))) bestIdx = idx;
      }
    }
    if (bestIdx < 0) return -1;
    dsu[bestIdx] = bestIdx - 1;
    return order[bestIdx];
  };

  const stack: number[] = [];
  let p = root;
  let cursor = we[root];
  // ε of the span whose start set the cursor (none at the root's end).
  let setterEps = 0;
  for (;;) {
    const x = pick(p, cursor, setterEps);
    if (x >= 0) {
      const xe = Math.min(we[x], cursor);
      if (xe < cursor) emit(p, xe, cursor);
      if (we[x] <= cursor) setterEps = 0; // the cursor is now x's end, not a start
      cursor = xe;
      stack.push(p);
      p = x;
      continue;
    }
    if (ws[p] < cursor) emit(p, ws[p], cursor);
    cursor = ws[p];
    setterEps = eps[p];
    const up = stack.pop();
    if (up === undefined) break;
    p = up;
  }
  out.reverse();
  return out;
}

/** Every root's path, sharing one candidate structure (roots never share spans). */
export function criticalPaths(prep: PreparedTrace, roots: readonly number[]): PathSection[][] {
  const cand = candidates(prep);
  return roots.map((r) => criticalPath(prep, r, cand));
}

/** Index of the first element > v in the sorted range a[lo, hi). */
function upperBound(a: Float64Array, lo: number, hi: number, v: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Largest index in [lo, i] still alive, or a value below lo; with path compression. */
function find(dsu: Int32Array, i: number, lo: number): number {
  let r = i;
  while (r >= lo && dsu[r] !== r) r = dsu[r];
  let j = i;
  while (j >= lo && dsu[j] !== j) {
    const next = dsu[j];
    dsu[j] = r;
    j = next;
  }
  return r;
}
