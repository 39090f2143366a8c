// The span-level walk of critical-path.md section 1: a partition of a root's window into
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

/** The eligible, non-zero children of one parent that share one ε, by (end asc, start desc). */
interface ChildSet {
  readonly eps: number;
  readonly order: Int32Array;
  readonly ends: Float64Array;
  /** dsu[i] === i while order[i] is still a candidate; otherwise it points below. */
  readonly dsu: Int32Array;
}

export function criticalPath(prep: PreparedTrace, root: number): PathSection[] {
  const { ws, we, eps, eligible } = prep;
  const { childOffset, childIndex } = prep.trace;
  const sets = new Map<number, ChildSet[]>();
  const out: PathSection[] = [];

  const emit = (span: number, s: number, e: number): void => {
    const last = out[out.length - 1];
    // Sections are produced backwards in time; merge with the previous one when contiguous.
    if (last && last.span === span && last.start === e) last.start = s;
    else out.push({ span, start: s, end: e });
  };

  const childSets = (p: number): ChildSet[] => {
    let s = sets.get(p);
    if (s) return s;
    const byEps = new Map<number, number[]>();
    for (let k = childOffset[p]; k < childOffset[p + 1]; k++) {
      const c = childIndex[k];
      if (eligible[c] !== 1 || we[c] <= ws[c]) continue; // zero-duration children are never on the path
      const e = eps[c];
      let list = byEps.get(e);
      if (!list) byEps.set(e, (list = []));
      list.push(c);
    }
    s = [];
    for (const [e, list] of byEps) {
      list.sort((a, b) => we[a] - we[b] || ws[b] - ws[a] || b - a);
      const order = Int32Array.from(list);
      const ends = new Float64Array(order.length);
      const dsu = new Int32Array(order.length);
      for (let i = 0; i < order.length; i++) {
        ends[i] = we[order[i]];
        dsu[i] = i;
      }
      s.push({ eps: e, order, ends, dsu });
    }
    sets.set(p, s);
    return s;
  };

  /** The child of p whose end is latest and at most cursor + ε (ties: earlier start), removed from further picks. */
  const pick = (p: number, cursor: number, setterEps: number): number => {
    let best = -1;
    let bestSet: ChildSet | undefined;
    let bestIdx = -1;
    for (const set of childSets(p)) {
      const limit = cursor + Math.max(set.eps, setterEps);
      let idx = find(set.dsu, upperBound(set.ends, limit) - 1);
      while (idx >= 0) {
        const x = set.order[idx];
        if (ws[x] >= cursor) {
          // Starts at or after the cursor: the cursor only moves back, so it never qualifies.
          set.dsu[idx] = idx - 1;
          idx = find(set.dsu, idx - 1);
          continue;
        }
        if (best < 0 || we[x] > we[best] || (we[x] === we[best] && ws[x] < ws[best])) {
          best = x;
          bestSet = set;
          bestIdx = idx;
        }
        break;
      }
    }
    if (bestSet) bestSet.dsu[bestIdx] = bestIdx - 1;
    return best;
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

/** Number of elements <= v in a sorted array. */
function upperBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Largest index <= i still alive, or -1; with path compression. */
function find(dsu: Int32Array, i: number): number {
  let r = i;
  while (r >= 0 && dsu[r] !== r) r = dsu[r];
  let j = i;
  while (j >= 0 && dsu[j] !== j) {
    const next = dsu[j];
    dsu[j] = r;
    j = next;
  }
  return r;
}
