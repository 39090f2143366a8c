// Everything the walk needs decided first (docs/critical-path.md section 1, rules 1-4): roots,
// clock-skew shifts across hosts, async children and clipping. Top-down, iterative, O(n).
import type { Diagnostics } from '../src/model/diagnostics.js';
import type { Trace } from '../src/model/trace-builder.js';
import { formatSource } from '../src/model/span.js';
import { formatDuration } from '../src/model/time.js';

export interface PrepareOptions {
  /** Rule 3; on by default (`--no-skew-adjust` turns it off). */
  readonly skewAdjust: boolean;
  /** Start-time granularity ε of each span, in ns (0 = strict). */
  readonly epsilon: (span: number) => number;
}

export interface PreparedTrace {
  readonly trace: Trace;
  /** The earliest parentless span (ties: the longest), or -1 if every span is in a cycle. */
  readonly primaryRoot: number;
  /** Other parentless spans (orphans whose parent is missing, extra roots), by start time. */
  readonly otherRoots: readonly number[];
  /**
   * Final window of each span relative to trace.baseNs: for spans on their root's walk
   * (eligible), after skew shift and clipping; for async spans and everything under them, their
   * real skew-shifted times (never clipped: nothing is measured against them).
   */
  readonly ws: Float64Array;
  readonly we: Float64Array;
  /** Skew shift applied to each span (0 for most), async subtrees included. */
  readonly shift: Float64Array;
  /** 1 when the span takes part in its root's walk: reachable, not async, not under an async child. */
  readonly eligible: Uint8Array;
  /** ε per span, ns. */
  readonly eps: Float64Array;
}

export function prepareTrace(trace: Trace, opts: PrepareOptions, diag: Diagnostics): PreparedTrace {
  const { spans, start, end, parent, childOffset, childIndex, unreachable } = trace;
  const n = spans.length;
  const ws = new Float64Array(n);
  const we = new Float64Array(n);
  const shift = new Float64Array(n);
  const eligible = new Uint8Array(n);
  const eps = new Float64Array(n);
  for (let i = 0; i < n; i++) eps[i] = opts.epsilon(i);

  // Rules 1-2: roots.
  const roots: number[] = [];
  for (let i = 0; i < n; i++) if (parent[i] === -1 && unreachable[i] === 0) roots.push(i);
  roots.sort((a, b) => start[a] - start[b] || end[b] - start[b] - (end[a] - start[a]) || a - b);
  const primaryRoot = roots[0] ?? -1;
  const otherRoots = roots.slice(1);
  // Orphans (parent missing) were counted by the builder; these are spans with no parent id at all.
  const extras = otherRoots.filter((r) => spans[r]?.parentSpanId === undefined);
  if (extras.length > 0) {
    const r = spans[primaryRoot];
    diag.add('extra_root', () => `trace ${trace.traceId}: ${extras.length + 1} spans without a parent id; primary root ${r?.spanId ?? '?'} "${r?.name ?? ''}" starts first`, extras.length);
  }

  // Rules 3-4, top-down from each root: a child is judged against its parent's final window.
  const queue = new Int32Array(n);
  for (const root of roots) {
    ws[root] = start[root];
    we[root] = end[root];
    eligible[root] = 1;
    let head = 0;
    let tail = 0;
    queue[tail++] = root;
    while (head < tail) {
      const p = queue[head++];
      const ps = spans[p];
      if (!ps) continue;
      // Under an async span: skew only, so that the subtree can be drawn where it really ran.
      const underAsync = eligible[p] !== 1;
      for (let k = childOffset[p]; k < childOffset[p + 1]; k++) {
        const c = childIndex[k];
        const cs = spans[c];
        if (!cs) continue;
        // Rule 3: clock skew.
        let sh = 0;
        if (cs.resource.host === ps.resource.host) sh = shift[p];
        else if (opts.skewAdjust && cs.kind === 'server' && ps.kind === 'client') {
          const pStart = start[p] + shift[p];
          const pEnd = end[p] + shift[p];
          if (start[c] < pStart || end[c] > pEnd) {
            const dur = end[c] - start[c];
            const pDur = pEnd - pStart;
            const newStart = dur <= pDur ? pStart + Math.floor((pDur - dur) / 2) : pStart;
            sh = newStart - start[c];
            diag.add(
              'clock_skew_shifted',
              () => `${formatSource(cs.source)}: server span ${cs.spanId} "${cs.name}" on host ${cs.resource.host} shifted by ${formatDuration(sh)} into its client ${ps.spanId} on host ${ps.resource.host}`,
            );
          }
        }
        shift[c] = sh;
        // Rule 4: async children and clipping.
        const s0 = start[c] + sh;
        const e0 = end[c] + sh;
        if (underAsync) {
          ws[c] = s0;
          we[c] = e0;
          queue[tail++] = c;
          continue;
        }
        const reason =
          cs.kind === 'consumer' && ps.kind === 'producer'
            ? 'consumer of a producer'
            : cs.parentRef === 'follows-from'
              ? 'FOLLOWS_FROM reference'
              : s0 >= we[p]
                ? "starts at or after its parent's end"
                : e0 <= ws[p]
                  ? "ends at or before its parent's start"
                  : undefined;
        if (reason !== undefined) {
          diag.add('child_async', () => `${formatSource(cs.source)}: span ${cs.spanId} "${cs.name}" in trace ${trace.traceId}: ${reason}`);
          ws[c] = s0;
          we[c] = e0;
          queue[tail++] = c;
          continue;
        }
        const cs0 = Math.max(s0, ws[p]);
        const ce0 = Math.min(e0, we[p]);
        if (cs0 !== s0 || ce0 !== e0) {
          diag.add('child_clipped', () => `${formatSource(cs.source)}: span ${cs.spanId} "${cs.name}" [${s0}, ${e0}] clipped to its parent's window [${ws[p]}, ${we[p]}] (ns from trace start)`);
        }
        ws[c] = cs0;
        we[c] = ce0;
        eligible[c] = 1;
        queue[tail++] = c;
      }
    }
  }
  return { trace, primaryRoot, otherRoots, ws, we, shift, eligible, eps };
}
