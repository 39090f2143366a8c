// Builds the thread-level model (types.ts, docs/critical-path.md section 2) from a parsed event log.
// Pure and iterative: one pass over the time-ordered events, a small state machine per thread.
//
// States: a thread is running from its switch-in (SW next) to its switch-out (SW prev). At
// switch-out, `prev_state & 0xff`: 0 -> runnable (preempted; 0x100 is the preempt bit), X 0x10 /
// Z 0x20 -> dead (the history ends there), D 0x2 -> blocked, anything else (S 0x1, I 0x80 idle
// sleep, T, t, P) -> sleeping. A WK (sched_waking) on a sleeping/blocked thread ends that
// segment at the waking time with a `wake`, and the thread is runnable until its next switch-in.
// A WK on a thread already runnable or running is normal and ignored. WN: the child is runnable
// from then (its pid is learned later).
//
// Wake reasons, from the WK context:
//   `-`                         wakeup, wakerTid = the waker (tid 0, the idle task: unknown)
//   `hrtimer`, `softirq:1` TIMER, `softirq:8` HRTIMER            timer
//   `softirq:2` NET_TX, `softirq:3` NET_RX                        network
//   `softirq:4` BLOCK                                             block-io
//   `hardirq:N`                                                   irq (irq N)
//   `softirq:0` HI, `softirq:5` IRQ_POLL, `softirq:6` TASKLET     irq (device bottom halves; irq = vector)
//   `softirq:7` SCHED, `softirq:9` RCU, anything else             unknown
// For softirqs `irq` is the vector. In interrupt context the WK's current task is the
// interrupted one: nothing is learned from it and nothing is blamed on it.
//
// Identity: a thread's tgid is learned from events where it is current (SW prev, WK waker in
// task context, WN parent, EX, RN, UE, UX, US, ST); its comm from every comm field, RN renames
// and comm changes seen in fields are kept in `comms`. The idle task (tid 0, one per CPU) is not
// a thread: it is left out of `threads`.
//
// History: from the thread's first event that tells its state (SW either side, WK either side,
// WN, EX, UE, UX, US, ST; an RN alone does not, since a thread can be renamed by another) to its
// death (SW with X/Z) or the end of the log; a thread that logged EX but whose final switch was
// not seen ends at its last event. Events naming a thread after its death (tid reuse) are
// ignored and counted. Zero-length segments are dropped; segments are contiguous and in order.
//
// Inconsistencies (usually lost events: a switch-in of a sleeping thread, a switch-out or WK of a
// thread not known to be running) are counted as thread_state_inconsistent and the newer event
// wins: the current segment is closed at that time (a sleep closed by a switch-in gets a wake of
// reason `unknown` at the switch-in).
//
// Calls: UE pushes a call on its thread's stack, UX pops the innermost open call of that name
// (inner calls still open end there, complete=false); a UX with no open call of that name is
// return_unmatched; calls open at the thread's end end there, complete=false (call_unfinished).
// Stacks: ST stacks of a thread (kernel frames first, then user frames: innermost first) are
// attached to the sleeping/blocked segment starting at its next SW; a switch-out to runnable
// discards them.
//
// Clock: bootToUnixNs is the exact median of the consistent anchors' (unix - boot) offsets
// (`AN` lines and `# clock:` readings), anchorSpreadNs their max - min; -1 when there are no
// anchors (bootToUnixNs is then 0).
import { EventKind, type Anchor, type EventLog } from '../../src/model/event-log.js';
import { medianBigint } from '../../src/model/time.js';
import type { Diagnostics } from '../../src/model/diagnostics.js';
import type { FunctionCall, Segment, ThreadModel, ThreadState, ThreadTimeline, Wake, WaitReason } from './types.js';

const UNKNOWN = 0;
const RUNNING = 1;
const RUNNABLE = 2;
const SLEEPING = 3;
const BLOCKED = 4;
const DEAD = 5;
const STATE_NAMES: readonly (ThreadState | undefined)[] = [undefined, 'running', 'runnable', 'sleeping', 'blocked', undefined];

interface MutableCall {
  name: string;
  start: number;
  end: number;
  depth: number;
  complete: boolean;
  nameId: number;
  /** Line of the entry, for diagnostics. */
  line: number;
}

interface Builder {
  readonly tid: number;
  pid: number;
  commId: number;
  readonly comms: { t: number; comm: string }[];
  readonly segments: Segment[];
  readonly calls: MutableCall[];
  readonly open: MutableCall[];
  state: number;
  since: number;
  /** Stack attached to the current (sleeping/blocked) segment. */
  segStack: string[] | undefined;
  /** ST stacks waiting for the next switch-out. */
  pending: { kernel: string[]; user: string[] } | undefined;
  exited: boolean;
  last: number;
}

/** The wake reason of a WK context string; undefined for task context (`-`). */
export function wakeFromContext(ctx: string): { reason: WaitReason; irq?: number } | undefined {
  if (ctx === '-') return undefined;
  if (ctx === 'hrtimer') return { reason: 'timer' };
  const colon = ctx.indexOf(':');
  const n = colon > 0 && /^\d{1,9}$/.test(ctx.slice(colon + 1)) ? Number(ctx.slice(colon + 1)) : undefined;
  const kind = colon > 0 ? ctx.slice(0, colon) : ctx;
  if (kind === 'hardirq') return n === undefined ? { reason: 'irq' } : { reason: 'irq', irq: n };
  if (kind === 'softirq' && n !== undefined) {
    switch (n) {
      case 1:
      case 8:
        return { reason: 'timer', irq: n };
      case 2:
      case 3:
        return { reason: 'network', irq: n };
      case 4:
        return { reason: 'block-io', irq: n };
      case 0:
      case 5:
      case 6:
        return { reason: 'irq', irq: n };
      default:
        return { reason: 'unknown', irq: n };
    }
  }
  return { reason: 'unknown' };
}

export function buildThreadModel(log: EventLog, diag: Diagnostics): ThreadModel {
  const replay = new EventReplay(log);
  replay.run();
  const threads = replay.timelines();
  replay.report(diag);
  const { bootToUnixNs, anchorSpreadNs } = clockMapping(log.anchors);
  return {
    originBootNs: log.originBootNs,
    bootToUnixNs,
    anchorSpreadNs,
    endNs: replay.endNs,
    threads,
    targetPids: log.header.targetPids,
  };
}

/**
 * The one pass over the time-ordered events: a state machine per thread (the rules at the top of
 * this file), and the counts and first examples of what did not add up.
 */
class EventReplay {
  /** Time of the last event: the end of every history still open. */
  readonly endNs: number;
  private readonly threads = new Map<number, Builder>();
  /** Per WK context string id: its wake (null: task context). */
  private readonly ctxWake = new Map<number, Wake | { reason: WaitReason; irq?: number } | null>();
  // bpftrace's own threads: the recorder drops their switches to and from idle by design
  // (self-noise), so their timelines are knowingly incomplete and not counted as inconsistent.
  private readonly tracer: Set<number>;
  private inconsistent = 0;
  private inconsistentExample: string | undefined;
  private unmatched = 0;
  private unmatchedExample: string | undefined;
  private unfinished = 0;
  private unfinishedExample: string | undefined;

  constructor(private readonly log: EventLog) {
    const n = log.count;
    this.endNs = n > 0 ? (log.ts[n - 1] as number) : 0;
    this.tracer = new Set(log.header.tracerPids);
  }

  /** Every event, in time order, to the step of its kind. */
  run(): void {
    const { ts, kind } = this.log;
    const n = this.log.count;
    for (let i = 0; i < n; i++) {
      const t = ts[i] as number;
      switch (kind[i]) {
        case EventKind.SW:
          this.switchEvent(i, t);
          break;
        case EventKind.WK:
          this.wakeEvent(i, t);
          break;
        case EventKind.WN:
          this.newThreadEvent(i, t);
          break;
        case EventKind.RN:
          this.renameEvent(i, t);
          break;
        case EventKind.EX:
        case EventKind.UE:
        case EventKind.UX:
        case EventKind.US:
        case EventKind.ST:
          this.taskEvent(i, t);
          break;
        default:
          break;
      }
    }
  }

  /** SW: the switch-out of prev (to the state its prev_state says), then the switch-in of next. */
  private switchEvent(i: number, t: number): void {
    const prev = this.log.tid[i] as number;
    const next = this.log.arg2[i] as number;
    if (prev !== 0) this.switchOut(i, t, prev);
    if (next !== 0) this.switchIn(i, t, next);
  }

  /** prev leaves the CPU: runnable, dead, blocked or sleeping (pending ST stacks go to a sleep). */
  private switchOut(i: number, t: number, prev: number): void {
    const b = this.thread(prev);
    if (this.dead(b, i)) return;
    b.pid = this.log.pid[i] as number;
    this.setComm(b, t, this.log.s1[i] as number);
    if (b.state !== RUNNING && b.state !== UNKNOWN) {
      this.noteInconsistent(i, prev, () => `thread ${prev} switched out while ${STATE_NAMES[b.state]}`);
    }
    if (b.state === UNKNOWN) {
      b.state = RUNNING;
      b.since = t;
    }
    b.last = t;
    const st = (this.log.arg[i] as number) & 0xff;
    const to = st === 0 ? RUNNABLE : (st & 0x30) !== 0 ? DEAD : (st & 0x2) !== 0 ? BLOCKED : SLEEPING;
    this.enter(b, t, to);
    const p = b.pending;
    b.pending = undefined;
    if ((to === SLEEPING || to === BLOCKED) && p !== undefined) b.segStack = [...p.kernel, ...p.user];
    if (to === DEAD) this.closeCalls(b, t);
  }

  /** next gets the CPU: running from a runnable state; from a sleep, a wakeup was missed. */
  private switchIn(i: number, t: number, next: number): void {
    const b = this.thread(next);
    if (this.dead(b, i)) return;
    this.setComm(b, t, this.log.s2[i] as number);
    b.last = t;
    switch (b.state) {
      case UNKNOWN:
        b.state = RUNNING;
        b.since = t;
        break;
      case RUNNABLE:
        this.enter(b, t, RUNNING);
        break;
      case RUNNING:
        this.noteInconsistent(i, next, () => `thread ${next} switched in while already running`);
        break;
      default:
        this.noteInconsistent(i, next, () => `thread ${next} switched in while ${STATE_NAMES[b.state]}, without a wakeup`);
        this.enter(b, t, RUNNING, { t, reason: 'unknown' });
    }
  }

  /** WK: in task context the waker is current; a sleeping or blocked wakee becomes runnable with the wake. */
  private wakeEvent(i: number, t: number): void {
    const w = this.contextWake(this.log.arg[i] as number);
    const waker = this.log.tid[i] as number;
    if (w === null && waker !== 0) {
      const b = this.thread(waker);
      if (!this.dead(b, i)) {
        b.pid = this.log.pid[i] as number;
        this.setComm(b, t, this.log.s1[i] as number);
        this.current(b, t, i);
      }
    }
    const wakee = this.log.arg2[i] as number;
    if (wakee === 0) return;
    const b = this.thread(wakee);
    if (b.state === DEAD) return; // a wakeup of a dead thread: nothing to do
    this.setComm(b, t, this.log.s2[i] as number);
    b.last = t;
    if (b.state === UNKNOWN) {
      b.state = RUNNABLE;
      b.since = t;
    } else if (b.state === SLEEPING || b.state === BLOCKED) {
      const wake: Wake = w === null ? (waker !== 0 ? { t, reason: 'wakeup', wakerTid: waker } : { t, reason: 'unknown' }) : w.irq !== undefined ? { t, reason: w.reason, irq: w.irq } : { t, reason: w.reason };
      this.enter(b, t, RUNNABLE, wake);
    }
  }

  /** The wake reason of a WK context string id, worked out once per id (null: task context). */
  private contextWake(ctxId: number): { reason: WaitReason; irq?: number } | null {
    let w = this.ctxWake.get(ctxId);
    if (w === undefined) {
      w = wakeFromContext(this.log.strings[ctxId] ?? '') ?? null;
      this.ctxWake.set(ctxId, w);
    }
    return w;
  }

  /** WN: the parent is current; the child is runnable from now. */
  private newThreadEvent(i: number, t: number): void {
    const parent = this.log.tid[i] as number;
    if (parent !== 0) {
      const b = this.thread(parent);
      if (!this.dead(b, i)) {
        b.pid = this.log.pid[i] as number;
        this.current(b, t, i);
      }
    }
    const child = this.log.arg2[i] as number;
    if (child === 0) return;
    const b = this.thread(child);
    if (this.dead(b, i)) return;
    this.setComm(b, t, this.log.s1[i] as number);
    b.last = t;
    if (b.state === UNKNOWN) {
      b.state = RUNNABLE;
      b.since = t;
    } else {
      this.noteInconsistent(i, child, () => `new thread ${child} was already known`);
      if (b.state !== RUNNABLE) this.enter(b, t, RUNNABLE);
    }
  }

  /** RN: a new comm (possibly set by another thread: it says nothing of the state). */
  private renameEvent(i: number, t: number): void {
    const tid = this.log.tid[i] as number;
    if (tid === 0) return;
    const b = this.thread(tid);
    if (this.dead(b, i)) return;
    b.pid = this.log.pid[i] as number;
    this.setComm(b, t, this.log.s1[i] as number);
  }

  /** EX, UE, UX, US, ST: events of the current thread, in task context. */
  private taskEvent(i: number, t: number): void {
    const tid = this.log.tid[i] as number;
    if (tid === 0) return;
    const b = this.thread(tid);
    if (this.dead(b, i)) return;
    b.pid = this.log.pid[i] as number;
    this.current(b, t, i);
    const k = this.log.kind[i];
    if (k === EventKind.EX) {
      this.setComm(b, t, this.log.s1[i] as number);
      b.exited = true;
    } else if (k === EventKind.UE) {
      this.callEntry(b, i, t);
    } else if (k === EventKind.UX) {
      this.callReturn(b, i, t);
    } else if (k === EventKind.ST) {
      this.stackRecord(b, i);
    }
  }

  /** UE: a call opens on the thread's stack of calls. */
  private callEntry(b: Builder, i: number, t: number): void {
    const nameId = this.log.s1[i] as number;
    const c: MutableCall = { name: this.log.strings[nameId] as string, start: t, end: t, depth: b.open.length, complete: false, nameId, line: this.log.line[i] as number };
    b.calls.push(c);
    b.open.push(c);
  }

  /** UX: closes the innermost open call of that name; calls opened inside it and still open end here, unfinished. */
  private callReturn(b: Builder, i: number, t: number): void {
    const { file, strings, line: lineCol } = this.log;
    const nameId = this.log.s1[i] as number;
    let j = b.open.length - 1;
    while (j >= 0 && (b.open[j] as MutableCall).nameId !== nameId) j--;
    if (j < 0) {
      if (this.unmatched++ === 0) this.unmatchedExample = `${file}:${lineCol[i]}: ${strings[nameId]} returned on thread ${b.tid} without an entry`;
      return;
    }
    for (let q = b.open.length - 1; q > j; q--) {
      const c = b.open[q] as MutableCall;
      c.end = t;
      c.complete = false;
      if (this.unfinished++ === 0) this.unfinishedExample = `${file}:${c.line}: ${c.name} entered on thread ${b.tid} did not return before its caller ${strings[nameId]} (line ${lineCol[i]})`;
    }
    const c = b.open[j] as MutableCall;
    c.end = t;
    c.complete = true;
    b.open.length = j;
  }

  /** ST: a stack waits (kernel and user frames apart) for the thread's next switch-out. */
  private stackRecord(b: Builder, i: number): void {
    const st = this.log.stacks[this.log.arg[i] as number];
    if (st === undefined) return;
    const p = (b.pending ??= { kernel: [], user: [] });
    if (st.kind === 'k') p.kernel.push(...st.frames);
    else p.user.push(...st.frames);
  }

  /**
   * Every thread's history ended (at the end of the log, or its last event after an EX), its open
   * calls closed, as timelines by tid.
   */
  timelines(): Map<number, ThreadTimeline> {
    const strings = this.log.strings;
    const out = new Map<number, ThreadTimeline>();
    for (const b of this.threads.values()) {
      if (b.state !== DEAD && b.state !== UNKNOWN) {
        const end = b.exited ? b.last : this.endNs;
        this.enter(b, end, UNKNOWN);
        this.closeCalls(b, end);
      } else if (b.state === UNKNOWN) {
        this.closeCalls(b, b.last);
      }
      const calls: FunctionCall[] = b.calls.map((c) => ({ name: c.name, start: c.start, end: c.end, depth: c.depth, complete: c.complete }));
      out.set(b.tid, {
        tid: b.tid,
        pid: b.pid,
        comm: b.commId >= 0 ? (strings[b.commId] as string) : '',
        comms: b.comms,
        segments: b.segments,
        calls,
      });
    }
    return out;
  }

  /** The counts of what did not add up, with their first examples. */
  report(diag: Diagnostics): void {
    if (this.inconsistent > 0) diag.add('thread_state_inconsistent', this.inconsistentExample, this.inconsistent);
    if (this.unmatched > 0) diag.add('return_unmatched', this.unmatchedExample, this.unmatched);
    if (this.unfinished > 0) diag.add('call_unfinished', this.unfinishedExample, this.unfinished);
  }

  private noteInconsistent(i: number, tid: number, what: () => string): void {
    const tracer = this.tracer;
    if (tracer.size > 0 && (tracer.has(tid) || tracer.has(this.threads.get(tid)?.pid ?? -1))) return;
    if (this.inconsistent++ === 0) this.inconsistentExample = `${this.log.file}:${this.log.line[i]}: ${what()}`;
  }

  private thread(tid: number): Builder {
    let b = this.threads.get(tid);
    if (b === undefined) {
      b = { tid, pid: -1, commId: -1, comms: [], segments: [], calls: [], open: [], state: UNKNOWN, since: 0, segStack: undefined, pending: undefined, exited: false, last: 0 };
      this.threads.set(tid, b);
    }
    return b;
  }

  private setComm(b: Builder, t: number, id: number): void {
    if (id < 0 || id === b.commId) return;
    b.commId = id;
    b.comms.push({ t, comm: this.log.strings[id] as string });
  }

  /** Ends the current segment at t (dropped when empty) and enters `state` at t. */
  private enter(b: Builder, t: number, state: number, wake?: Wake): void {
    const s = STATE_NAMES[b.state];
    if (s !== undefined && t > b.since) {
      const seg: { start: number; end: number; state: ThreadState; wake?: Wake; stack?: readonly string[] } = { start: b.since, end: t, state: s };
      if (wake !== undefined) seg.wake = wake;
      if (b.segStack !== undefined) seg.stack = b.segStack;
      b.segments.push(seg);
    }
    b.segStack = undefined;
    b.state = state;
    b.since = t;
  }

  private closeCalls(b: Builder, t: number): void {
    for (let j = b.open.length - 1; j >= 0; j--) {
      const c = b.open[j] as MutableCall;
      c.end = t;
      c.complete = false;
      if (this.unfinished++ === 0) this.unfinishedExample = `${this.log.file}:${c.line}: ${c.name} entered on thread ${b.tid} never returned`;
    }
    b.open.length = 0;
  }

  /** The thread is current at t (it emitted an event in task context). */
  private current(b: Builder, t: number, i: number): void {
    b.last = t;
    switch (b.state) {
      case RUNNING:
        return;
      case UNKNOWN:
        b.state = RUNNING;
        b.since = t;
        return;
      case RUNNABLE:
        this.noteInconsistent(i, b.tid, () => `thread ${b.tid} emitted an event while runnable (switch-in missing)`);
        this.enter(b, t, RUNNING);
        return;
      default:
        this.noteInconsistent(i, b.tid, () => `thread ${b.tid} emitted an event while ${STATE_NAMES[b.state]} (wakeup and switch-in missing)`);
        this.enter(b, t, RUNNING, { t, reason: 'unknown' });
    }
  }

  /** True (and counted) when the thread died before: an event naming it after that is ignored. */
  private dead(b: Builder, i: number): boolean {
    if (b.state !== DEAD) return false;
    this.noteInconsistent(i, b.tid, () => `thread ${b.tid} appears after its death (tid reused?): ignored`);
    return true;
  }
}

/**
 * Boot time to Unix time: the exact median of the consistent anchors' (unix - boot) offsets, and
 * their spread (max - min; -1 when there are none, and the offset is then 0).
 */
function clockMapping(anchors: readonly Anchor[]): { bootToUnixNs: bigint; anchorSpreadNs: number } {
  const offsets = anchors.filter((a) => a.consistent).map((a) => a.unixNs - a.bootNs);
  let bootToUnixNs = 0n;
  let anchorSpreadNs = -1;
  if (offsets.length > 0) {
    bootToUnixNs = medianBigint(offsets);
    let lo = offsets[0] as bigint;
    let hi = lo;
    for (const o of offsets) {
      if (o < lo) lo = o;
      if (o > hi) hi = o;
    }
    anchorSpreadNs = Number(hi - lo);
  }
  return { bootToUnixNs, anchorSpreadNs };
}
