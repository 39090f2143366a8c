// The thread-level critical path of docs/critical-path.md section 2: golden tests on
// hand-built thread models (test/helpers/thread-dsl.ts), a 100k-long handoff chain, and property
// tests against a plain recursive reference implementation of the rules.
// Timelines in the comments: `=` running, `~` runnable, `.` sleeping, `#` blocked (D), ` ` no
// history; `^` marks a wakeup and who did it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rootCalls, threadCriticalPath } from '../../analysis/threads/critical-path.js';
import type { FunctionCall, Segment, ThreadModel, ThreadSection, ThreadState, ThreadTimeline, WaitReason } from '../../analysis/threads/types.js';
import { describeSections, threadModel } from '../helpers/thread-dsl.js';

const MS = 1_000_000;

function path(model: ThreadModel, tid: number, a: number, b: number, unit = 1): string {
  return describeSections(model, threadCriticalPath(model, tid, a * unit, b * unit), unit);
}

/** How many sections cover each unit instant [t, t + 1) of [a, b). */
function coverage(sections: readonly ThreadSection[], a: number, b: number, unit = 1): number[] {
  const counts: number[] = [];
  for (let t = a; t < b; t++) counts.push(sections.filter((s) => s.start <= t * unit && (t + 1) * unit <= s.end).length);
  return counts;
}

describe('thread critical path: the worked example of section 2', () => {
  // ms         0 1      8                               39       48 50        60
  // acceptor   |=|.......... cond var (futex_wait) ........|==|............     serve_order 0-48
  //              ^ wakes worker                        ^ db-pool wakes acceptor
  // worker     ..|=======|.......................................            validate 1-8
  //                      ^ wakes db-pool
  // db-pool    ..........|##### blocked in query ########|=========|........     query 8-39, encode_row 39-48
  //                                  NET_RX softirq wakes ^
  const model = threadModel(
    `
acceptor 101 pid=100: run 0-1 | sleep 1-48 by db-pool stack=futex_wait,cond_wait | run 48-50 | sleep 50-60
  call serve_order 0-48
worker 102 pid=100: sleep 0-1 by acceptor | run 1-8 | sleep 8-60 by timer
  call validate 1-8
db-pool 103 pid=100: sleep 0-8 by worker stack=futex_wait,queue_take | block 8-39 by network stack=io_schedule,pq_recv | run 39-48 | sleep 48-60
  call query 8-39
  call encode_row 39-48`,
    MS,
  );

  it('walks acceptor -> db-pool -> (network) -> db-pool queue -> worker -> acceptor', () => {
    const roots = rootCalls(model, 'serve_order');
    expect(roots.map((r) => [r.tid, r.call.start, r.call.end])).toEqual([[101, 0, 48 * MS]]);
    const { tid, call } = roots[0] as { tid: number; call: FunctionCall };
    const sections = threadCriticalPath(model, tid, call.start, call.end);
    expect(describeSections(model, sections, MS)).toBe('acceptor running serve_order 0-1, worker running validate 1-8, db-pool blocked(network) query 8-39, db-pool running encode_row 39-48');
    expect(sections).toEqual([
      { tid: 101, start: 0, end: 1 * MS, state: 'running', function: 'serve_order' },
      { tid: 102, start: 1 * MS, end: 8 * MS, state: 'running', function: 'validate' },
      { tid: 103, start: 8 * MS, end: 39 * MS, state: 'blocked', function: 'query', wait: { reason: 'network' }, stack: ['io_schedule', 'pq_recv'] },
      { tid: 103, start: 39 * MS, end: 48 * MS, state: 'running', function: 'encode_row' },
    ]);
    // The 48 ms: every millisecond blamed exactly once, durations as in docs/critical-path.md section 2.
    expect(coverage(sections, 0, 48, MS)).toEqual(new Array(48).fill(1));
    expect(sections.map((s) => (s.end - s.start) / MS)).toEqual([1, 7, 31, 9]);
  });

  it("the worker's own history follows its wakeup edge back to the acceptor", () => {
    expect(path(model, 102, 0, 8, MS)).toBe('acceptor running serve_order 0-1, worker running validate 1-8');
  });

  it('the whole acceptor thread: a sleep with no wake info stays on it (unknown)', () => {
    expect(path(model, 101, 0, 60, MS)).toBe(
      'acceptor running serve_order 0-1, worker running validate 1-8, db-pool blocked(network) query 8-39, db-pool running encode_row 39-48, acceptor running 48-50, acceptor sleeping(unknown) 50-60',
    );
  });
});

describe('thread critical path: states and wait reasons', () => {
  // t   0  3  5  8   12 14 15
  // T   |==|~~|==|....|~~|=|
  //                   ^ U
  // U   |=====|~~~|===|.......
  const pre = threadModel(`
T 1: run 0-3 | runnable 3-5 | run 5-8 | sleep 8-12 by U | runnable 12-14 | run 14-15
U 2: run 0-6 | runnable 6-9 | run 9-12 | sleep 12-20`);

  it('runnable (preempted) stretches are blamed on the thread, state runnable', () => {
    expect(path(pre, 1, 0, 15)).toBe('T running 0-3, T runnable 3-5, T running 5-8, U runnable 8-9, U running 9-12, T runnable 12-14, T running 14-15');
  });

  it('windows starting and ending mid-segment (ending mid-sleep walks the waker from the cursor)', () => {
    expect(path(pre, 1, 4, 10)).toBe('T runnable 4-5, T running 5-8, U runnable 8-9, U running 9-10');
    expect(path(pre, 1, 9, 13)).toBe('U running 9-12, T runnable 12-13');
    expect(path(pre, 1, 2, 7)).toBe('T running 2-3, T runnable 3-5, T running 5-7');
    expect(path(pre, 1, 10, 11)).toBe('U running 10-11');
  });

  it('windows ending or starting exactly at a wakeup', () => {
    expect(path(pre, 1, 8, 12)).toBe('U runnable 8-9, U running 9-12');
    expect(path(pre, 1, 12, 14)).toBe('T runnable 12-14');
    expect(path(pre, 1, 5, 8)).toBe('T running 5-8');
    expect(threadCriticalPath(pre, 1, 8, 8)).toEqual([]);
    expect(threadCriticalPath(pre, 1, 9, 3)).toEqual([]);
  });

  it('timer, block-io, irq and unknown wakeups stay on the thread; earlier waits are still followed', () => {
    // t   0    4  6    10 12      20 21 22 25 26 28 29 30 31 32 33
    // T   .....|==|####|==|........|~~|==|...|==|...|==|...|==|...|==|
    //     ^U       ^blk-io   ^timer       ^irq    ^?     ^task  ^(none)
    // U   |====|...................
    const m = threadModel(`
T 1: sleep 0-4 by U | run 4-6 | block 6-10 by block-io | run 10-12 | sleep 12-20 by timer | runnable 20-21 | run 21-22 | sleep 22-25 by irq irq=33 | run 25-26 | sleep 26-28 by unknown | run 28-29 | sleep 29-30 by task | run 30-31 | sleep 31-32 | run 32-33
U 2: run 0-4 | sleep 4-40`);
    expect(path(m, 1, 0, 33)).toBe(
      'U running 0-4, T running 4-6, T blocked(block-io) 6-10, T running 10-12, T sleeping(timer) 12-20, T runnable 20-21, T running 21-22, T sleeping(irq) 22-25, T running 25-26, T sleeping(unknown) 26-28, T running 28-29, T sleeping(unknown) 29-30, T running 30-31, T sleeping(unknown) 31-32, T running 32-33',
    );
  });

  it('zero-length segments change nothing', () => {
    const m = threadModel(`
T 1: run 0-5 | sleep 5-5 by U | runnable 5-5 | run 5-8 | sleep 8-8 by T
U 2: run 0-8`);
    expect(path(m, 1, 0, 8)).toBe('T running 0-8');
    expect(path(m, 1, 5, 8)).toBe('T running 5-8');
    expect(threadCriticalPath(m, 1, 5, 5)).toEqual([]);
  });
});

describe('thread critical path: known history', () => {
  it("a waker whose history starts inside the window: the part before stays on the sleeper", () => {
    // t   0  2     8             20 22
    // T   |==|.....+..............|==|
    //                             ^ W
    // W            |=============|......
    const m = threadModel(`
T 1: run 0-2 | sleep 2-20 by W stack=futex_wait | run 20-22
W 2: run 8-20 | sleep 20-30`);
    const s = threadCriticalPath(m, 1, 0, 22);
    expect(describeSections(m, s)).toBe('T running 0-2, T sleeping(by W) 2-8, W running 8-20, T running 20-22');
    expect(s[1]).toEqual({ tid: 1, start: 2, end: 8, state: 'sleeping', wait: { reason: 'wakeup', wakerTid: 2 }, stack: ['futex_wait'] });
  });

  it('a waker whose history starts with a sleep inside the window', () => {
    const m = threadModel(`
T 1: run 0-2 | sleep 2-20 by W | run 20-22
W 2: sleep 5-9 by timer | run 9-20`);
    expect(path(m, 1, 0, 22)).toBe('T running 0-2, T sleeping(by W) 2-5, W sleeping(timer) 5-9, W running 9-20, T running 20-22');
  });

  it('a waker whose (inconsistent) history ends before the wakeup: both unknown ends stay on the sleeper', () => {
    const m = threadModel(`
T 1: run 0-2 | sleep 2-20 by W | run 20-22
W 2: run 4-10`);
    expect(path(m, 1, 0, 22)).toBe('T running 0-2, T sleeping(by W) 2-4, W running 4-10, T sleeping(by W) 10-20, T running 20-22');
  });

  it("the analysed thread outside its own history is sleeping/unknown", () => {
    const m = threadModel(`T 1: run 5-10 | sleep 10-15 by timer`);
    expect(path(m, 1, 0, 20)).toBe('T sleeping(unknown) 0-5, T running 5-10, T sleeping(timer) 10-15, T sleeping(unknown) 15-20');
    expect(path(m, 999, 0, 10)).toBe('#999 sleeping(unknown) 0-10');
  });

  it('a wakeup edge to a thread with no segments (or not in the model) stays on the sleeper', () => {
    const m = threadModel(`
T 1: run 0-2 | sleep 2-10 by 999 | run 10-12 | sleep 12-15 by ghost | run 15-16
ghost 4:`);
    expect(path(m, 1, 0, 16)).toBe('T running 0-2, T sleeping(by #999) 2-10, T running 10-12, T sleeping(by ghost) 12-15, T running 15-16');
  });
});

describe('thread critical path: mutual wakeups', () => {
  it('ping-pong: A wakes B wakes A, each wait bounded by its window', () => {
    // t   0  2    6  8       14 15
    // A   |==|....|==|.......|=|
    //            ^B         ^B
    // B   ...|====|..|======|.....
    //        ^A      ^A
    const m = threadModel(`
A 1: run 0-2 | sleep 2-6 by B | run 6-8 | sleep 8-14 by B | run 14-15
B 2: sleep 0-2 by A | run 2-6 | sleep 6-8 by A | run 8-14 | sleep 14-20`);
    expect(path(m, 1, 0, 15)).toBe('A running 0-2, B running 2-6, A running 6-8, B running 8-14, A running 14-15');
    expect(path(m, 2, 0, 14)).toBe('A running 0-2, B running 2-6, A running 6-8, B running 8-14');
  });

  it('nested windows: A waits on B over [1, 10], within it B waits on A over [3, 9]', () => {
    // t   0 1  3        9 10 11
    // A   |=|.............|=|      (asleep when it "wakes" B at 9: contradictory data)
    //                    ^B
    // B   |====|........|~|===
    //                   ^A
    const m = threadModel(`
A 1: run 0-1 | sleep 1-10 by B | run 10-11
B 2: run 0-3 | sleep 3-9 by A | runnable 9-10 | run 10-12`);
    // The edge back to B at cursor 9 is not followed again (B is on the chain at that cursor).
    expect(path(m, 1, 0, 11)).toBe('A running 0-1, B running 1-3, A sleeping(by B) 3-9, B runnable 9-10, A running 10-11');
  });

  it('a pure cycle and a self-wakeup terminate', () => {
    const m = threadModel(`
A 1: sleep 0-10 by B
B 2: sleep 0-10 by A
S 3: sleep 0-5 by S | run 5-6`);
    expect(path(m, 1, 0, 10)).toBe('B sleeping(by A) 0-10');
    expect(path(m, 2, 0, 10)).toBe('A sleeping(by B) 0-10');
    expect(path(m, 3, 0, 6)).toBe('S sleeping(by S) 0-5, S running 5-6');
  });
});

describe('thread critical path: functions', () => {
  it('nested calls split sections; the innermost call names each', () => {
    // t      0  2  5 6   10        20   25 27 29 30
    // T      |=========|..........|==========|
    // handle |==========================================|
    // parse     |==|
    // query           |=====================|
    // encode                                   |==|
    const m = threadModel(`
T 1: run 0-10 | sleep 10-20 by timer | run 20-30
  call handle 0-30
  call parse 2-5
  call query 6-25
  call encode 27-29`);
    expect(path(m, 1, 0, 30)).toBe(
      'T running handle 0-2, T running parse 2-5, T running handle 5-6, T running query 6-10, T sleeping(timer) query 10-20, T running query 20-25, T running handle 25-27, T running encode 27-29, T running handle 29-30',
    );
    expect(path(m, 1, 3, 7)).toBe('T running parse 3-5, T running handle 5-6, T running query 6-7');
  });

  it('a recursive call does not split a section; a missed return is overridden by later inner calls', () => {
    const m = threadModel(`
T 1: run 0-20
  call f 0-10
  call f 2-5
  call a 10-20 depth=0
  call b 12-30 depth=1 incomplete
  call c 14-16 depth=1`);
    expect(path(m, 1, 0, 20)).toBe('T running f 0-10, T running a 10-12, T running b 12-14, T running c 14-16, T running b 16-20');
  });
});

describe('rootCalls', () => {
  const m = threadModel(`
A 1: run 0-100
  call serve 10-20
  call serve 12-15
  call helper 30-40
  call serve 50-60
B 2: run 0-100
  call main 0-100
  call serve 5-8`);
  const show = (r: { tid: number; call: FunctionCall }[]): string[] => r.map(({ tid, call }) => `${tid}:${call.name}@${call.start}`);

  it('every outermost call of the named function, on any thread, by start', () => {
    expect(show(rootCalls(m, 'serve'))).toEqual(['2:serve@5', '1:serve@10', '1:serve@50']);
    expect(rootCalls(m, 'nothing')).toEqual([]);
  });

  it('without a name: the depth-0 calls of every thread', () => {
    expect(show(rootCalls(m))).toEqual(['2:main@0', '1:serve@10', '1:helper@30', '1:serve@50']);
  });
});

describe('thread critical path on a 100k-long handoff chain', () => {
  it('follows 100k wakeup edges without recursion, fast', () => {
    // Thread k (k >= 2) sleeps until thread k-1 wakes it at k, runs [k, k+1] in `step`, wakes k+1.
    const n = 100_000;
    const threads = new Map<number, ThreadTimeline>();
    for (let k = 1; k <= n; k++) {
      const segments: Segment[] =
        k === 1
          ? [
              { start: 0, end: 2, state: 'running' },
              { start: 2, end: n + 2, state: 'sleeping' },
            ]
          : [
              { start: 0, end: k, state: 'sleeping', wake: { t: k, reason: 'wakeup', wakerTid: k - 1 } },
              { start: k, end: k + 1, state: 'running' },
              { start: k + 1, end: n + 2, state: 'sleeping' },
            ];
      const calls: FunctionCall[] = [{ name: 'step', start: k === 1 ? 0 : k, end: k + 1, depth: 0, complete: true }];
      threads.set(k, { tid: k, pid: 1, comm: `t${k}`, comms: [], segments, calls });
    }
    const model: ThreadModel = { originBootNs: 0n, bootToUnixNs: 0n, anchorSpreadNs: 0, endNs: n + 2, threads, targetPids: [1] };
    const t0 = performance.now();
    const s = threadCriticalPath(model, n, 0, n + 1);
    const ms = performance.now() - t0;
    console.info(`100k handoff chain: ${s.length} sections in ${ms.toFixed(1)} ms`);
    expect(s.length).toBe(n);
    expect(s[0]).toEqual({ tid: 1, start: 0, end: 2, state: 'running', function: 'step' });
    for (let k = 2; k <= n; k++) {
      const x = s[k - 1] as ThreadSection;
      if (x.tid !== k || x.start !== k || x.end !== k + 1) throw new Error(`bad section ${k}: ${JSON.stringify(x)}`);
    }
    // Not a performance target (that is the benchmark's): a quadratic walk would take minutes
    // here, so a generous bound still catches it on a loaded machine.
    expect(ms).toBeLessThan(30_000);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests against a plain reference implementation.

/**
 * The rules of section 2 (as refined in analysis/threads/critical-path.ts), as plainly as
 * possible: recursive, linear scans, functions looked up instant by instant (integer times).
 */
function reference(model: ThreadModel, tid: number, a: number, b: number): ThreadSection[] {
  interface Piece {
    tid: number;
    start: number;
    end: number;
    state: ThreadState;
    wait?: { reason: WaitReason; wakerTid?: number };
    stack?: readonly string[];
  }
  const pieces: Piece[] = [];
  const segsOf = (t: number): readonly Segment[] => model.threads.get(t)?.segments ?? [];
  const covering = (t: number, c: number): Segment | undefined => segsOf(t).find((s) => s.start < c && c <= s.end);
  const lastEndBefore = (t: number, c: number): number => Math.max(-Infinity, ...segsOf(t).filter((s) => s.end < c).map((s) => s.end));
  const piece = (t: number, start: number, end: number, state: ThreadState, wait: Piece['wait'], seg: Segment | undefined): void => {
    pieces.push({ tid: t, start, end, state, ...(wait ? { wait } : {}), ...(seg?.stack ? { stack: seg.stack } : {}) });
  };

  // Walk thread x backwards from hi down to lo; `ancestors`: threads whose edges led here at this
  // same cursor. Returns where the walk stopped (lo, or earlier than that a waker's unknown state).
  const walk = (x: number, lo: number, hi: number, ancestors: ReadonlySet<number>, top: boolean): number => {
    let c = hi;
    while (c > lo) {
      const seg = covering(x, c);
      if (!seg) {
        if (!top) return c; // a waker's unknown state stays on the thread it woke
        const g = Math.max(lo, lastEndBefore(x, c));
        piece(x, g, c, 'sleeping', { reason: 'unknown' }, undefined);
        c = g;
        continue;
      }
      const from = Math.max(lo, seg.start);
      if (seg.state === 'running' || seg.state === 'runnable') {
        piece(x, from, c, seg.state, undefined, seg);
        c = from;
        continue;
      }
      const wake = seg.wake;
      if (wake?.reason === 'wakeup' && wake.wakerTid !== undefined) {
        const w = wake.wakerTid;
        const chain = c === hi ? ancestors : new Set<number>();
        if (w !== x && !chain.has(w)) {
          if (covering(w, c)) {
            c = walk(w, from, c, new Set([...chain, x]), false);
            continue;
          }
          const g = Math.max(from, lastEndBefore(w, c));
          piece(x, g, c, seg.state, { reason: 'wakeup', wakerTid: w }, seg);
          c = g;
          continue;
        }
        piece(x, from, c, seg.state, { reason: 'wakeup', wakerTid: w }, seg);
        c = from;
        continue;
      }
      piece(x, from, c, seg.state, { reason: !wake || wake.reason === 'wakeup' ? 'unknown' : wake.reason }, seg);
      c = from;
    }
    return c;
  };
  if (b > a) walk(tid, a, b, new Set(), true);

  const innermost = (t: number, at: number): string | undefined => {
    let best: FunctionCall | undefined;
    for (const call of model.threads.get(t)?.calls ?? []) {
      if (!(call.start <= at && at < call.end)) continue;
      if (!best || call.depth > best.depth || (call.depth === best.depth && call.start >= best.start)) best = call;
    }
    return best?.name;
  };
  const out: ThreadSection[] = [];
  let lastKey = '';
  for (const p of pieces.sort((x, y) => x.start - y.start)) {
    for (let t = p.start; t < p.end; t++) {
      const fn = innermost(p.tid, t);
      const key = JSON.stringify([p.tid, p.state, fn ?? null, p.wait ?? null, p.stack ?? null]);
      const last = out[out.length - 1];
      if (last && key === lastKey && last.end === t) {
        out[out.length - 1] = { ...last, end: t + 1 };
        continue;
      }
      out.push({ tid: p.tid, start: t, end: t + 1, state: p.state, ...(fn !== undefined ? { function: fn } : {}), ...(p.wait ? { wait: p.wait } : {}), ...(p.stack ? { stack: p.stack } : {}) });
      lastKey = key;
    }
  }
  return out;
}

const STATE_LIST: ThreadState[] = ['running', 'runnable', 'sleeping', 'blocked'];

/**
 * Random well-formed models: per thread, segments in time order (contiguous, with an occasional
 * gap; zero-length ones too), random states, wakers among the threads (sometimes itself or a tid
 * not in the model), interrupt wakeups, random (possibly improperly nested) calls. `dense`:
 * 2-3 threads, mostly sleeps woken by each other, no gaps: many chains and cycles.
 */
function modelGenOf(dense: boolean): fc.Arbitrary<ThreadModel> {
  const segGen = fc.record({
    gap: dense ? fc.constant(0) : fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 3),
    dur: fc.integer({ min: 0, max: 8 }),
    state: dense ? fc.constantFrom(0, 1, 2, 2, 2, 3, 3) : fc.integer({ min: 0, max: 3 }),
    wake: dense ? fc.constantFrom(0, 0, 0, 0, 0, 0, 5, 8) : fc.integer({ min: 0, max: 9 }),
    waker: fc.integer({ min: 1, max: dense ? 3 : 5 }),
    stack: fc.integer({ min: 0, max: 2 }),
  });
  const callGen = fc.record({ start: fc.integer({ min: -2, max: 50 }), dur: fc.integer({ min: 0, max: 20 }), depth: fc.integer({ min: 0, max: 2 }), name: fc.constantFrom('f', 'g', 'h') });
  const threadGen = fc.record({ start: fc.integer({ min: 0, max: dense ? 3 : 12 }), segs: fc.array(segGen, { maxLength: dense ? 12 : 8 }), calls: fc.array(callGen, { maxLength: 5 }) });
  return fc.array(threadGen, { minLength: dense ? 2 : 1, maxLength: dense ? 3 : 4 }).map((ths): ThreadModel => {
    const threads = new Map<number, ThreadTimeline>();
    ths.forEach((th, i) => {
      const tid = i + 1;
      let t = th.start;
      const segments: Segment[] = th.segs.map((s) => {
        const start = t + s.gap;
        const end = start + s.dur;
        t = end;
        const state = STATE_LIST[s.state] ?? 'running';
        let wake: Segment['wake'];
        if (state === 'sleeping' || state === 'blocked') {
          // 0-4: a task (maybe itself, maybe not in the model); 5-7: interrupt contexts; 8: none; 9: task unknown.
          if (s.wake <= 4) wake = { t: end, reason: 'wakeup', wakerTid: s.waker };
          else if (s.wake <= 7) wake = { t: end, reason: (['timer', 'network', 'unknown'] as const)[s.wake - 5] ?? 'timer' };
          else if (s.wake === 9) wake = { t: end, reason: 'wakeup' };
        }
        return { start, end, state, ...(wake ? { wake } : {}), ...(s.stack > 0 ? { stack: [`f${s.stack}`, 'main'] } : {}) };
      });
      const calls = th.calls.map((c) => ({ name: c.name, start: c.start, end: c.start + c.dur, depth: c.depth, complete: true })).sort((x, y) => x.start - y.start || x.depth - y.depth);
      threads.set(tid, { tid, pid: 1, comm: `t${tid}`, comms: [], segments, calls });
    });
    return { originBootNs: 0n, bootToUnixNs: 0n, anchorSpreadNs: 0, endNs: 100, threads, targetPids: [] };
  });
}
const modelGen = modelGenOf(false);
const denseGen = modelGenOf(true);
const windowGen = fc.record({ tid: fc.integer({ min: 1, max: 5 }), a: fc.integer({ min: -3, max: 60 }), len: fc.integer({ min: 0, max: 60 }) });

function checkInvariants(model: ThreadModel, tid: number, a: number, b: number): ThreadSection[] {
  const s = threadCriticalPath(model, tid, a, b);
  if (b <= a) {
    expect(s).toEqual([]);
    return s;
  }
  let cursor = a;
  let sum = 0;
  for (const x of s) {
    expect(x.start).toBe(cursor); // in order, contiguous, no overlap
    expect(x.end).toBeGreaterThan(x.start); // no zero-length section
    expect(x.wait !== undefined).toBe(x.state === 'sleeping' || x.state === 'blocked');
    sum += x.end - x.start;
    cursor = x.end;
  }
  expect(cursor).toBe(b);
  expect(sum).toBe(b - a);
  for (let i = 1; i < s.length; i++) {
    const p = s[i - 1] as ThreadSection;
    const q = s[i] as ThreadSection;
    const same = p.tid === q.tid && p.state === q.state && p.function === q.function && JSON.stringify(p.wait) === JSON.stringify(q.wait) && JSON.stringify(p.stack) === JSON.stringify(q.stack);
    expect(same).toBe(false); // adjacent equal sections are merged
  }
  return s;
}

describe('thread critical path on random models', () => {
  it('sections are in order, contiguous, non-empty and cover the window exactly', () => {
    fc.assert(
      fc.property(modelGen, windowGen, (model, w) => {
        checkInvariants(model, w.tid, w.a, w.a + w.len);
      }),
      { numRuns: 1000 },
    );
  });

  it('equals the plain recursive reference implementation', () => {
    fc.assert(
      fc.property(modelGen, windowGen, (model, w) => {
        expect(threadCriticalPath(model, w.tid, w.a, w.a + w.len)).toEqual(reference(model, w.tid, w.a, w.a + w.len));
      }),
      { numRuns: 2000 },
    );
  });

  it('equals the reference on dense models (mostly mutual wakeups among 2-3 threads)', () => {
    fc.assert(
      fc.property(denseGen, windowGen, (model, w) => {
        const b = w.a + w.len;
        checkInvariants(model, w.tid, w.a, b);
        expect(threadCriticalPath(model, w.tid, w.a, b)).toEqual(reference(model, w.tid, w.a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('consistent handoff models: the whole window of the last thread, every instant once', () => {
    // Random handoff chains where each waker really runs at the wakeup (no contradictions).
    const chain = fc.array(fc.record({ run: fc.integer({ min: 1, max: 5 }), pre: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(chain, (hops) => {
        const lines: string[] = [];
        let t = 0;
        hops.forEach((h, i) => {
          const runStart = t + h.pre;
          const segs: string[] = [];
          if (i === 0) segs.push(`run 0-${runStart + h.run}`);
          else segs.push(`sleep 0-${t} by t${i - 1}`, ...(h.pre > 0 ? [`runnable ${t}-${runStart}`] : []), `run ${runStart}-${runStart + h.run}`);
          segs.push(`sleep ${runStart + h.run}-100 by timer`);
          lines.push(`t${i} ${i + 1}: ${segs.join(' | ')}`);
          t = runStart + h.run;
        });
        const m = threadModel(lines.join('\n'));
        const s = checkInvariants(m, hops.length, 0, t);
        expect(s).toEqual(reference(m, hops.length, 0, t));
        // Each thread appears once, in order (a pure handoff chain).
        expect([...new Set(s.map((x) => x.tid))]).toEqual(hops.map((_, i) => i + 1));
        expect(s.every((x) => x.state === 'running' || x.state === 'runnable')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
