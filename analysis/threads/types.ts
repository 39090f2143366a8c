// Thread-level model (docs/critical-path.md section 2): per-thread state timelines built from
// scheduler events, with wakeup edges and probed function calls. Times are integer ns relative
// to the log's origin (`ThreadModel.originBootNs`), exact in a double.

export type ThreadState = 'running' | 'runnable' | 'sleeping' | 'blocked';

/** Why a sleep ended: a task woke it (`wakeup`), or an interrupt context did. */
export type WaitReason = 'wakeup' | 'timer' | 'network' | 'block-io' | 'irq' | 'unknown';

/** The end of a sleeping/blocked segment: who made the thread runnable. */
export interface Wake {
  /** When the wakeup happened (sched_waking), relative ns; the wakee is runnable from here. */
  readonly t: number;
  readonly reason: WaitReason;
  /** The waking thread, for reason `wakeup`. */
  readonly wakerTid?: number;
  /** The interrupt line (hardirq) or softirq vector, when known. */
  readonly irq?: number;
}

/** One stretch of a thread in one state. Segments of a thread are contiguous and in time order. */
export interface Segment {
  readonly start: number;
  readonly end: number;
  readonly state: ThreadState;
  /** For sleeping/blocked segments that ended in a known wakeup. */
  readonly wake?: Wake;
  /** For sleeping/blocked segments of a target thread recorded with --stacks: where it blocked (innermost frame first). */
  readonly stack?: readonly string[];
}

/** A probed function call on one thread (uprobe entry to uretprobe). */
export interface FunctionCall {
  readonly name: string;
  readonly start: number;
  /** Return time; the end of the log (or the thread) when the return was not seen. */
  readonly end: number;
  /** 0 for an outermost call on its thread. */
  readonly depth: number;
  /** False when the return was never seen. */
  readonly complete: boolean;
}

export interface ThreadTimeline {
  readonly tid: number;
  /** The thread's process (tgid); -1 when never learned. */
  readonly pid: number;
  /** The thread's name: the last comm seen (renames are kept in `comms`). */
  readonly comm: string;
  readonly comms: readonly { readonly t: number; readonly comm: string }[];
  /** Known history: from the thread's first event (or creation) to its exit or the end of the log. */
  readonly segments: readonly Segment[];
  /** Probed calls, sorted by start (outer before inner at equal starts). */
  readonly calls: readonly FunctionCall[];
}

/** Everything the thread-level analysis reads, as built from one event log. */
export interface ThreadModel {
  /** CLOCK_BOOTTIME ns of relative time 0. */
  readonly originBootNs: bigint;
  /** Unix ns = boot ns + this offset (median of the anchors). */
  readonly bootToUnixNs: bigint;
  /** Max - min of the anchors' offsets, ns: how well the clock mapping is known. */
  readonly anchorSpreadNs: number;
  /** End of the log, relative ns. */
  readonly endNs: number;
  readonly threads: ReadonlyMap<number, ThreadTimeline>;
  /** Processes asked for (`# target-pids:`). */
  readonly targetPids: readonly number[];
}

/** One section of a thread-level critical path: one (thread, state, function) over [start, end). */
export interface ThreadSection {
  readonly tid: number;
  readonly start: number;
  readonly end: number;
  readonly state: ThreadState;
  /** Innermost probed function on that thread at that time. */
  readonly function?: string;
  /** For sleeping/blocked sections: why, and who woke the thread (if a task did). */
  readonly wait?: { readonly reason: WaitReason; readonly wakerTid?: number };
  readonly stack?: readonly string[];
}
