// What an analysed trace is, whatever then renders it (JSON, text, HTML, exports, diff, the
// server): the trace, its analysis and its summary; its critical path by call path; and its path
// sections split into the threads that held them up, when event logs came with the spans.
import type { Trace } from '../src/model/trace-builder.js';
import type { PathSection } from './critical-path.js';
import type { ComponentTime, TraceSummary } from './endpoints.js';
import { decomposeSection, spanThread, type ThreadSource } from './threads/span-threads.js';
import type { ResolvedSection } from './threads/thread-traces.js';
import type { TraceAnalysis } from './trace-analysis.js';

export interface AnalysedTrace {
  readonly trace: Trace;
  readonly analysis: TraceAnalysis;
  /** Primary root start, Unix ns. */
  readonly startNs: bigint;
  readonly endpoint: { readonly service: string; readonly operation: string };
  /** Critical-path time per component, as summarised for the endpoint statistics. */
  readonly components: ReadonlyMap<string, ComponentTime>;
}

export function analysedTrace(trace: Trace, analysis: TraceAnalysis, summary: TraceSummary): AnalysedTrace {
  return { trace, analysis, startNs: summary.startNs, endpoint: { service: summary.service, operation: summary.operation }, components: summary.components };
}

/** A span's frame name, `service operation`, safe for folded stacks (no `;`, no newlines). */
export function frameName(service: string, operation: string): string {
  return `${service} ${operation}`.replace(/;/g, ':').replace(/[\r\n]+/g, ' ');
}

/**
 * The primary root's critical path by call path: for each section, the frames from the root down
 * to the span owning the section, and the section's length in integer ns.
 */
export function pathStacks(a: AnalysedTrace): { frames: string[]; ns: number }[] {
  const { trace, analysis } = a;
  const memo = new Map<number, string[]>();
  const stackOf = (i: number): string[] => {
    const hit = memo.get(i);
    if (hit) return hit;
    const chain: number[] = [];
    const seen = new Set<number>();
    for (let j = i; j >= 0 && !seen.has(j); j = trace.parent[j] ?? -1) {
      seen.add(j);
      chain.push(j);
    }
    const frames = chain.reverse().map((j) => {
      const s = trace.spans[j];
      return frameName(s?.resource.service ?? '', s?.name ?? '');
    });
    memo.set(i, frames);
    return frames;
  };
  return analysis.path.map((sec) => ({ frames: stackOf(sec.span), ns: Math.round(sec.end - sec.start) }));
}

/** A section of a span-level path and, when an event log recorded its span's thread, the thread-level sections that cover it exactly. */
export interface ThreadSplitSection {
  readonly section: PathSection;
  readonly threads?: readonly ResolvedSection[];
}

/** A time window of one thread that a trace's path section held (for `countSharedSections`). */
export interface ThreadWindow {
  readonly key: string;
  readonly traceId: string;
  readonly start: bigint;
  readonly end: bigint;
}

/**
 * Splits each section of `path` into the sections of the thread-level walk over its span's thread
 * during that section; sections whose span no log recorded, or of zero length, stay whole. The
 * span-level answer is unchanged: the parts cover their section exactly. Each split section's
 * window is added to `windows`.
 */
export function splitByThreads(trace: Trace, path: readonly PathSection[], sources: readonly ThreadSource[], windows: ThreadWindow[]): ThreadSplitSection[] {
  return path.map((section) => {
    const span = trace.spans[section.span];
    const where = span ? spanThread(sources, span) : undefined;
    const durationNs = section.end - section.start;
    if (!where || durationNs <= 0) return { section };
    const start = trace.baseNs + BigInt(section.start);
    windows.push({ key: `${where.tid}`, traceId: trace.traceId, start, end: start + BigInt(durationNs) });
    return { section, threads: decomposeSection(where.source, where.tid, start, durationNs) };
  });
}
