// The diff model on hand-made traces (times in ms, `name start/duration`, children indented):
// a branch hidden behind a slower sibling in the base run becomes the critical one in the new
// run. Real critical paths (analyzeDsl walks them), exact deltas.
import { describe, expect, it } from 'vitest';
import { computeDiff, DiffSideBuilder, differentialStacks, regressions, type DiffModel } from '../../analysis/diff.js';
import { DiffTraceConverter } from '../../src/pipeline/diff.js';
import { analyzeDsl } from '../helpers/trace-dsl.js';
import { ComponentKeys, summarizeTrace } from '../../analysis/trace-summary.js';
import { analysedTrace } from '../../analysis/analysed-trace.js';

const MS = 1_000_000;

// Base: session (12 ms) hides cache (3 ms) inside cart; legacy runs inside pay.
//
//   checkout |0 ...................................................... 40|
//   cart          |2 ...................... 18|
//   cache              |3 . 6|                          hidden behind session
//   session            |3 ............ 15|
//   pay                                           |20 ............... 38|
//   legacy                                         |21 . 23|
//
// path: checkout 0-2, cart 2-3, session 3-15, cart 15-18, checkout 18-20, pay 20-21,
//       legacy 21-23, pay 23-38, checkout 38-40
const BASE = `
checkout 0/40 svc=front
  cart 2/16 svc=cart
    cache 3/3 svc=cart
    session 3/12 svc=cart
  pay 20/18 svc=pay
    legacy 21/2 svc=pay`;

// New: cache takes 22 ms and outlasts session; legacy is gone; audit runs after the response (async).
//
//   checkout |0 ................................................................ 50|
//   cart          |2 ............................. 28|
//   cache              |3 ...................... 25|        now on the path
//   session            |3 ............ 15|                  hidden behind cache
//   pay                                                 |30 ............... 48|
//   audit                                                                        |55 . 58|
//
// path: checkout 0-2, cart 2-3, cache 3-25, cart 25-28, checkout 28-30, pay 30-48, checkout 48-50
const NEW = `
checkout 0/50 svc=front
  cart 2/26 svc=cart
    cache 3/22 svc=cart
    session 3/12 svc=cart
  pay 30/18 svc=pay
  audit 55/3 svc=front`;

function side(...texts: string[]): ReturnType<DiffSideBuilder['build']> {
  const b = new DiffSideBuilder();
  const conv = new DiffTraceConverter();
  const keys = new ComponentKeys();
  for (const text of texts) {
    const { trace, analysis } = analyzeDsl(text, { unit: 'ms', overlapToleranceNs: 0 });
    const summary = summarizeTrace(trace, analysis, undefined, keys);
    if (!summary) throw new Error('no summary');
    b.add(conv.trace(analysedTrace(trace, analysis, summary)));
  }
  return b.build();
}

describe('computeDiff on a hidden branch that becomes dominant', () => {
  const base = side(BASE, BASE, 'old 0/5 svc=front');
  const next = side(NEW, NEW, 'health 0/1 svc=front');
  const model: DiffModel = computeDiff(base, next);
  const checkout = model.endpoints[0];

  it('pairs the endpoints and lists the one-sided ones', () => {
    expect(model.endpoints.map((e) => `${e.service} ${e.operation}`)).toEqual(['front checkout']);
    expect(model.onlyInBase).toEqual([{ service: 'front', operation: 'old', traces: 1 }]);
    expect(model.onlyInNew).toEqual([{ service: 'front', operation: 'health', traces: 1 }]);
  });

  it('mean path time per trace per component, exact deltas, sorted by |delta|', () => {
    expect(checkout?.changes.map((c) => [`${c.service} ${c.operation}`, c.meanPathNsBase / MS, c.meanPathNsNew / MS, c.deltaNs / MS, c.enteredPath, c.leftPath, c.swappedWith?.operation])).toEqual([
      ['cart cache', 0, 22, 22, true, false, 'session'],
      ['cart session', 12, 0, -12, false, true, 'cache'],
      ['pay legacy', 2, 0, -2, false, true, undefined], // left, but no sibling took its place
      ['pay pay', 16, 18, 2, false, false, undefined],
      ['cart cart', 4, 4, 0, false, false, undefined],
      ['front checkout', 6, 6, 0, false, false, undefined],
    ]);
    // The deltas explain the change of the mean latency exactly.
    const sum = checkout?.changes.reduce((n, c) => n + c.deltaNs, 0);
    expect(sum).toBe((checkout?.new.meanNs ?? 0) - (checkout?.base.meanNs ?? 0));
    expect(sum).toBe(10 * MS);
  });

  it('latency per side; two traces a side are too few for significance', () => {
    expect(checkout?.base).toEqual({ traces: 2, latencyNs: { p50: 40 * MS, p90: 40 * MS, p99: 40 * MS, max: 40 * MS }, meanNs: 40 * MS });
    expect(checkout?.new.latencyNs.p50).toBe(50 * MS);
    expect(checkout?.test.u).toBe(0);
    expect(checkout?.test.pValue).toBeGreaterThan(0.01);
    expect(checkout?.significant).toBe(false);
    expect(regressions(model, { kind: 'relative', fraction: 0.05 })).toEqual([]);
  });

  it('structure: operations that appeared and disappeared, even off the path', () => {
    expect(checkout?.structure).toEqual([
      { service: 'front', operation: 'audit', callsPerTraceBase: 0, callsPerTraceNew: 1 },
      { service: 'pay', operation: 'legacy', callsPerTraceBase: 1, callsPerTraceNew: 0 },
    ]);
  });

  it('differential stacks: mean path ns per trace on each side, integer, by call path', () => {
    const rows = differentialStacks(base, next).map((s) => `${s.frames.join(';')} ${s.base / MS} ${s.new / MS}`);
    expect(rows).toEqual([
      'front checkout 6 6',
      'front checkout;cart cart 4 4',
      'front checkout;cart cart;cart cache 0 22',
      'front checkout;cart cart;cart session 12 0',
      'front checkout;pay pay 16 18',
      'front checkout;pay pay;pay legacy 2 0',
      'front health 0 1',
      'front old 5 0',
    ]);
  });
});

describe('significance', () => {
  // 40 traces per side whose root durations differ by a constant: a real shift.
  const shape = (ms: number): string => `root ${0}/${ms} svc=s\n  work 1/${ms - 2} svc=s`;
  const durations = (shift: number): string[] => Array.from({ length: 40 }, (_, i) => shape(20 + (i % 10) + shift));

  it('a shift beyond the noise is significant and a regression past the threshold', () => {
    const m = computeDiff(side(...durations(0)), side(...durations(3)));
    const e = m.endpoints[0];
    expect(e?.significant).toBe(true);
    expect(e?.test.pValue).toBeLessThan(0.001);
    expect(regressions(m, { kind: 'relative', fraction: 0.05 }).length).toBe(1);
    expect(regressions(m, { kind: 'absolute', ns: 2 * MS }).length).toBe(1);
    expect(regressions(m, { kind: 'absolute', ns: 3 * MS }).length).toBe(0); // must be more than the threshold
    expect(e?.changes[0]).toMatchObject({ service: 's', operation: 'work', deltaNs: 3 * MS, enteredPath: false, leftPath: false });
    // Faster is significant too, but never a regression.
    const faster = computeDiff(side(...durations(3)), side(...durations(0)));
    expect(faster.endpoints[0]?.significant).toBe(true);
    expect(regressions(faster, { kind: 'relative', fraction: 0 })).toEqual([]);
  });

  it('identical sides: p = 1, nothing changed', () => {
    const m = computeDiff(side(...durations(0)), side(...durations(0)));
    const e = m.endpoints[0];
    expect(e?.test.pValue).toBe(1);
    expect(e?.significant).toBe(false);
    expect(e?.changes.every((c) => c.deltaNs === 0)).toBe(true);
    expect(e?.structure).toEqual([]);
  });

  it('a significant p with a median shift under the floor is not significant', () => {
    // Every new trace 10 µs slower than every base trace: the rank test sees complete
    // separation, but 10 µs is 0.03% of the 30 ms median, under the 1% floor.
    const e = computeDiff(side(...Array.from({ length: 30 }, () => 'root 0/30 svc=s')), side(...Array.from({ length: 30 }, () => 'root 0/30.01 svc=s'))).endpoints[0];
    expect(e?.new.latencyNs.p50).toBe((e?.base.latencyNs.p50 ?? 0) + 10_000);
    expect(e?.test.pValue).toBeLessThan(1e-10);
    expect(e?.significant).toBe(false);
  });
});
