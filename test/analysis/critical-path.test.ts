// Golden tests for the span-level critical path: every worked example of
// docs/critical-path.md section 1, plus Jaeger UI's and CRISP's classic cases.
// Times in µs unless stated; `name start/duration`.
import { describe, expect, it } from 'vitest';
import { analyzeDsl, describePath } from '../helpers/trace-dsl.js';

function path(text: string, o: Parameters<typeof analyzeDsl>[1] = { overlapToleranceNs: 0 }): string {
  const { trace, analysis } = analyzeDsl(text, o);
  return describePath(trace, analysis.path);
}

describe('critical path: worked examples of the rules', () => {
  it('descends into the last-finishing child, then the one before', () => {
    // C |1 ............................................ 101|
    // D       |20 ..... 40|
    // E                       |50 .. 60|
    expect(
      path(`
C 1/100
  D 20/20
  E 50/10`),
    ).toBe('C 1-20, D 20-40, C 40-50, E 50-60, C 60-101');
  });

  it('an overlapped child is not on the path', () => {
    // X |1 ................................. 101|
    // A      |10 ........... 50|
    // B          |20 ............. 60|
    expect(
      path(`
X 1/100
  A 10/40
  B 20/40`),
    ).toBe('X 1-20, B 20-60, X 60-101');
  });

  it('clips a child to its parent and a grandchild to the clipped child', () => {
    // A |1 ............ 30|
    // B        |15 ............ 35|       -> clipped to 15-30
    // C     |10 .... 25|                  -> child of B, clipped to 15-25
    const { trace, analysis, diag } = analyzeDsl(
      `
A 1/29
  B 15/20
    C 10/15`,
      { overlapToleranceNs: 0 },
    );
    expect(describePath(trace, analysis.path)).toBe('A 1-15, C 15-25, B 25-30');
    expect(diag.count('child_clipped')).toBe(2);
  });

  it('a child wider than its parent (same host) is clipped to it', () => {
    // A      |10 ...... 30|
    // B  |5 .................. 35|
    expect(
      path(`
A 10/20
  B 5/30`),
    ).toBe('B 10-30');
  });

  it('a grandchild starting after its parent was clipped is async', () => {
    // A |0 ............... 30|
    // B            |20 ........... 40|   -> clipped to 20-30
    // C                     |32 . 37|    -> starts after B's clipped end: async
    const { trace, analysis, diag } = analyzeDsl(
      `
A 0/30
  B 20/20
    C 32/5`,
      { overlapToleranceNs: 0 },
    );
    expect(describePath(trace, analysis.path)).toBe('A 0-20, B 20-30');
    expect(diag.count('child_async')).toBe(1);
  });

  it('shifts a cross-host server span into its client (clock skew)', () => {
    // front (h1): root 0/100 SERVER, call 10/80 CLIENT
    // back  (h2): handle 1000/60 SERVER (child of call), db 1010/40
    // handle is centred in call: shifted by -980.
    const { trace, analysis, diag } = analyzeDsl(
      `
root 0/100 kind=server host=h1 svc=front
  call 10/80 kind=client host=h1 svc=front
    handle 1000/60 kind=server host=h2 svc=back
      db 1010/40 kind=client host=h2 svc=back`,
      { overlapToleranceNs: 0 },
    );
    expect(describePath(trace, analysis.path)).toBe('root 0-10, call 10-20, handle 20-30, db 30-70, handle 70-80, call 80-90, root 90-100');
    expect(diag.count('clock_skew_shifted')).toBe(1);
    expect(analysis.prepared.shift[2]).toBe(-980_000);
    expect(analysis.prepared.shift[3]).toBe(-980_000);
  });

  it('without skew adjustment the far-away server span is async', () => {
    const { trace, analysis } = analyzeDsl(
      `
root 0/100 kind=server host=h1 svc=front
  call 10/80 kind=client host=h1 svc=front
    handle 1000/60 kind=server host=h2 svc=back`,
      { overlapToleranceNs: 0, skewAdjust: false },
    );
    expect(describePath(trace, analysis.path)).toBe('root 0-10, call 10-90, root 90-100');
  });

  it('a server span longer than its client starts with the client', () => {
    // call 10/20 (h1); handle 500/40 (h2) is longer -> starts at 10, then clipped to 10-30
    const { trace, analysis } = analyzeDsl(
      `
root 0/100 kind=server host=h1
  call 10/20 kind=client host=h1
    handle 500/40 kind=server host=h2`,
      { overlapToleranceNs: 0 },
    );
    expect(analysis.prepared.shift[2]).toBe(-490_000);
    expect(describePath(trace, analysis.path)).toBe('root 0-10, handle 10-30, root 30-100');
  });

  it('back-to-back siblings are both on the path (jaeger #9148)', () => {
    // P |0 ......................................... 100|
    // Q     |10 ......... 50|
    // R                     |50 .................. 100|
    expect(
      path(`
P 0/100
  Q 10/40
  R 50/50`),
    ).toBe('P 0-10, Q 10-50, R 50-100');
  });
});

describe('critical path: clock granularity', () => {
  // Times in ms; every start is a whole millisecond, so ε = 1 ms.
  // X |0 ...................................... 30|
  // A   |2 ........ 12.4|
  // B   |2 ............... 17.044|
  // C                    |17 ........ 25|
  const text = `
X 0/30
  A 2/10.4
  B 2/15.044
  C 17/8`;

  it('strict rule (ε = 0) loses B, which ends 0.044 ms after C starts', () => {
    const { trace, analysis } = analyzeDsl(text, { unit: 'ms', overlapToleranceNs: 0 });
    expect(describePath(trace, analysis.path, 'ms')).toBe('X 0-2, A 2-12.4, X 12.4-17, C 17-25, X 25-30');
  });

  it('detected 1 ms granularity lets B count; its section ends at 17', () => {
    const { trace, analysis } = analyzeDsl(text, { unit: 'ms' });
    expect(analysis.prepared.eps[1]).toBe(1_000_000);
    expect(describePath(trace, analysis.path, 'ms')).toBe('X 0-2, B 2-17, C 17-25, X 25-30');
  });

  it('ε is the larger of the child\'s and that of the span whose start set the cursor', () => {
    // Times in µs. X's host writes whole-ms starts (ε 1 ms); Y's host whole µs (ε 1 µs).
    // P |0 ............................................. 10000|
    // Y      |1003 ........................ 5103|
    // X                               |5000 ............. 10000|
    // Back from X the cursor is 5000, set by X's start: ε = max(1 µs, 1 ms), so Y (ending
    // 103 µs later) counts, and its section ends at 5000.
    const { trace, analysis } = analyzeDsl(`
P 0/10000 host=c
  Y 1003/4100 host=b
  X 5000/5000 host=a`);
    expect(describePath(trace, analysis.path)).toBe('P 0-1003, Y 1003-5000, X 5000-10000');
  });

  it('--overlap-tolerance overrides detection', () => {
    const { trace, analysis } = analyzeDsl(text, { unit: 'ms', overlapToleranceNs: 10_000 });
    expect(describePath(trace, analysis.path, 'ms')).toBe('X 0-2, A 2-12.4, X 12.4-17, C 17-25, X 25-30');
  });
});

describe('critical path: roots, async children, repairs', () => {
  it('a consumer of a producer is async; so is a FOLLOWS_FROM child', () => {
    // root |0 .............. 100|
    // pub     |10 . 20| PRODUCER
    // con          |15 ....... 60| CONSUMER (child of pub): async
    // f                |30 . 40|  FOLLOWS_FROM: async
    const { trace, analysis, diag } = analyzeDsl(
      `
root 0/100
  pub 10/10 kind=producer
    con 15/45 kind=consumer
  f 30/10 ref=follows`,
      { overlapToleranceNs: 0 },
    );
    expect(describePath(trace, analysis.path)).toBe('root 0-10, pub 10-20, root 20-100');
    expect(diag.count('child_async')).toBe(2);
  });

  it('orphans get their own path under otherRoots, never the primary one', () => {
    // root |0 ........ 50|        primary
    // lost        |20 ..... 60|   parent "gone" missing: orphan root
    const { trace, analysis, diag } = analyzeDsl(
      `
root 0/50
lost 20/40 parent=gone
  kid 30/10`,
      { overlapToleranceNs: 0 },
    );
    expect(describePath(trace, analysis.path)).toBe('root 0-50');
    expect(analysis.otherRoots).toHaveLength(1);
    expect(describePath(trace, analysis.otherRoots[0]?.path ?? [])).toBe('lost 20-30, kid 30-40, lost 40-60');
    expect(diag.count('parent_missing')).toBe(1);
  });

  it('the primary root is the earliest parentless span (ties: the longest)', () => {
    const { trace, analysis, diag } = analyzeDsl(
      `
short 0/10
long 0/30
late 5/100`,
      { overlapToleranceNs: 0 },
    );
    expect(trace.spans[analysis.root]?.name).toBe('long');
    expect(diag.count('extra_root')).toBe(2);
  });

  it('spans in a parent cycle are counted and never walked', () => {
    const { trace, analysis, diag } = analyzeDsl(
      `
root 0/50
a 10/10 parent=b
b 12/5 parent=a`,
      { overlapToleranceNs: 0 },
    );
    expect(describePath(trace, analysis.path)).toBe('root 0-50');
    expect(diag.count('parent_cycle')).toBe(2);
  });

  it('zero-duration children are ignored by the walk', () => {
    expect(
      path(`
P 0/10
  Z 5/0
  Q 2/3`),
    ).toBe('P 0-2, Q 2-5, P 5-10');
  });

  it('ties on end pick the child that started earlier', () => {
    // P |0 ............ 20|
    // a      |5 .. 10|
    // b    |3 .... 10|
    expect(
      path(`
P 0/20
  a 5/5
  b 3/7`),
    ).toBe('P 0-3, b 3-10, P 10-20');
  });

  it('Jaeger UI: a cursor of 0 is a real cursor, not "no cursor"', () => {
    // R |0 ............................................ 100|
    // X |0 .............. 40|
    // Z      |10 ..... 30|          overlapped by X
    // Y                          |60 ............... 100|
    // Back from X the cursor is 0; nothing ends at or before 0, so Z must not be picked.
    expect(
      path(`
R 0/100
  X 0/40
  Z 10/20
  Y 60/40`),
    ).toBe('X 0-40, R 40-60, Y 60-100');
  });

  it('CRISP: an async child is not blamed for the parent tail', () => {
    // handler |0 ..... 40|   ; audit child 30/100 (same host) is clipped, not async: it ends after the parent
    // but starts inside; it is clipped to 30-40 and takes the tail. A child entirely after: async.
    expect(
      path(`
handler 0/40
  audit 30/100
  later 50/10`),
    ).toBe('handler 0-30, audit 30-40');
  });
});
