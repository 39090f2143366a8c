// Thread lanes for a trace view: the states of some threads over a window and the wakeups they
// received, straight from the model's timelines (relative ns), clipped to the window.
import type { ThreadModel, ThreadState, WaitReason } from './types.js';

export interface Lane {
  readonly tid: number;
  readonly segments: { readonly start: number; readonly end: number; readonly state: ThreadState }[];
  readonly wakes: { readonly t: number; readonly reason: WaitReason; readonly wakerTid?: number }[];
}

/** Lanes of `tids` (in that order; unknown threads are skipped) over [from, to). */
export function threadLanes(model: ThreadModel, tids: readonly number[], from: number, to: number): Lane[] {
  const out: Lane[] = [];
  for (const tid of tids) {
    const tl = model.threads.get(tid);
    if (!tl) continue;
    const segs = tl.segments;
    // First segment ending after `from` (segments are contiguous and sorted).
    let lo = 0;
    let hi = segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((segs[mid]?.end ?? 0) <= from) lo = mid + 1;
      else hi = mid;
    }
    const lane: Lane = { tid, segments: [], wakes: [] };
    for (let i = lo; i < segs.length; i++) {
      const s = segs[i];
      if (!s || s.start >= to) break;
      lane.segments.push({ start: Math.max(from, s.start), end: Math.min(to, s.end), state: s.state });
      const w = s.wake;
      if (w && w.t >= from && w.t < to) lane.wakes.push({ t: w.t, reason: w.reason, ...(w.wakerTid !== undefined ? { wakerTid: w.wakerTid } : {}) });
    }
    out.push(lane);
  }
  return out;
}
