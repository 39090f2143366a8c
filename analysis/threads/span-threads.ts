// Spans and threads together (docs/critical-path.md section 3): each section of a span-level path
// is decomposed by the thread-level walk over the span's thread during that section. The span
// answer is unchanged (the sub-sections cover the section exactly); it gains depth.
import type { SpanInput } from '../../src/model/span.js';
import { threadCriticalPath } from './critical-path.js';
import { ThreadNames, type ResolvedSection } from './thread-traces.js';
import type { ThreadModel } from './types.js';

/** A model with its names, for the spans of the processes it recorded. */
export interface ThreadSource {
  readonly model: ThreadModel;
  readonly names: ThreadNames;
}

/**
 * The thread a span ran on: its `thread.id` attribute when that is an OS thread of the span's
 * process in the log, else the process's main thread (tid = pid; the event loop for Node.js).
 * Undefined when the span has no `process.pid` or no log recorded that process.
 */
export function spanThread(sources: readonly ThreadSource[], span: SpanInput): { source: ThreadSource; tid: number } | undefined {
  const pid = span.resource.pid;
  if (pid === undefined) return undefined;
  const raw = span.attributes['thread.id'];
  const threadId = typeof raw === 'number' ? raw : typeof raw === 'bigint' ? Number(raw) : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : undefined;
  for (const source of sources) {
    const threads = source.model.threads;
    if (threadId !== undefined && threads.get(threadId)?.pid === pid) return { source, tid: threadId };
    if (threads.get(pid)?.pid === pid) return { source, tid: pid };
  }
  return undefined;
}

/** The thread-level sections of [startNs, startNs + durationNs) (Unix ns) on `tid`. */
export function decomposeSection(source: ThreadSource, tid: number, startNs: bigint, durationNs: number): ResolvedSection[] {
  const a = source.names.rel(startNs);
  return threadCriticalPath(source.model, tid, a, a + durationNs).map((s) => source.names.resolve(s));
}

/**
 * Sections (Unix ns windows) that overlap a section of another trace on the same thread: on a
 * shared event loop the thread's activity then serves both, and the decomposition cannot tell
 * which. Returns how many sections overlap another trace's.
 */
export function countSharedSections(windows: readonly { readonly key: string; readonly traceId: string; readonly start: bigint; readonly end: bigint }[]): number {
  const byThread = new Map<string, { traceId: string; start: bigint; end: bigint }[]>();
  for (const w of windows) {
    let l = byThread.get(w.key);
    if (!l) byThread.set(w.key, (l = []));
    l.push(w);
  }
  let shared = 0;
  for (const list of byThread.values()) {
    list.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
    const flagged = new Uint8Array(list.length);
    // Sweep with the windows still open (few at a time on one thread).
    let open: number[] = [];
    for (let i = 0; i < list.length; i++) {
      const w = list[i];
      if (!w) continue;
      open = open.filter((j) => (list[j]?.end ?? 0n) > w.start);
      for (const j of open) {
        if (list[j]?.traceId !== w.traceId) {
          flagged[i] = 1;
          flagged[j] = 1;
        }
      }
      open.push(i);
    }
    for (const f of flagged) shared += f;
  }
  return shared;
}
