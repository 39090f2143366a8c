// Worked examples of docs/critical-path.md that the other golden tests did not yet check. The
// document names each test here by its file and name, and draws the same timeline.
// Times in µs unless stated; `name start/duration`, children indented (test/helpers/trace-dsl.ts).
import { describe, expect, it } from 'vitest';
import { spanThread, decomposeSection, type ThreadSource } from '../../analysis/threads/span-threads.js';
import { ThreadNames } from '../../analysis/threads/thread-traces.js';
import { analyzeTrace } from '../../analysis/trace-analysis.js';
import { detectGranularity } from '../../analysis/granularity.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner } from '../../src/model/span.js';
import { BASE_NS, analyzeDsl, buildTrace, describePath, spansFrom } from '../helpers/trace-dsl.js';
import { threadModel } from '../helpers/thread-dsl.js';

describe('docs/critical-path.md, section 1: span level', () => {
  it('rule 3: the same-host subtree moves with the shifted server; a third-host child keeps its clock', () => {
    // front (h1)  root   |0 ............................................... 100|  SERVER
    //             call       |10 ..................................... 90|       CLIENT
    // back (h2)   handle                                                    |1000 ... 1060| SERVER
    //             db                                                         |1010 . 1050| same host
    // audit (h3)  audit                                                       |1020 1030| INTERNAL
    // handle is centred in call (shift -980) and db moves with it; audit is on a third host and is
    // not a SERVER under a CLIENT, so it keeps its clock: it starts after handle's new end (80): async.
    const { trace, analysis, diag } = analyzeDsl(
      `
root 0/100 kind=server host=h1 svc=front
  call 10/80 kind=client host=h1 svc=front
    handle 1000/60 kind=server host=h2 svc=back
      db 1010/40 kind=client host=h2 svc=back
      audit 1020/10 host=h3 svc=audit`,
      { overlapToleranceNs: 0 },
    );
    expect(describePath(trace, analysis.path)).toBe('root 0-10, call 10-20, handle 20-30, db 30-70, handle 70-80, call 80-90, root 90-100');
    expect(Array.from(analysis.prepared.shift)).toEqual([0, 0, -980_000, -980_000, 0]);
    expect(diag.count('clock_skew_shifted')).toBe(1);
    expect(diag.count('child_async')).toBe(1);
  });

  it("rule 4: a child that ends at or before its parent's start is async; one that overlaps the start is clipped", () => {
    // P              |10 ............ 30|
    // E   |0 ..... 10|                        ends at P's start: async
    // F        |5 ....... 15|                 clipped to 10-15
    const { trace, analysis, diag } = analyzeDsl(
      `
P 10/20
  E 0/10
  F 5/10`,
      { overlapToleranceNs: 0 },
    );
    // E is the earliest span, but it has a parent: P is the only root.
    expect(trace.spans[analysis.root]?.name).toBe('P');
    expect(describePath(trace, analysis.path)).toBe('F 10-15, P 15-30');
    expect(diag.count('child_async')).toBe(1);
    expect(diag.count('child_clipped')).toBe(1);
  });

  it('granularity: one start off the whole millisecond makes its resource 1 µs, and B is lost again', () => {
    // Times in ms; the example of "Clock granularity" plus D, whose start 3.5 is a whole µs but not
    // a whole ms: the resource's ε drops to 1 µs, and B (0.044 ms past C's start) no longer counts.
    // X |0 ...................................... 30|
    // A   |2 ........ 12.4|
    // B   |2 ............... 17.044|
    // D      |3.5 3.6|
    // C                    |17 ........ 25|
    const { trace, analysis } = analyzeDsl(
      `
X 0/30
  A 2/10.4
  B 2/15.044
  D 3.5/0.1
  C 17/8`,
      { unit: 'ms' },
    );
    expect(Array.from(analysis.prepared.eps)).toEqual([1_000, 1_000, 1_000, 1_000, 1_000]);
    expect(describePath(trace, analysis.path, 'ms')).toBe('X 0-2, A 2-12.4, X 12.4-17, C 17-25, X 25-30');
  });
});

describe('docs/critical-path.md, section 3: spans and threads together', () => {
  it("splits each span section along the span's thread and its wakeups; a span without process.pid stays whole", () => {
    // Spans (µs); shop runs as pid 100, cache has no process.pid:
    // root      |0 ........................................................ 70|  shop
    // checkout       |10 ......................................... 60|          shop
    // cache                                                             |62 67|  cache
    // Threads of pid 100 (`=` running, `.` sleeping, `^` wakeup):
    // loop 100  |========== 0-22 ==|...... 22-50 ......|==== 50-70 ========|
    //                              ^ loop wakes pool    ^ pool wakes loop
    // pool 105  ......... 0-20 ....|=========== 20-50 ==|....... 50-70 .....
    // Span-level path: root 0-10, checkout 10-60, root 60-62, cache 62-67, root 67-70.
    // checkout 10-60 on loop, backwards: loop running 50-60; loop asleep 22-50, woken by pool:
    // pool running 22-50 (only within the sleep); loop running 10-22.
    const resources = new ResourceInterner();
    const shop = resources.intern({ 'service.name': 'shop', 'process.pid': 100 });
    const spans = spansFrom(`
root 0/70 svc=shop
  checkout 10/50 svc=shop
  cache 62/5 svc=cache`).map((s) => (s.resource.service === 'shop' ? { ...s, resource: shop } : s));
    const diag = new Diagnostics();
    const trace = buildTrace(spans, diag);
    const analysis = analyzeTrace(trace, { skewAdjust: true, overlapToleranceNs: 0, granularity: detectGranularity([trace]) }, diag);
    expect(analysis).toBeDefined();
    const path = analysis?.path ?? [];
    expect(describePath(trace, path)).toBe('root 0-10, checkout 10-60, root 60-62, cache 62-67, root 67-70');

    // Relative time 0 of the model is BASE_NS in Unix ns (the spans' µs 0).
    const model = {
      ...threadModel(
        `
loop 100 pid=100: run 0-22 | sleep 22-50 by pool | run 50-70
pool 105 pid=100: sleep 0-20 by loop | run 20-50 | sleep 50-70`,
        1_000,
      ),
      bootToUnixNs: BASE_NS,
    };
    const sources: ThreadSource[] = [{ model, names: new ThreadNames(model) }];
    const us = (ns: bigint): string => String(Number(ns - BASE_NS) / 1_000);
    const merged: string[] = [];
    for (const sec of path) {
      const span = trace.spans[sec.span];
      if (!span) continue;
      const startNs = trace.baseNs + BigInt(sec.start);
      const where = spanThread(sources, span);
      if (!where) {
        merged.push(`${span.name} (no thread) ${us(startNs)}-${us(startNs + BigInt(sec.end - sec.start))}`);
        continue;
      }
      const subs = decomposeSection(where.source, where.tid, startNs, sec.end - sec.start);
      // The sub-sections cover the span section exactly: the span-level answer is unchanged.
      expect(subs.reduce((n, s) => n + s.durationNs, 0)).toBe(sec.end - sec.start);
      for (const s of subs) merged.push(`${span.name} ${s.thread.comm} ${s.state} ${us(s.startNs)}-${us(s.startNs + BigInt(s.durationNs))}`);
    }
    expect(merged.join(', ')).toBe(
      'root loop running 0-10, checkout loop running 10-22, checkout pool running 22-50, checkout loop running 50-60, root loop running 60-62, cache (no thread) 62-67, root loop running 67-70',
    );
  });
});
