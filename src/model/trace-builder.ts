// The builder owns the trace invariants: importers hand it spans, it drops resends, groups
// spans by trace, resolves parents (reporting missing ones and cycles) and produces compact
// per-trace arrays for the analysis hot loops. Graphs are materialised from these on demand
// (graph.ts).
import type { Diagnostics } from './diagnostics.js';
import { formatSource, type SpanInput } from './span.js';
import { SpanIdIndex } from './span-id-index.js';

/** One trace, immutable once built. Index i in every array is span i. */
export interface Trace {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  readonly spans: readonly SpanInput[];
  /** The earliest span start; `start`/`end` are relative to it so that they fit a double exactly. */
  readonly baseNs: bigint;
  /** Start, relative to baseNs, in integer nanoseconds (as imported, before any skew adjustment). */
  readonly start: Float64Array;
  readonly end: Float64Array;
  /** Index of the parent span, or -1 when the span has no parent in this trace. */
  readonly parent: Int32Array;
  /** Children of span i are childIndex[childOffset[i] .. childOffset[i + 1]), in input order. */
  readonly childOffset: Int32Array;
  readonly childIndex: Int32Array;
  /** 1 for spans that no root reaches (parent cycles). */
  readonly unreachable: Uint8Array;
}

export interface TraceSet {
  /** Handed over: the builder keeps no reference, so a caller may empty it to free traces early. */
  readonly traces: Trace[];
  readonly spanCount: number;
}

interface Pending {
  readonly spans: SpanInput[];
}

export class TraceSetBuilder {
  private readonly pending = new Map<string, Pending>();
  constructor(private readonly diag: Diagnostics) {}

  add(span: SpanInput): void {
    let s = span;
    if (s.endNs < s.startNs) {
      this.diag.add('end_before_start', () => `${formatSource(span.source)}: span ${span.spanId} "${span.name}" ends ${span.startNs - span.endNs} ns before it starts`);
      s = { ...s, endNs: s.startNs };
    }
    let p = this.pending.get(s.traceId);
    if (!p) {
      p = { spans: [] };
      this.pending.set(s.traceId, p);
    }
    // Resends are dropped in build(): a span-id index per trace held through the whole
    // import cost more memory (and garbage-collection time) than building it once per trace.
    p.spans.push(s);
  }

  /** Builds every trace; the builder is empty afterwards. */
  build(): TraceSet {
    const traces: Trace[] = [];
    let spanCount = 0;
    for (const [traceId, p] of this.pending) {
      const t = this.buildTrace(traceId, p.spans);
      spanCount += t.spans.length;
      traces.push(t);
    }
    this.pending.clear();
    return { traces, spanCount };
  }

  private buildTrace(traceId: string, input: readonly SpanInput[]): Trace {
    // Index by span id, keeping the first of any resends.
    const index = new SpanIdIndex(input.length);
    let kept: SpanInput[] | undefined;
    for (let i = 0; i < input.length; i++) {
      const s = input[i];
      if (!s) continue;
      const f = index.add(s.spanId, kept ? kept.length : i);
      if (f < 0) {
        kept?.push(s);
      } else {
        kept ??= input.slice(0, i);
        const first = kept[f];
        this.diag.add('span_duplicate', () => {
          const here = formatSource(s.source);
          const there = first ? formatSource(first.source) : undefined;
          // Both copies may come from one record (a line, or one streamed element): do not name it twice.
          const which = there === undefined ? 'repeats an earlier one' : there === here ? 'repeats an earlier one in the same record' : `repeats the one at ${there}`;
          return `${here}: span ${s.spanId} of trace ${traceId} ${which}; the first was kept`;
        });
      }
    }
    const spans = kept ?? input;
    const n = spans.length;
    let base = spans[0]?.startNs ?? 0n;
    for (const s of spans) if (s.startNs < base) base = s.startNs;
    const start = new Float64Array(n);
    const end = new Float64Array(n);
    const parent = new Int32Array(n).fill(-1);
    const childCount = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const s = spans[i];
      if (!s) continue;
      start[i] = Number(s.startNs - base);
      end[i] = Number(s.endNs - base);
      if (s.parentSpanId !== undefined) {
        const pi = index.get(s.parentSpanId);
        if (pi < 0) {
          this.diag.add('parent_missing', () => `${formatSource(s.source)}: span ${s.spanId} "${s.name}": parent ${s.parentSpanId} is not in trace ${traceId}`);
        } else {
          parent[i] = pi;
          childCount[pi + 1] = (childCount[pi + 1] ?? 0) + 1;
        }
      }
    }
    const childOffset = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) childOffset[i + 1] = (childOffset[i] ?? 0) + (childCount[i + 1] ?? 0);
    const next = childOffset.slice(0, n);
    const childIndex = new Int32Array(childOffset[n] ?? 0);
    for (let i = 0; i < n; i++) {
      const pi = parent[i] ?? -1;
      if (pi >= 0) childIndex[next[pi]++] = i;
    }
    const unreachable = findUnreachable(parent, childOffset, childIndex);
    let cyc = 0;
    let example = -1;
    for (let i = 0; i < n; i++) {
      if (unreachable[i] === 1) {
        cyc++;
        if (example < 0) example = i;
      }
    }
    if (cyc > 0) {
      const ex = spans[example];
      this.diag.add('parent_cycle', () => `${ex ? formatSource(ex.source) : traceId}: ${cyc} span(s) of trace ${traceId} form a parent cycle (e.g. span ${ex?.spanId ?? '?'}) and no root reaches them`, cyc);
    }
    return { traceId, spans, baseNs: base, start, end, parent, childOffset, childIndex, unreachable };
  }
}

/** Spans not reachable from a parentless span: members (and descendants) of parent cycles. Iterative. */
function findUnreachable(parent: Int32Array, childOffset: Int32Array, childIndex: Int32Array): Uint8Array {
  const n = parent.length;
  const reached = new Uint8Array(n);
  const stack: number[] = [];
  for (let i = 0; i < n; i++) if (parent[i] === -1) stack.push(i);
  while (stack.length > 0) {
    const i = stack.pop() ?? 0;
    if (reached[i] === 1) continue;
    reached[i] = 1;
    for (let k = childOffset[i] ?? 0; k < (childOffset[i + 1] ?? 0); k++) stack.push(childIndex[k] ?? 0);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = reached[i] === 1 ? 0 : 1;
  return out;
}
