// Thread-level sections and root calls as report entries (the same ReportTrace / ReportSection
// shapes as spans, with the thread fields filled).
import type { ResolvedSection, ThreadRef, ThreadTrace } from '../../analysis/threads/thread-traces.js';
import type { ThreadSource } from '../../analysis/threads/span-threads.js';
import { threadLanes } from '../../analysis/threads/lanes.js';
import type { ThreadSplitSection } from '../../analysis/analysed-trace.js';
import type { Trace } from '../model/trace-builder.js';
import { sections } from './trace-json.js';
import type { ReportSection, ReportThread, ReportThreadLane, ReportTrace } from './types.js';

function thread(t: ThreadRef): ReportThread {
  return { pid: t.pid, tid: t.tid, comm: t.comm };
}

/** `span` names the span the section belongs to (span + thread inputs); absent for thread-only. */
export function toThreadSection(s: ResolvedSection, span?: { spanId: string; service: string; operation: string; error?: boolean }): ReportSection {
  return {
    ...(span ? { spanId: span.spanId } : {}),
    service: span ? span.service : s.process,
    operation: span ? span.operation : (s.function ?? '-'),
    startUnixNano: s.startNs.toString(),
    durationNs: s.durationNs,
    ...(span?.error ? { error: true as const } : {}),
    thread: thread(s.thread),
    state: s.state,
    ...(s.function !== undefined ? { function: s.function } : {}),
    ...(s.wait ? { wait: { reason: s.wait.reason, ...(s.wait.waker ? { waker: thread(s.wait.waker) } : {}) } } : {}),
    ...(s.stack ? { stack: [...s.stack] } : {}),
  };
}

/** A span-level path split into threads (analysis/analysed-trace.ts) as report sections: each split section becomes its thread sections, named after its span. */
export function toSplitSections(trace: Trace, split: readonly ThreadSplitSection[]): ReportSection[] {
  return split.flatMap(({ section, threads }) => {
    const plain = sections(trace, [section]);
    const sec = plain[0];
    if (!threads || !sec) return plain;
    const named = { spanId: sec.spanId ?? '', service: sec.service, operation: sec.operation, ...(sec.error ? { error: true } : {}) };
    return threads.map((t) => toThreadSection(t, named));
  });
}

export function toThreadReportTrace(t: ThreadTrace): ReportTrace {
  return {
    traceId: t.traceId,
    service: t.process,
    operation: t.function,
    endpoint: { service: t.process, operation: t.function },
    startUnixNano: t.startNs.toString(),
    durationNs: t.durationNs,
    spans: 0,
    errors: 0,
    criticalPath: t.sections.map((s) => toThreadSection(s)),
  };
}

/** Lanes of the threads a trace's path ran or waited on (and the threads that woke them), over the trace's window. */
export function toReportLanes(sources: readonly ThreadSource[], path: readonly ReportSection[], startNs: bigint, durationNs: number): ReportThreadLane[] {
  const tids: number[] = [];
  const seen = new Set<number>();
  const want = (tid: number | undefined): void => {
    if (tid !== undefined && !seen.has(tid)) {
      seen.add(tid);
      tids.push(tid);
    }
  };
  for (const s of path) want(s.thread?.tid);
  for (const s of path) want(s.wait?.waker?.tid);
  const out: ReportThreadLane[] = [];
  for (const src of sources) {
    const from = src.names.rel(startNs);
    for (const lane of threadLanes(src.model, tids.filter((t) => src.model.threads.has(t)), from, from + durationNs)) {
      out.push({
        thread: thread(src.names.thread(lane.tid)),
        states: lane.segments.map((g) => ({ startUnixNano: src.names.unixNs(g.start).toString(), durationNs: g.end - g.start, state: g.state })),
        wakeups: lane.wakes.map((w) => ({ atUnixNano: src.names.unixNs(w.t).toString(), reason: w.reason, ...(w.wakerTid !== undefined ? { waker: thread(src.names.thread(w.wakerTid)) } : {}) })),
      });
    }
  }
  return out;
}
