// Thread-only inputs (an event log without spans): every root call (a probed function) is
// analysed like a trace, with the thread-level walk, and summarised for the same per-endpoint
// aggregation as spans; components are (thread, state, function) triples.
import type { ComponentTime, TraceSummary } from '../endpoints.js';
import { rootCalls, threadCriticalPath } from './critical-path.js';
import type { ThreadModel, ThreadSection, ThreadState, WaitReason } from './types.js';

/** A thread as the report names it. */
export interface ThreadRef {
  readonly pid: number;
  readonly tid: number;
  readonly comm: string;
}

/** One thread-level section with everything a report shows, times in Unix ns. */
export interface ResolvedSection {
  readonly startNs: bigint;
  readonly durationNs: number;
  readonly thread: ThreadRef;
  /** The process name of the section's thread. */
  readonly process: string;
  readonly state: ThreadState;
  readonly function?: string;
  readonly wait?: { readonly reason: WaitReason; readonly waker?: ThreadRef };
  readonly stack?: readonly string[];
}

/** One root call analysed. */
export interface ThreadTrace {
  /** `PID-TID-STARTUNIXNANO`. */
  readonly traceId: string;
  readonly process: string;
  readonly function: string;
  readonly thread: ThreadRef;
  readonly startNs: bigint;
  readonly durationNs: number;
  readonly sections: readonly ResolvedSection[];
  readonly summary: TraceSummary;
}

export interface WaitTotal {
  readonly reason: WaitReason;
  readonly waker?: string;
  ns: number;
}

/** Names threads and processes and converts the model's relative times to Unix ns. */
export class ThreadNames {
  private readonly processNames = new Map<number, string>();

  constructor(private readonly model: ThreadModel) {
    for (const t of model.threads.values()) {
      // A process is named after its main thread (tid = pid), else any of its threads.
      if (t.tid === t.pid || !this.processNames.has(t.pid)) this.processNames.set(t.pid, t.comm);
    }
  }

  thread(tid: number): ThreadRef {
    const t = this.model.threads.get(tid);
    return { pid: t?.pid ?? -1, tid, comm: t?.comm ?? `tid ${tid}` };
  }

  process(pid: number): string {
    return this.processNames.get(pid) ?? `pid ${pid}`;
  }

  unixNs(rel: number): bigint {
    return this.model.originBootNs + this.model.bootToUnixNs + BigInt(Math.round(rel));
  }

  /** Relative model time of a Unix ns instant (may fall outside the log). */
  rel(unixNs: bigint): number {
    return Number(unixNs - this.model.bootToUnixNs - this.model.originBootNs);
  }

  resolve(s: ThreadSection): ResolvedSection {
    const thread = this.thread(s.tid);
    return {
      startNs: this.unixNs(s.start),
      durationNs: s.end - s.start,
      thread,
      process: this.process(thread.pid),
      state: s.state,
      ...(s.function !== undefined ? { function: s.function } : {}),
      ...(s.wait ? { wait: { reason: s.wait.reason, ...(s.wait.wakerTid !== undefined ? { waker: this.thread(s.wait.wakerTid) } : {}) } } : {}),
      ...(s.stack && s.stack.length > 0 ? { stack: s.stack } : {}),
    };
  }
}

/** Key of a (process, function, thread, state) component. */
export function threadComponentKey(s: ResolvedSection): string {
  return `${s.process}\u0000${s.function ?? '-'}\u0000${s.thread.comm}\u0000${s.state}`;
}

export function analyzeRootCalls(model: ThreadModel, rootFunction?: string): ThreadTrace[] {
  const names = new ThreadNames(model);
  const out: ThreadTrace[] = [];
  for (const { tid, call } of rootCalls(model, rootFunction)) {
    const thread = names.thread(tid);
    const process = names.process(thread.pid);
    const startNs = names.unixNs(call.start);
    const sections = threadCriticalPath(model, tid, call.start, call.end).map((s) => names.resolve(s));
    const components = new Map<string, ComponentTime>();
    for (const s of sections) {
      const k = threadComponentKey(s);
      let c = components.get(k);
      if (!c) components.set(k, (c = { service: s.process, operation: s.function ?? '-', thread: s.thread.comm, state: s.state, ns: 0, errors: 0 }));
      c.ns += s.durationNs;
    }
    const traceId = `${thread.pid}-${tid}-${startNs}`;
    const durationNs = call.end - call.start;
    out.push({
      traceId,
      process,
      function: call.name,
      thread,
      startNs,
      durationNs,
      sections,
      summary: { traceId, service: process, operation: call.name, startNs, durationNs, components },
    });
  }
  return out;
}

/** Waiting time by reason and waker name over the given sections, largest first. */
export function waitTotals(sections: Iterable<ResolvedSection>): WaitTotal[] {
  const byKey = new Map<string, WaitTotal>();
  for (const s of sections) {
    if (!s.wait) continue;
    const waker = s.wait.waker?.comm;
    const k = `${s.wait.reason}\u0000${waker ?? ''}`;
    let w = byKey.get(k);
    if (!w) byKey.set(k, (w = { reason: s.wait.reason, ...(waker !== undefined ? { waker } : {}), ns: 0 }));
    w.ns += s.durationNs;
  }
  return [...byKey.values()].sort((a, b) => b.ns - a.ns || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}
