// Spans with event logs of the same run (`--threads`): each analysed trace's path sections split
// into the threads that held them up (analysis/analysed-trace.ts), as report entries, and the
// thread lanes of the traces shown in full.
import { splitByThreads, type AnalysedTrace, type ThreadWindow } from '../../analysis/analysed-trace.js';
import { countSharedSections, type ThreadSource } from '../../analysis/threads/span-threads.js';
import { ThreadNames } from '../../analysis/threads/thread-traces.js';
import type { ThreadModel } from '../../analysis/threads/types.js';
import type { Diagnostics } from '../model/diagnostics.js';
import { toReportTraceDetail } from '../report/span-json.js';
import { toReportLanes, toSplitSections } from '../report/thread-json.js';
import { toReportTrace } from '../report/trace-json.js';
import type { ReportInput, ReportTrace, ReportTraceDetail } from '../report/types.js';

export class ThreadSplit {
  readonly sources: readonly ThreadSource[];
  /** Every split section's thread window so far, to find threads shared between traces. */
  private readonly windows: ThreadWindow[] = [];

  constructor(readonly models: readonly ThreadModel[]) {
    this.sources = models.map((model) => ({ model, names: new ThreadNames(model) }));
  }

  /** The trace's report entry with the sections of every root's path split into threads. */
  reportTrace(a: AnalysedTrace, windows: ThreadWindow[] = this.windows): ReportTrace {
    const { trace, analysis } = a;
    const rt = toReportTrace(a);
    const split = (path: AnalysedTrace['analysis']['path']) => toSplitSections(trace, splitByThreads(trace, path, this.sources, windows));
    return {
      ...rt,
      criticalPath: split(analysis.path),
      ...(rt.otherRoots ? { otherRoots: rt.otherRoots.map((o, i) => ({ ...o, criticalPath: split(analysis.otherRoots[i]?.path ?? []) })) } : {}),
    };
  }

  /** A trace in full, its path split into threads, with the lanes of the threads it ran or waited on. */
  detail(a: AnalysedTrace): ReportTraceDetail {
    const d = toReportTraceDetail(a);
    const t = this.reportTrace(a, []);
    d.criticalPath = t.criticalPath;
    if (t.otherRoots) d.otherRoots = t.otherRoots;
    d.threads = toReportLanes(this.sources, d.criticalPath, a.startNs, d.durationNs);
    return d;
  }

  /** Counts the sections whose thread served another trace at the same time (once every trace was split). */
  finish(diag: Diagnostics): void {
    const shared = countSharedSections(this.windows);
    if (shared > 0) diag.add('thread_shared', `${shared} critical-path sections ran on a thread (e.g. an event loop) that served another trace's spans at the same time: their thread-level split is shared between those traces, not exclusive`, shared);
  }

  /** What the event logs held, for the report's input. */
  input(): NonNullable<ReportInput['threads']> {
    return threadInput(this.models);
  }
}

export function threadInput(models: readonly ThreadModel[]): NonNullable<ReportInput['threads']> {
  let threads = 0;
  let spread = 0;
  for (const m of models) {
    threads += m.threads.size;
    spread = Math.max(spread, m.anchorSpreadNs);
  }
  return { logs: models.length, threads, anchorSpreadNs: spread, targetPids: models.flatMap((m) => [...m.targetPids]) };
}
