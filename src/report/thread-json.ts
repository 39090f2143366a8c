// Thread-level sections and root calls as report entries (the same ReportTrace / ReportSection
// shapes as spans, with the thread fields filled).
import type { ResolvedSection, ThreadRef, ThreadTrace } from '../../analysis/threads/thread-traces.js';
import type { ReportSection, ReportThread, ReportTrace } from './types.js';

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
