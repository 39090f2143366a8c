// Thread timelines from scheduler events (analysis/threads/timelines.ts, docs/critical-path.md
// section 2). Every fixture is an inline event log in µs with its expected timelines drawn:
//   |==run==|  running     |~runnable~|  runnable     |..sleep..|  sleeping     |xxblockedxx|  blocked
// A segment is written `state start-end` (µs) with `<- reason [waker] [irq N]` for its wake.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildThreadModel, wakeFromContext } from '../../analysis/threads/timelines.js';
import type { ThreadModel } from '../../analysis/threads/types.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { BOOT0, diagTable, lines, parseText, toJson, us } from '../helpers/events.js';

async function model(text: string): Promise<{ m: ThreadModel; diag: Diagnostics }> {
  const { log, diag } = await parseText(text);
  return { m: buildThreadModel(log, diag), diag };
}

function segs(m: ThreadModel, tid: number): string[] {
  const t = m.threads.get(tid);
  if (!t) throw new Error(`no thread ${tid}`);
  return t.segments.map((s) => {
    let out = `${s.state} ${s.start / 1000}-${s.end / 1000}`;
    if (s.wake) {
      out += ` <- ${s.wake.reason}`;
      if (s.wake.wakerTid !== undefined) out += ` ${s.wake.wakerTid}`;
      if (s.wake.irq !== undefined) out += ` irq ${s.wake.irq}`;
      if (s.wake.t !== s.end) out += ` (wake at ${s.wake.t / 1000})`;
    }
    if (s.stack) out += ` [${s.stack.join(' < ')}]`;
    return out;
  });
}

describe('thread timelines', () => {
  it('follows switches and task wakeups', async () => {
    // µs          0         10        30        40        60   70        80
    // tid 101     |===run===|..sleep..|~runnable|===run===|~runnable~~~~~~~~|
    // tid 102               |=====run====WK(101)|~runnable|=run|xxblockedxxx|
    // (one CPU; tid 301 on CPU 1 only makes the log last until 80)
    const { m, diag } = await model(
      lines(
        '# cpath-events 1',
        '# target-pids: 100',
        [0, 'SW 0 0 0 0 101 swapper/0\tapp'],
        [10, 'SW 0 100 101 1 102 app\tworker'],
        [30, 'WK 0 100 102 101 - worker\tapp'],
        [40, 'SW 0 100 102 256 101 worker\tapp'], // 0x100: preempted
        [60, 'SW 0 100 101 0 102 app\tworker'],
        [70, 'SW 0 100 102 2 0 worker\tswapper/0'], // D
        [80, 'UE 1 300 301 tick'],
        '# end lost=0 exit=0',
      ),
    );
    expect(diagTable(diag)).toEqual([['call_unfinished', 1, 'events.log:9: tick entered on thread 301 never returned']]);
    expect(segs(m, 101)).toEqual(['running 0-10', 'sleeping 10-30 <- wakeup 102', 'runnable 30-40', 'running 40-60', 'runnable 60-80']);
    expect(segs(m, 102)).toEqual(['running 10-40', 'runnable 40-60', 'running 60-70', 'blocked 70-80']);
    expect(m.threads.get(101)).toMatchObject({ tid: 101, pid: 100, comm: 'app', comms: [{ t: 0, comm: 'app' }] });
    expect(m.threads.get(101)?.segments[1]).toEqual({ start: us(10), end: us(30), state: 'sleeping', wake: { t: us(30), reason: 'wakeup', wakerTid: 102 } });
    expect(m.threads.get(102)?.pid).toBe(100);
    expect(m.threads.has(0)).toBe(false); // idle is not a thread
    expect(m.endNs).toBe(us(80));
    expect(m.originBootNs).toBe(BOOT0);
    expect(m.targetPids).toEqual([100]);
    expect(m.anchorSpreadNs).toBe(-1); // no anchors
  });

  it('builds the same timelines from the json form', async () => {
    const text = lines([0, 'SW 0 0 0 0 101 swapper/0\tapp'], [10, 'SW 0 100 101 1 0 app\tswapper/0'], [30, 'WK 1 100 102 101 - worker\tapp'], [35, 'SW 0 0 0 0 101 swapper/0\tapp']);
    const a = await model(text);
    const b = await model(toJson(text));
    expect(segs(b.m, 101)).toEqual(['running 0-10', 'sleeping 10-30 <- wakeup 102', 'runnable 30-35']);
    expect([...b.m.threads.values()]).toEqual([...a.m.threads.values()]);
  });

  it('charges interrupt-context wakeups to the interrupt, not to the interrupted task', async () => {
    // µs        0    5 6 7 8        20   25   30   35   40        50
    // tid 201   |run|.......sleep......|~~~~~runnable~~~~~|===run===|   <- NET_RX softirq at 20
    // tid 203        |r|.......sleep..........|~~runnable~~~~~~~~~~~|   <- hrtimer at 25
    // tid 204          |r|xxxxxxxblockedxxxxxxxxx|~~runnable~~~~~~~~~|   <- BLOCK softirq at 30 (on idle CPU 0)
    // tid 205            |r|........sleep.............|~~runnable~~~~|   <- hardirq 27 at 35
    // tid 202   |===================run (CPU 1, interrupted 3 times)==|~runnable~|
    const { m, diag } = await model(
      lines(
        [0, 'SW 0 0 0 0 201 swapper/0\tnet'],
        [0, 'SW 1 0 0 0 202 swapper/1\tbusy'],
        [5, 'SW 0 200 201 1 203 net\ttimer'],
        [6, 'SW 0 200 203 1 204 timer\tdisk'],
        [7, 'SW 0 200 204 2 205 disk\tdev'],
        [8, 'SW 0 200 205 1 0 dev\tswapper/0'],
        [20, 'WK 1 900 202 201 softirq:3 busy\tnet'], // the interrupted task's ids mean nothing
        [25, 'WK 1 900 202 203 hrtimer busy\ttimer'],
        [30, 'WK 0 0 0 204 softirq:4 swapper/0\tdisk'],
        [35, 'WK 1 900 202 205 hardirq:27 busy\tdev'],
        [40, 'SW 1 200 202 0 201 busy\tnet'],
        [50, 'SW 0 0 0 0 203 swapper/0\ttimer'],
      ),
    );
    expect(diagTable(diag)).toEqual([]);
    expect(segs(m, 201)).toEqual(['running 0-5', 'sleeping 5-20 <- network irq 3', 'runnable 20-40', 'running 40-50']);
    expect(segs(m, 203)).toEqual(['running 5-6', 'sleeping 6-25 <- timer', 'runnable 25-50']);
    expect(segs(m, 204)).toEqual(['running 6-7', 'blocked 7-30 <- block-io irq 4', 'runnable 30-50']);
    expect(segs(m, 205)).toEqual(['running 7-8', 'sleeping 8-35 <- irq irq 27', 'runnable 35-50']);
    expect(segs(m, 202)).toEqual(['running 0-40', 'runnable 40-50']);
    // The interrupted task's pid (900 in the WK lines) was not taken as its tgid.
    expect(m.threads.get(202)?.pid).toBe(200);
  });

  it('maps interrupt contexts to wait reasons', () => {
    expect(wakeFromContext('-')).toBeUndefined();
    expect(wakeFromContext('hrtimer')).toEqual({ reason: 'timer' });
    expect(wakeFromContext('softirq:1')).toEqual({ reason: 'timer', irq: 1 });
    expect(wakeFromContext('softirq:8')).toEqual({ reason: 'timer', irq: 8 });
    expect(wakeFromContext('softirq:2')).toEqual({ reason: 'network', irq: 2 });
    expect(wakeFromContext('softirq:3')).toEqual({ reason: 'network', irq: 3 });
    expect(wakeFromContext('softirq:4')).toEqual({ reason: 'block-io', irq: 4 });
    expect(wakeFromContext('softirq:6')).toEqual({ reason: 'irq', irq: 6 });
    expect(wakeFromContext('softirq:9')).toEqual({ reason: 'unknown', irq: 9 });
    expect(wakeFromContext('hardirq:130')).toEqual({ reason: 'irq', irq: 130 });
    expect(wakeFromContext('nmi')).toEqual({ reason: 'unknown' });
  });

  it('reads the state at switch-out from prev_state', async () => {
    // One CPU; each thread runs 5 µs and switches out with the state in brackets:
    // µs       0    5    10   15   20   25   30   35   40        50
    // 310      |run|~~~~~~~~~~~~~~~~~~~~~~~~~~~runnable~~~~~~~~~~~|   [0: preempted]
    // 311           |run|~~~~~~~~~~~~~~~~~~~~~~runnable~~~~~~~~~~~|   [0x100: preempt bit]
    // 312                |run|.................sleeping...........|   [0x1 S]
    // 313                     |run|xxxxxxxxxxxxblockedxxxxxxxxxxxx|   [0x2 D]
    // 314                          |run|.......sleeping...........|   [0x80 I, idle sleep]
    // 315                               |run|                          [0x10 X: dead, history ends]
    // 316                                    |run|                     [0x20 Z: dead]
    // 317                                         |run|..sleeping.|   [0x4 T: stopped, a sleep]
    const { m, diag } = await model(
      lines(
        [0, 'SW 0 0 0 0 310 swapper/0\tt310'],
        [5, 'SW 0 300 310 0 311 t310\tt311'],
        [10, 'SW 0 300 311 256 312 t311\tt312'],
        [15, 'SW 0 300 312 1 313 t312\tt313'],
        [20, 'SW 0 300 313 2 314 t313\tt314'],
        [25, 'SW 0 300 314 128 315 t314\tt315'],
        [30, 'SW 0 300 315 16 316 t315\tt316'],
        [35, 'SW 0 300 316 32 317 t316\tt317'],
        [40, 'SW 0 300 317 4 0 t317\tswapper/0'],
        [50, 'SW 1 0 0 0 399 swapper/1\tother'],
      ),
    );
    expect(diagTable(diag)).toEqual([]);
    expect(segs(m, 310)).toEqual(['running 0-5', 'runnable 5-50']);
    expect(segs(m, 311)).toEqual(['running 5-10', 'runnable 10-50']);
    expect(segs(m, 312)).toEqual(['running 10-15', 'sleeping 15-50']);
    expect(segs(m, 313)).toEqual(['running 15-20', 'blocked 20-50']);
    expect(segs(m, 314)).toEqual(['running 20-25', 'sleeping 25-50']);
    expect(segs(m, 315)).toEqual(['running 25-30']);
    expect(segs(m, 316)).toEqual(['running 30-35']);
    expect(segs(m, 317)).toEqual(['running 35-40', 'sleeping 40-50']);
  });

  it('starts threads at creation (WN) and ends them at exit, renames included', async () => {
    // µs        0         10        20   25   30 32        40        50        60
    // tid 401   |========run========|..........sleep..................|~runnable|
    // tid 402             |~runnbl~~|==run=RN==EX=|  (dead: later events ignored)
    // tid 501                                      |===========run (CPU 1)=======|
    const { m, diag } = await model(
      lines(
        [0, 'SW 0 0 0 0 401 swapper/0\tmain'],
        [10, 'WN 0 400 401 402 main'],
        [20, 'SW 0 400 401 1 402 main\tmain'],
        [25, 'RN 0 400 402 helper'],
        [30, 'EX 0 400 402 helper'],
        [32, 'SW 0 400 402 16 0 helper\tswapper/0'],
        [40, 'WK 1 500 501 402 - other\thelper'], // a wakeup of a dead thread: nothing to do
        [45, 'UE 1 400 402 late'], // the dead tid again: ignored, counted
        [50, 'WK 1 500 501 401 - other\tmain'],
        [60, 'SW 0 0 0 0 401 swapper/0\tmain'],
      ),
    );
    expect(diagTable(diag)).toEqual([['thread_state_inconsistent', 1, 'events.log:8: thread 402 appears after its death (tid reused?): ignored']]);
    expect(segs(m, 401)).toEqual(['running 0-20', 'sleeping 20-50 <- wakeup 501', 'runnable 50-60']);
    expect(segs(m, 402)).toEqual(['runnable 10-20', 'running 20-32']);
    expect(segs(m, 501)).toEqual(['running 40-60']);
    expect(m.threads.get(402)).toMatchObject({
      pid: 400,
      comm: 'helper',
      comms: [
        { t: us(10), comm: 'main' },
        { t: us(25), comm: 'helper' },
      ],
      calls: [],
    });
    expect(m.threads.get(501)?.pid).toBe(500);
  });

  it('learns a new thread pid only when it is current, and renames from comm fields', async () => {
    // µs        0    10        20
    // tid 402   |~runnable~~|=run=|
    const { m } = await model(
      lines(
        [0, 'WN 0 400 401 402 main'],
        [10, 'SW 0 400 401 1 402 main\tmain'],
        [15, 'UE 0 777 402 x'], // pid 777: a process forked (pid = its own tgid)
        [16, 'UX 0 777 402 x'],
        [20, 'SW 0 777 402 0 0 child\tswapper/0'], // its comm changed (exec) without an RN line
      ),
    );
    expect(segs(m, 402)).toEqual(['runnable 0-10', 'running 10-20']);
    expect(m.threads.get(402)).toMatchObject({ pid: 777, comm: 'child', comms: [{ t: 0, comm: 'main' }, { t: us(20), comm: 'child' }] });
    expect(m.threads.get(402)?.calls).toEqual([{ name: 'x', start: us(15), end: us(16), depth: 0, complete: true }]);
    // A WN child whose pid is never learned keeps -1.
    const { m: m2 } = await model(lines([0, 'WN 0 400 401 402 main'], [10, 'EX 1 1 1 other']));
    expect(m2.threads.get(402)?.pid).toBe(-1);
    expect(segs(m2, 402)).toEqual(['runnable 0-10']);
  });

  it('nests probed calls; counts unmatched returns and unfinished calls', async () => {
    // µs     0 1 2 3   5 6 7   9 10 12 14        20
    // 601    |=========================run========|
    // calls      [serve..........................)    depth 0, never returns
    //              [parse]                            depth 1
    //                    [query  ]                    depth 1
    //                      [encode)                   depth 2, no return: ends at query's return
    //                             [serve]             depth 1 (recursion)
    //                                   [log......)   depth 1, never returns
    //          ^ UX early at 1: no entry (return_unmatched)
    const { m, diag } = await model(
      lines(
        [0, 'SW 0 0 0 0 601 swapper/0\tsrv'],
        [1, 'UX 0 600 601 early'],
        [2, 'UE 0 600 601 serve'],
        [3, 'UE 0 600 601 parse'],
        [5, 'UX 0 600 601 parse'],
        [6, 'UE 0 600 601 query'],
        [7, 'UE 0 600 601 encode'],
        [9, 'UX 0 600 601 query'],
        [10, 'UE 0 600 601 serve'],
        [12, 'UX 0 600 601 serve'],
        [14, 'UE 0 600 601 log'],
        [20, 'SW 0 600 601 0 0 srv\tswapper/0'],
      ),
    );
    const c = (name: string, a: number, b: number, depth: number, complete: boolean) => ({ name, start: us(a), end: us(b), depth, complete });
    expect(m.threads.get(601)?.calls).toEqual([
      c('serve', 2, 20, 0, false),
      c('parse', 3, 5, 1, true),
      c('query', 6, 9, 1, true),
      c('encode', 7, 9, 2, false),
      c('serve', 10, 12, 1, true),
      c('log', 14, 20, 1, false),
    ]);
    expect(diagTable(diag)).toEqual([
      ['return_unmatched', 1, 'events.log:2: early returned on thread 601 without an entry'],
      ['call_unfinished', 3, 'events.log:7: encode entered on thread 601 did not return before its caller query (line 8)'],
    ]);
  });

  it('ends unfinished calls at the thread death', async () => {
    const { m } = await model(lines([0, 'UE 0 1 2 work'], [5, 'SW 0 1 2 16 0 w\tswapper/0'], [9, 'EX 1 1 3 x']));
    expect(m.threads.get(2)?.calls).toEqual([{ name: 'work', start: 0, end: us(5), depth: 0, complete: false }]);
    expect(segs(m, 2)).toEqual(['running 0-5']);
  });

  it('attaches stacks to the sleep that follows, and drops them on preemption', async () => {
    // µs        0    5              20   21   25
    // tid 701   |run|..sleep [stack]..|~~~|run|~runnable~ (the stack at 21 is dropped: preempted at 25)
    const { m } = await model(
      lines(
        [0, 'SW 0 0 0 0 701 swapper/0\tdb'],
        [5, 'ST 0 700 701 k'],
        '',
        '        futex_wait_queue+0x4a',
        '        futex_wait+0x10',
        '',
        [5, 'ST 0 700 701 u'],
        '',
        '        __futex_abstimed_wait_common+0x1a',
        '        pthread_cond_wait+0x2b1',
        '',
        [5, 'SW 0 700 701 1 0 db\tswapper/0'],
        [20, 'WK 1 800 801 701 - other\tdb'],
        [21, 'SW 0 0 0 0 701 swapper/0\tdb'],
        [22, 'ST 0 700 701 u'],
        '        somewhere+0x1',
        [25, 'SW 0 700 701 0 0 db\tswapper/0'],
        [30, 'EX 1 800 801 other'],
      ),
    );
    expect(segs(m, 701)).toEqual([
      'running 0-5',
      'sleeping 5-20 <- wakeup 801 [futex_wait_queue+0x4a < futex_wait+0x10 < __futex_abstimed_wait_common+0x1a < pthread_cond_wait+0x2b1]',
      'runnable 20-21',
      'running 21-25',
      'runnable 25-30',
    ]);
  });

  it('takes the newer event when states contradict (lost events), and counts it', async () => {
    // 801 sleeps at 5; its wakeup is lost; it is switched in at 20: the sleep ends there, unknown.
    const { m, diag } = await model(lines([0, 'SW 0 0 0 0 801 swapper/0\ta'], [5, 'SW 0 800 801 1 0 a\tswapper/0'], 'Lost 3 events', [20, 'SW 0 0 0 0 801 swapper/0\ta'], [30, 'SW 0 800 801 0 0 a\tswapper/0']));
    expect(segs(m, 801)).toEqual(['running 0-5', 'sleeping 5-20 <- unknown', 'running 20-30']);
    expect(diagTable(diag)).toEqual([
      ['events_lost', 3, 'events.log:3: bpftrace lost 3 events'],
      ['thread_state_inconsistent', 1, 'events.log:4: thread 801 switched in while sleeping, without a wakeup'],
    ]);
  });

  it("does not count bpftrace's own knowingly incomplete timeline (# tracer-pids) as inconsistent", async () => {
    // 900 is bpftrace: the recorder drops its switches to and from idle, so it is switched in
    // twice in a row. Its timeline still follows the newer event; nothing is counted.
    const { m, diag } = await model(lines([0, 'SW 0 0 0 0 900 swapper/0\tbpftrace'], [5, 'SW 0 15 15 128 900 rcu\tbpftrace'], '# tracer-pids: 900'));
    expect(segs(m, 900)).toEqual(['running 0-5']);
    expect(diagTable(diag)).toEqual([]);
  });

  it('maps boot time to Unix time with the exact median of the consistent anchors', async () => {
    const O = 1_700_000_000_000_000_000n - BOOT0; // not representable in a double
    const an = (bootUs: number, deltaNs: bigint): string => {
      const boot = BOOT0 + BigInt(bootUs * 1000);
      const unix = boot + O + deltaNs;
      return `${boot} AN ${unix / 1_000_000_000n}.${((unix % 1_000_000_000n) / 1000n).toString().padStart(6, '0')}`;
    };
    // AN offsets +1000, +4000, and one 1 s off (dropped): median of the two kept = +2500 exactly.
    const { m, diag } = await model(lines([0, 'EX 0 1 1 a'], an(1, 1000n), an(1_000_001, 4000n), an(2_000_001, -999_999_000n), an(3_000_001, 1000n)));
    expect(m.bootToUnixNs).toBe(O + 1000n); // +1000, +1000, +4000 kept: median +1000
    expect(m.anchorSpreadNs).toBe(3000);
    expect(diagTable(diag)).toEqual([['anchor_inconsistent', 1, 'events.log:4: AN anchor is -1000 ms off the others (bpftrace v0.17 strftime rounding): dropped']]);
    const two = await model(lines([0, 'EX 0 1 1 a'], an(1, 1000n), an(1_000_001, 4000n)));
    expect(two.m.bootToUnixNs).toBe(O + 2500n);
    expect(two.m.anchorSpreadNs).toBe(3000);
    // With # clock: readings they are the reference, and anchors too.
    const withClock = await model(lines(`# clock: ${BOOT0} ${BOOT0 + O + 7000n}`, [0, 'EX 0 1 1 a'], an(1, 1000n), an(1_000_001, 1_000_004_000n)));
    expect(withClock.m.bootToUnixNs).toBe(O + 4000n);
    expect(diagTable(withClock.diag)).toEqual([['anchor_inconsistent', 1, 'events.log:4: AN anchor is 999.997 ms off the others (bpftrace v0.17 strftime rounding): dropped']]);
  });

  it('handles a million events quickly', async () => {
    // 250k rounds of: A switched out sleeping, B in; B wakes A; B preempted, A in.
    const parts: string[] = [];
    const base = 1_000_000_000n;
    for (let i = 0; i < 250_000; i++) {
      const t = base + BigInt(i) * 4000n;
      parts.push(`${t} SW 0 10 11 1 12 a\tb\n${t + 1000n} WK 0 10 12 11 - b\ta\n${t + 2000n} UE 0 10 12 f\n${t + 3000n} SW 0 10 12 0 11 b\ta\n`);
    }
    const text = parts.join('');
    const t0 = performance.now();
    const { log } = await parseText(text, { chunk: 1 << 16 });
    const m = buildThreadModel(log, new Diagnostics());
    const ms = performance.now() - t0;
    expect(log.count).toBe(1_000_000);
    expect(m.threads.get(11)?.segments.length).toBe(750_000 - 1);
    expect(m.threads.get(12)?.calls.length).toBe(250_000);
    expect(ms).toBeLessThan(10_000);
  });
});

describe('thread timelines (property)', () => {
  const event = fc.record({
    dt: fc.integer({ min: -30, max: 200 }),
    kind: fc.constantFrom('SW', 'SW', 'SW', 'WK', 'WK', 'WN', 'EX', 'RN', 'UE', 'UX', 'ST', 'GARBAGE', 'LOST'),
    cpu: fc.integer({ min: 0, max: 2 }),
    a: fc.integer({ min: 0, max: 5 }),
    b: fc.integer({ min: 0, max: 5 }),
    state: fc.constantFrom(0, 1, 2, 4, 0x10, 0x20, 0x80, 0x100),
    ctx: fc.constantFrom('-', '-', '-', 'softirq:3', 'hrtimer', 'hardirq:9', 'softirq:7', 'weird'),
    fn: fc.constantFrom('f', 'g'),
  });

  it('gives every thread contiguous, ordered segments inside the log, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 120 }), fc.integer({ min: 1, max: 64 }), fc.boolean(), async (evs, chunk, json) => {
        let t = 1_000_000;
        const out: string[] = ['# cpath-events 1'];
        for (const e of evs) {
          t = Math.max(0, t + e.dt);
          const pre = `${t} ${e.kind} ${e.cpu}`;
          switch (e.kind) {
            case 'SW':
              out.push(`${pre} ${e.a * 10} ${e.a} ${e.state} ${e.b} c${e.a}\tc${e.b}`);
              break;
            case 'WK':
              out.push(`${pre} ${e.a * 10} ${e.a} ${e.b} ${e.ctx} c${e.a}\tc${e.b}`);
              break;
            case 'WN':
              out.push(`${pre} ${e.a * 10} ${e.a} ${e.b} c${e.b}`);
              break;
            case 'ST':
              out.push(`${pre} ${e.a * 10} ${e.a} u`, '        frame+0x1');
              break;
            case 'GARBAGE':
              out.push(`${t} SW ${e.cpu} x`);
              break;
            case 'LOST':
              out.push('Lost 1 events');
              break;
            default:
              out.push(`${pre} ${e.a * 10} ${e.a} ${e.kind === 'RN' || e.kind === 'EX' ? `n${e.b}` : e.fn}`);
          }
        }
        let text = out.join('\n') + '\n';
        if (json) text = toJson(text);
        const { log, diag } = await parseText(text, { chunk });
        for (let i = 1; i < log.count; i++) expect(log.ts[i]).toBeGreaterThanOrEqual(log.ts[i - 1] as number);
        const m = buildThreadModel(log, diag);
        expect(m.threads.has(0)).toBe(false);
        for (const th of m.threads.values()) {
          let prev: number | undefined;
          for (const s of th.segments) {
            expect(s.start).toBeLessThan(s.end);
            expect(s.start).toBeGreaterThanOrEqual(0);
            expect(s.end).toBeLessThanOrEqual(m.endNs);
            if (prev !== undefined) expect(s.start).toBe(prev);
            prev = s.end;
            if (s.wake) {
              expect(s.state === 'sleeping' || s.state === 'blocked').toBe(true);
              expect(s.wake.t).toBe(s.end);
            }
          }
          for (const c of th.calls) {
            expect(c.start).toBeLessThanOrEqual(c.end);
            expect(c.end).toBeLessThanOrEqual(m.endNs);
            expect(c.depth).toBeGreaterThanOrEqual(0);
          }
          for (let i = 1; i < th.calls.length; i++) expect((th.calls[i] as { start: number }).start).toBeGreaterThanOrEqual((th.calls[i - 1] as { start: number }).start);
        }
      }),
      { numRuns: 300 },
    );
  });
});
