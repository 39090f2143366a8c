// The thread-level walk of docs/critical-path.md section 2: a partition of a window [a, b] on one
// thread into sections, each blamed on one (thread, state, function) triple, walked backwards
// from b along wakeup edges.
//
// Iterative: an explicit stack of frames (thread, lower bound), so a 100k-long handoff chain is
// fine. Each step is a binary search over one thread's segments (and, to split a section at call
// boundaries, over that thread's call partition, built once per thread and cached), so the walk
// is O(sections · log segments).
//
// The rules, as implemented (each instant of [a, b] is blamed exactly once):
// - Frame (X, lo) with cursor c: look at X's segment S covering the instant just before c
//   (S.start < c <= S.end; zero-length segments never cover anything).
// - S running / runnable: blame [max(lo, S.start), c] on X with that state.
// - S sleeping / blocked, ended by a `wakeup` from task W: W's walk gets the sub-window
//   [x, c], x = max(lo, S.start) (c = S.end unless the window ends mid-sleep: then W is walked
//   from the cursor, since the sleep was for W's eventual wakeup). Any part of that sub-window
//   where W's state is unknown (before W's first segment, after its last, in a gap) stays on X
//   (X's state, wait {wakeup, wakerTid: W}, X's stack), and X's walk goes on from there.
// - S sleeping / blocked ended from interrupt context (timer, network, block-io, irq, unknown),
//   or with no wake info, or a `wakeup` without a waker tid (reason `unknown`): blamed on X
//   with that reason; the walk goes on along X's own timeline from S's start.
// - Instants of the *analysed* thread outside its known history: state `sleeping`, wait
//   {reason: 'unknown'} (no stack).
// - Cycle guard: a wakeup edge is not followed to a thread that is already on the chain of
//   edges followed at the current cursor (since the last section was blamed), nor to X itself:
//   that sleep stays on X with its waker named. Consistent scheduler data never needs this
//   (a waker runs at the wakeup, so each followed edge blames something at once); it only
//   stops self-wakeups and contradictory timelines from looping.
// - The edge is taken at the segment's end (`Wake.t` is not used for timing).
// Each section carries the innermost probed call on that thread (greatest depth; ties: later
// start, then later in `calls`), `stack` from the segment, `wait` for sleeping/blocked
// sections; adjacent sections with identical (tid, state, function, wait, stack) are merged.
import type { FunctionCall, Segment, ThreadModel, ThreadSection, ThreadState, ThreadTimeline, WaitReason } from './types.js';

type Wait = NonNullable<ThreadSection['wait']>;

interface MutableSection {
  tid: number;
  start: number;
  end: number;
  state: ThreadState;
  function?: string;
  wait?: Wait;
  stack?: readonly string[];
}

/** A thread's calls as a partition: names[k] is innermost over [bounds[k], bounds[k + 1]). */
interface CallIndex {
  readonly bounds: Float64Array;
  readonly names: readonly (string | undefined)[];
}

const NO_CALLS: CallIndex = { bounds: new Float64Array(0), names: [] };

const REASON_WAITS: ReadonlyMap<WaitReason, Wait> = new Map(
  (['wakeup', 'timer', 'network', 'block-io', 'irq', 'unknown'] as const).map((r) => [r, Object.freeze({ reason: r })]),
);

function reasonWait(r: WaitReason): Wait {
  return REASON_WAITS.get(r) ?? { reason: r };
}

/** Per model, per thread: built on first use (a model's timelines never change). */
const callIndexCache = new WeakMap<ThreadModel, Map<number, CallIndex>>();

/** Is call i innermost over call j (greater depth; ties: later start, then later index)? */
function inner(calls: readonly FunctionCall[], i: number, j: number): boolean {
  const a = calls[i] as FunctionCall;
  const b = calls[j] as FunctionCall;
  return a.depth !== b.depth ? a.depth > b.depth : a.start !== b.start ? a.start > b.start : i > j;
}

function buildCallIndex(calls: readonly FunctionCall[]): CallIndex {
  const live: number[] = [];
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i] as FunctionCall;
    if (c.end > c.start) live.push(i);
  }
  if (live.length === 0) return NO_CALLS;
  if (live.length === 1) {
    const c = calls[live[0] as number] as FunctionCall;
    return { bounds: Float64Array.of(c.start, c.end), names: [c.name] };
  }
  const pts = new Float64Array(live.length * 2);
  live.forEach((i, k) => {
    const c = calls[i] as FunctionCall;
    pts[2 * k] = c.start;
    pts[2 * k + 1] = c.end;
  });
  pts.sort();
  let m = 0;
  for (let k = 0; k < pts.length; k++) if (m === 0 || pts[k] !== pts[m - 1]) pts[m++] = pts[k] as number;
  const order = live.slice().sort((i, j) => (calls[i] as FunctionCall).start - (calls[j] as FunctionCall).start || i - j);
  // Max-heap of call indices by innermost-ness; expired calls are dropped lazily from the top.
  const heap: number[] = [];
  const up = (k: number): void => {
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!inner(calls, heap[k] as number, heap[p] as number)) break;
      [heap[k], heap[p]] = [heap[p] as number, heap[k] as number];
      k = p;
    }
  };
  const down = (k: number): void => {
    for (;;) {
      const l = 2 * k + 1;
      const r = l + 1;
      let best = k;
      if (l < heap.length && inner(calls, heap[l] as number, heap[best] as number)) best = l;
      if (r < heap.length && inner(calls, heap[r] as number, heap[best] as number)) best = r;
      if (best === k) return;
      [heap[k], heap[best]] = [heap[best] as number, heap[k] as number];
      k = best;
    }
  };
  const bounds: number[] = [];
  const names: (string | undefined)[] = [];
  let next = 0;
  for (let j = 0; j + 1 < m; j++) {
    const t = pts[j] as number;
    while (next < order.length && (calls[order[next] as number] as FunctionCall).start <= t) {
      heap.push(order[next++] as number);
      up(heap.length - 1);
    }
    while (heap.length > 0 && (calls[heap[0] as number] as FunctionCall).end <= t) {
      const last = heap.pop() as number;
      if (heap.length > 0) {
        heap[0] = last;
        down(0);
      }
    }
    const name = heap.length > 0 ? (calls[heap[0] as number] as FunctionCall).name : undefined;
    if (names.length > 0 && names[names.length - 1] === name) continue;
    bounds.push(t);
    names.push(name);
  }
  bounds.push(pts[m - 1] as number);
  return { bounds: Float64Array.from(bounds), names };
}

function callIndex(model: ThreadModel, tid: number): CallIndex {
  const th: ThreadTimeline | undefined = model.threads.get(tid);
  if (!th || th.calls.length === 0) return NO_CALLS;
  let perThread = callIndexCache.get(model);
  if (!perThread) {
    perThread = new Map();
    callIndexCache.set(model, perThread);
  }
  let idx = perThread.get(tid);
  if (!idx) {
    idx = buildCallIndex(th.calls);
    perThread.set(tid, idx);
  }
  return idx;
}

/** Last index i with xs[i] < c, or -1. */
function lastBefore(xs: Float64Array, c: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < c) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Last index i with segs[i].start < c, or -1 (segments are in time order). */
function lastSegmentBefore(segs: readonly Segment[], c: number): number {
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((segs[mid] as Segment).start < c) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

const NO_SEGMENTS: readonly Segment[] = [];

function sameWait(x: Wait | undefined, y: Wait | undefined): boolean {
  return x === y || (x !== undefined && y !== undefined && x.reason === y.reason && x.wakerTid === y.wakerTid);
}

function sameStack(x: readonly string[] | undefined, y: readonly string[] | undefined): boolean {
  if (x === y) return true;
  if (x === undefined || y === undefined || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * The critical path of window [a, b] on thread `tid`, in time order: contiguous sections that
 * cover [a, b] exactly (empty when b <= a). See the rules at the top of this file.
 */
export function threadCriticalPath(model: ThreadModel, tid: number, a: number, b: number): ThreadSection[] {
  const out: MutableSection[] = [];
  if (!(b > a)) return out;

  // Sections are produced backwards in time; merge with the previous (later) one when equal.
  const push = (t: number, s: number, e: number, state: ThreadState, fn: string | undefined, wait: Wait | undefined, stack: readonly string[] | undefined): void => {
    const last = out[out.length - 1];
    if (last && last.start === e && last.tid === t && last.state === state && last.function === fn && sameWait(last.wait, wait) && sameStack(last.stack, stack)) {
      last.start = s;
      return;
    }
    const sec: MutableSection = { tid: t, start: s, end: e, state };
    if (fn !== undefined) sec.function = fn;
    if (wait !== undefined) sec.wait = wait;
    if (stack !== undefined) sec.stack = stack;
    out.push(sec);
  };

  // Threads on the chain of edges followed at the current cursor (cleared whenever the cursor moves).
  const chain = new Set<number>();

  /** Blame [x, c] on thread t, split at its call boundaries. */
  const blame = (t: number, x: number, c: number, state: ThreadState, wait: Wait | undefined, stack: readonly string[] | undefined): void => {
    if (chain.size > 0) chain.clear();
    const { bounds, names } = callIndex(model, t);
    let j = lastBefore(bounds, c);
    while (c > x) {
      const p0 = j < 0 ? x : Math.max(x, bounds[j] as number);
      push(t, p0, c, state, j >= 0 && j < names.length ? names[j] : undefined, wait, stack);
      c = p0;
      j--;
    }
  };

  const frameTid: number[] = [tid];
  const frameLo: number[] = [a];
  let x0 = tid; // current frame's thread
  let lo = a; // current frame's lower bound
  let c = b; // cursor
  for (;;) {
    if (c <= lo) {
      frameTid.pop();
      frameLo.pop();
      if (frameTid.length === 0) break;
      x0 = frameTid[frameTid.length - 1] as number;
      lo = frameLo[frameLo.length - 1] as number;
      continue;
    }
    const segs = model.threads.get(x0)?.segments ?? NO_SEGMENTS;
    const i = lastSegmentBefore(segs, c);
    const seg = i >= 0 ? (segs[i] as Segment) : undefined;
    if (seg === undefined || seg.end < c) {
      // Outside the thread's known history.
      if (frameTid.length > 1) {
        // A waker: this part stays on the thread it woke (handled by that frame).
        frameTid.pop();
        frameLo.pop();
        x0 = frameTid[frameTid.length - 1] as number;
        lo = frameLo[frameLo.length - 1] as number;
        continue;
      }
      const y = Math.max(lo, seg === undefined ? -Infinity : seg.end);
      blame(x0, y, c, 'sleeping', reasonWait('unknown'), undefined);
      c = y;
      continue;
    }
    const x = Math.max(lo, seg.start);
    if (seg.state === 'running' || seg.state === 'runnable') {
      blame(x0, x, c, seg.state, undefined, seg.stack);
      c = x;
      continue;
    }
    const wake = seg.wake;
    if (wake !== undefined && wake.reason === 'wakeup' && wake.wakerTid !== undefined) {
      const w = wake.wakerTid;
      let y = x;
      if (w !== x0 && !chain.has(w)) {
        const wsegs = model.threads.get(w)?.segments ?? NO_SEGMENTS;
        const k = lastSegmentBefore(wsegs, c);
        if (k >= 0 && (wsegs[k] as Segment).end >= c) {
          chain.add(x0);
          frameTid.push(w);
          frameLo.push(x);
          x0 = w;
          lo = x;
          continue;
        }
        // W's state is unknown just before c: down to the end of W's previous segment (if any), it stays here.
        if (k >= 0) y = Math.max(x, (wsegs[k] as Segment).end);
      }
      blame(x0, y, c, seg.state, { reason: 'wakeup', wakerTid: w }, seg.stack);
      c = y;
      continue;
    }
    const reason: WaitReason = wake === undefined || wake.reason === 'wakeup' ? 'unknown' : wake.reason;
    blame(x0, x, c, seg.state, reasonWait(reason), seg.stack);
    c = x;
  }
  out.reverse();
  return out;
}

/**
 * The root calls to analyse, sorted by start (then tid, then depth): every call of
 * `rootFunction` on any thread, except those nested inside an earlier call of the same function
 * on the same thread (contained in it, at a greater depth); without `rootFunction`, every
 * outermost probed call (depth 0) of every thread.
 */
export function rootCalls(model: ThreadModel, rootFunction?: string): { tid: number; call: FunctionCall }[] {
  const out: { tid: number; call: FunctionCall }[] = [];
  for (const th of model.threads.values()) {
    if (rootFunction === undefined) {
      for (const call of th.calls) if (call.depth === 0) out.push({ tid: th.tid, call });
      continue;
    }
    const named = th.calls.filter((x) => x.name === rootFunction).sort((x, y) => x.start - y.start || x.depth - y.depth);
    let outer: FunctionCall | undefined;
    for (const call of named) {
      if (outer !== undefined && call.depth > outer.depth && call.start >= outer.start && call.end <= outer.end) continue;
      outer = call;
      out.push({ tid: th.tid, call });
    }
  }
  out.sort((x, y) => x.call.start - y.call.start || x.tid - y.tid || x.call.depth - y.call.depth);
  return out;
}
