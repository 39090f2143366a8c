// The endpoint index (analysis/endpoint-index.ts) answers exactly what aggregateEndpoints
// answers over the same traces, whatever was set, replaced or deleted before, for any window,
// policy and --top; and aggregateEndpoints does not depend on the order of its input.
//
// Hand-checked golden, bucket 10 s, endpoint "front GET /a" (ms; components: path time):
//
//   trace  start  duration  components
//   a1      0 s   10        api 4, db 6
//   a2      5 s   30        api 10, db 20
//   a3     12 s   20        api 5, db 15
//   a4     12 s   30        api 30
//   a5     25 s  100        api 10, db 20, cache 70 (1 error span)
//
// All time: durations [10, 20, 30, 30, 100]: p50 = rank 3 = 30, p90 = p99 = p99.9 = max = 100.
// Typical: a2 and a4 last 30; a2 starts first. Auto threshold max(100, ceil(1.5 * 30)) = 100:
// one outlier, a5. api [4, 5, 10, 10, 30] total 59, p50 10, p90 = p99 = max 30; db [6, 15, 20,
// 20] total 61, p50 15, p90 20; cache [70]. Σ durations 190: shares 70/190, 61/190, 59/190.
// Medians with zeros (rank 3 of 5): api 10, db [0, 6, 15, 20, 20] -> 15, cache 0. a5's
// excess: cache 70, db 5 (api 10 - 10 = 0 is no excess); dominant cache.
// Percentile p50, top 2: threshold 30, candidates a5, a2, a4 (a2 before a4: earlier start).
//
// Then a0 is set (12 s, 20 ms, api 5, db 15: start and duration equal to a3's). Window [5 s,
// 20 s), not aligned: a2, a3, a4, a0: durations [20, 20, 30, 30], p50 = rank 2 = 20; typical
// a0 (same start as a3, smaller id, though set later). Duration rule 20 ms, top 3: a2, a4, a0.
//
// Then a5 is re-analysed as 40 ms (api 40) and a1 deleted: [20, 20, 30, 30, 40], p50 = 30,
// typical a2, auto threshold max(40, 45) = 45: no outlier.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EndpointIndex } from '../../analysis/endpoint-index.js';
import { aggregateEndpoints, componentKey, type ComponentTime, type EndpointStats, type OutlierPolicy, type TraceSummary } from '../../analysis/endpoints.js';

const MS = 1_000_000;
const S = 1_000_000_000n;
const BASE = 1_700_000_000n * S;

function summary(id: string, startS: number, durMs: number, comps: [string, number, number?][]): TraceSummary {
  const components = new Map<string, ComponentTime>();
  for (const [name, ms, errors] of comps) components.set(componentKey('svc', name), { service: 'svc', operation: name, ns: ms * MS, errors: errors ?? 0 });
  return { traceId: id, service: 'front', operation: 'GET /a', startNs: BASE + BigInt(startS) * S, durationNs: durMs * MS, components };
}

describe('EndpointIndex: hand-checked', () => {
  // Blocks of 2 buckets: the window below cuts a block, then a bucket.
  const index = new EndpointIndex({ bucketNs: 10n * S, bucketsPerBlock: 2 });
  const golden = [
    summary('a1', 0, 10, [['api', 4], ['db', 6]]),
    summary('a2', 5, 30, [['api', 10], ['db', 20]]),
    summary('a3', 12, 20, [['api', 5], ['db', 15]]),
    summary('a4', 12, 30, [['api', 30]]),
    summary('a5', 25, 100, [['api', 10], ['db', 20], ['cache', 70, 1]]),
  ];
  for (const t of golden) index.set(t);

  it('all time: percentiles, typical, components, outliers', () => {
    const [a, ...rest] = index.endpoints({ kind: 'auto' }, 20);
    expect(rest).toEqual([]);
    expect(a?.traces).toBe(5);
    expect(a?.latencyNs).toEqual({ p50: 30 * MS, p90: 100 * MS, p99: 100 * MS, p999: 100 * MS, max: 100 * MS });
    expect(a?.typicalTraceId).toBe('a2');
    expect(a?.outlierThresholdNs).toBe(100 * MS);
    expect(a?.outlierCount).toBe(1);
    expect(a?.criticalPath.map((c) => [c.operation, c.onPathTraces, c.selfNs.total / MS, c.selfNs.p50 / MS, c.selfNs.p90 / MS, c.selfNs.max / MS, c.share, c.errors])).toEqual([
      ['cache', 1, 70, 70, 70, 70, 70 / 190, 1],
      ['db', 4, 61, 15, 20, 20, 61 / 190, 0],
      ['api', 5, 59, 10, 30, 30, 59 / 190, 0],
    ]);
    expect(a?.outliers.map((o) => [o.traceId, o.dominant.operation, o.excess.map((x) => [x.operation, x.ns / MS])])).toEqual([
      [
        'a5',
        'cache',
        [
          ['cache', 70],
          ['db', 5],
        ],
      ],
    ]);
    const [p] = index.endpoints({ kind: 'percentile', p: 50 }, 2);
    expect([p?.outlierThresholdNs, p?.outlierCount, p?.outliers.map((o) => o.traceId)]).toEqual([30 * MS, 3, ['a5', 'a2']]);
    expect(index.endpoints({ kind: 'auto' }, 20)).toStrictEqual(aggregateEndpoints(golden, { kind: 'auto' }, 20));
  });

  it('a window with unaligned edges; ties broken by start, then traceId', () => {
    index.set(summary('a0', 12, 20, [['api', 5], ['db', 15]]));
    const [w] = index.endpoints({ kind: 'duration', ns: 20 * MS }, 3, BASE + 5n * S, BASE + 20n * S);
    expect([w?.traces, w?.latencyNs.p50, w?.typicalTraceId, w?.outlierCount, w?.outliers.map((o) => o.traceId)]).toEqual([4, 20 * MS, 'a0', 4, ['a2', 'a4', 'a0']]);
  });

  it('replaced and deleted traces leave the statistics', () => {
    index.set(summary('a5', 25, 40, [['api', 40]]));
    expect(index.delete('a1')).toBe(true);
    expect(index.delete('a1')).toBe(false);
    expect(index.size).toBe(5);
    expect(index.get('a5')?.durationNs).toBe(40 * MS);
    const [a] = index.endpoints({ kind: 'auto' }, 20);
    expect([a?.traces, a?.latencyNs.p50, a?.latencyNs.max, a?.typicalTraceId, a?.outlierThresholdNs, a?.outlierCount]).toEqual([5, 30 * MS, 40 * MS, 'a2', 45 * MS, 0]);
    expect(index.endpoints({ kind: 'auto' }, 20, BASE + 30n * S)).toEqual([]);
  });
});

// Random summaries: three endpoints, span and thread components (two of them differ only by
// thread state), durations from a small set (ties, huge values) or anywhere up to ~2^45 ns, starts on a
// coarse grid (equal starts) around bucket edges, ids from a small pool (replacements).
const ENDPOINTS = [
  ['front', 'GET /a'],
  ['front', 'GET /b'],
  ['back', 'GET /a'],
] as const;

const COMPONENTS: readonly (Omit<ComponentTime, 'ns' | 'errors'> & { key: string })[] = [
  { key: componentKey('svc', 'api'), service: 'svc', operation: 'api' },
  { key: componentKey('svc', 'db'), service: 'svc', operation: 'db' },
  { key: componentKey('db', 'SELECT'), service: 'db', operation: 'SELECT' },
  { key: 'proc\u0000work\u0000worker\u0000running', service: 'proc', operation: 'work', thread: 'worker', state: 'running' },
  { key: 'proc\u0000work\u0000worker\u0000sleeping', service: 'proc', operation: 'work', thread: 'worker', state: 'sleeping' },
  { key: 'proc\u0000-\u0000io\u0000blocked', service: 'proc', operation: '-', thread: 'io', state: 'blocked' },
];

const BUCKET = 10n * S;

// 2^52 + 1 and 2^53 - 1: sums past 2^53, which a double would round (exactSum's bigint path).
const nsArb = fc.oneof(fc.constantFrom(0, 1, 7, 2047, 2048, 2049, 5 * MS, 5 * MS + 1, 20 * MS, 2 ** 52 + 1, 2 ** 53 - 1), fc.integer({ min: 0, max: 2 ** 45 }));

const summaryArb = fc.record({
  id: fc.integer({ min: 0, max: 24 }),
  endpoint: fc.integer({ min: 0, max: ENDPOINTS.length - 1 }),
  // Starts: 2.5 s steps over 8 buckets, sometimes a nanosecond off the grid.
  startStep: fc.integer({ min: -2, max: 32 }),
  startJitter: fc.constantFrom(0n, 0n, 1n, -1n),
  durationNs: nsArb,
  components: fc.uniqueArray(fc.record({ c: fc.integer({ min: 0, max: COMPONENTS.length - 1 }), ns: nsArb, errors: fc.integer({ min: 0, max: 2 }) }), { selector: (x) => x.c, maxLength: COMPONENTS.length }),
});

type RawSummary = typeof summaryArb extends fc.Arbitrary<infer T> ? T : never;

function toSummary(r: RawSummary): TraceSummary {
  const [service, operation] = ENDPOINTS[r.endpoint] ?? ENDPOINTS[0];
  const components = new Map<string, ComponentTime>();
  for (const x of r.components) {
    const { key, ...name } = COMPONENTS[x.c] ?? (COMPONENTS[0] as (typeof COMPONENTS)[number]);
    components.set(key, { ...name, ns: x.ns, errors: x.errors });
  }
  return { traceId: `t${String(r.id).padStart(2, '0')}`, service, operation, startNs: BASE + BigInt(r.startStep) * 2_500_000_000n + r.startJitter, durationNs: r.durationNs, components };
}

const policyArb: fc.Arbitrary<OutlierPolicy> = fc.oneof(
  fc.constant({ kind: 'auto' as const }),
  fc.constantFrom(0.1, 50, 90, 99, 100).map((p) => ({ kind: 'percentile' as const, p })),
  nsArb.map((ns) => ({ kind: 'duration' as const, ns })),
);

/** A bound: none, on a bucket edge, or anywhere (to the nanosecond) in the span of the starts. */
const boundArb: fc.Arbitrary<bigint | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -1, max: 9 }).map((b) => BASE + BigInt(b) * BUCKET),
  fc.bigInt({ min: -6n * S, max: 90n * S }).map((d) => BASE + d),
);

const queryArb = fc.record({ policy: policyArb, top: fc.integer({ min: 0, max: 5 }), since: boundArb, until: boundArb });

const stepArb = fc.oneof(
  { weight: 6, arbitrary: summaryArb.map((s) => ({ op: 'set' as const, s })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 24 }).map((id) => ({ op: 'delete' as const, id: `t${String(id).padStart(2, '0')}` })) },
  { weight: 1, arbitrary: queryArb.map((q) => ({ op: 'query' as const, q })) },
);

type Query = typeof queryArb extends fc.Arbitrary<infer T> ? T : never;

function reference(model: ReadonlyMap<string, TraceSummary>, q: Query): EndpointStats[] {
  const picked = [...model.values()].filter((t) => (q.since === undefined || t.startNs >= q.since) && (q.until === undefined || t.startNs < q.until));
  return aggregateEndpoints(picked, q.policy, q.top);
}

describe('EndpointIndex: equals aggregateEndpoints', () => {
  it('after any sequence of set, replace and delete, for any window, policy and top', () => {
    fc.assert(
      fc.property(fc.constantFrom(1n, 3n * S, BUCKET, 60n * S), fc.constantFrom(1, 2, 3, 32), fc.array(stepArb, { maxLength: 60 }), fc.array(queryArb, { minLength: 1, maxLength: 4 }), (bucketNs, bucketsPerBlock, steps, finalQueries) => {
        const index = new EndpointIndex({ bucketNs, bucketsPerBlock });
        const model = new Map<string, TraceSummary>();
        for (const step of steps) {
          if (step.op === 'set') {
            const t = toSummary(step.s);
            index.set(t);
            model.set(t.traceId, t);
          } else if (step.op === 'delete') {
            expect(index.delete(step.id)).toBe(model.delete(step.id));
          } else {
            expect(index.endpoints(step.q.policy, step.q.top, step.q.since, step.q.until)).toStrictEqual(reference(model, step.q));
          }
        }
        expect(index.size).toBe(model.size);
        expect(new Set(index.values())).toEqual(new Set(model.values()));
        for (const q of finalQueries) expect(index.endpoints(q.policy, q.top, q.since, q.until)).toStrictEqual(reference(model, q));
      }),
      { numRuns: 300 },
    );
  });

  it('many traces per bucket (selection across buckets, not a single sort)', () => {
    fc.assert(
      fc.property(fc.array(summaryArb, { minLength: 50, maxLength: 400 }), queryArb, fc.constantFrom(1, 2, 4), fc.integer({ min: 0, max: 1_000_000 }), (raw, q, bucketsPerBlock, salt) => {
        const index = new EndpointIndex({ bucketNs: 5n * S, bucketsPerBlock });
        const model = new Map<string, TraceSummary>();
        raw.forEach((r, i) => {
          const t = { ...toSummary(r), traceId: `${salt}-${i}` };
          index.set(t);
          model.set(t.traceId, t);
        });
        expect(index.endpoints(q.policy, q.top, q.since, q.until)).toStrictEqual(reference(model, q));
      }),
      { numRuns: 100 },
    );
  });
});

describe('EndpointIndex: blocks patched after changes', () => {
  it('equals aggregateEndpoints before, during and after', () => {
    fc.assert(
      fc.property(
        fc.array(summaryArb, { minLength: 50, maxLength: 300 }),
        fc.array(stepArb.filter((x) => x.op !== 'query'), { minLength: 1, maxLength: 20 }),
        queryArb,
        fc.constantFrom(2, 4, 8),
        (raw, changes, q, bucketsPerBlock) => {
          const index = new EndpointIndex({ bucketNs: 2n * S, bucketsPerBlock });
          const model = new Map<string, TraceSummary>();
          const apply = (step: (typeof changes)[number]): void => {
            if (step.op === 'set') {
              const t = toSummary(step.s);
              index.set(t);
              model.set(t.traceId, t);
            } else if (step.op === 'delete') index.delete(step.id);
            if (step.op === 'delete') model.delete(step.id);
          };
          // Many distinct ids: 300 traces, not 25.
          raw.forEach((r, i) => apply({ op: 'set', s: { ...r, id: 100 + i } }));
          const all: Query = { ...q, since: undefined, until: undefined };
          expect(index.endpoints(all.policy, all.top)).toStrictEqual(reference(model, all));
          // Changes to the traces already there (replaced, deleted) and new ones; a query after
          // each half: the blocks are patched, not rebuilt.
          const half = Math.ceil(changes.length / 2);
          changes.forEach((c, i) => {
            const id = c.op === 'set' ? c.s.id : Number(c.id.slice(1));
            const onto = i % 3 === 2 ? id : 100 + (id % raw.length);
            if (c.op === 'set') apply({ op: 'set', s: { ...c.s, id: onto } });
            else apply({ op: 'delete', id: `t${String(onto).padStart(2, '0')}` });
            if (i === half - 1 || i === changes.length - 1) expect(index.endpoints(all.policy, all.top)).toStrictEqual(reference(model, all));
          });
          expect(index.endpoints(q.policy, q.top, q.since, q.until)).toStrictEqual(reference(model, q));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('EndpointIndex.prepare', () => {
  it('builds blocks in slices ahead of the first query, which then answers the same', () => {
    fc.assert(
      fc.property(fc.array(summaryArb, { minLength: 1, maxLength: 120 }), fc.integer({ min: 1, max: 30 }), queryArb, (raw, budget, q) => {
        const index = new EndpointIndex({ bucketNs: 3n * S, bucketsPerBlock: 2 });
        const model = new Map<string, TraceSummary>();
        for (const r of raw) {
          const t = toSummary(r);
          index.set(t);
          model.set(t.traceId, t);
        }
        let slices = 0;
        while (!index.prepare(budget)) slices++;
        expect(slices).toBeLessThanOrEqual(model.size);
        expect(index.prepare(budget)).toBe(true);
        expect(index.endpoints(q.policy, q.top, q.since, q.until)).toStrictEqual(reference(model, q));
      }),
      { numRuns: 100 },
    );
  });
});

describe('EndpointIndex.newest', () => {
  it('the newest max traces of the window (latest start, then smallest id), and the count of all in it', () => {
    fc.assert(
      fc.property(fc.array(summaryArb, { maxLength: 80 }), fc.integer({ min: 0, max: 40 }), boundArb, boundArb, fc.constantFrom(1n, 3n * S, BUCKET), fc.constantFrom(1, 2, 32), (raw, max, since, until, bucketNs, bucketsPerBlock) => {
        const index = new EndpointIndex({ bucketNs, bucketsPerBlock });
        const model = new Map<string, TraceSummary>();
        for (const r of raw) {
          const t = toSummary(r);
          index.set(t);
          model.set(t.traceId, t);
        }
        const inWindow = [...model.values()].filter((t) => (since === undefined || t.startNs >= since) && (until === undefined || t.startNs < until));
        inWindow.sort((a, b) => (a.startNs > b.startNs ? -1 : a.startNs < b.startNs ? 1 : a.traceId < b.traceId ? -1 : 1));
        const got = index.newest(max, since, until);
        expect(got.inWindow).toBe(inWindow.length);
        expect(new Set(got.picked)).toEqual(new Set(inWindow.slice(0, max)));
        expect(got.picked).toHaveLength(Math.min(max, inWindow.length));
      }),
      { numRuns: 300 },
    );
  });
});

describe('aggregateEndpoints: order independent', () => {
  it('sums past 2^53 are exact, so the same in any order', () => {
    const big = 2 ** 53 - 1;
    const mk = (id: string, d: number): TraceSummary => ({ ...summary(id, 0, 0, []), durationNs: d, components: new Map([['k', { service: 's', operation: 'o', ns: d, errors: 0 }]]) });
    const input = [mk('x1', big), mk('x2', 1), mk('x3', 1), mk('x4', 1), mk('x5', 1)];
    // In a double, big + 1 + 1 + 1 + 1 stays 2^53 (each + 1 rounds back); 1 + 1 + 1 + 1 + big does not.
    expect(input.reduce((s, t) => s + t.durationNs, 0)).not.toBe([...input].reverse().reduce((s, t) => s + t.durationNs, 0));
    const [a] = aggregateEndpoints(input, { kind: 'auto' }, 1);
    expect(a?.criticalPath[0]?.selfNs.total).toBe(Number(BigInt(big) + 4n));
    expect(aggregateEndpoints([...input].reverse(), { kind: 'auto' }, 1)).toStrictEqual([a]);
    const index = new EndpointIndex({ bucketNs: 1n });
    for (const t of input) index.set(t);
    expect(index.endpoints({ kind: 'auto' }, 1)).toStrictEqual([a]);
  });

  it('any permutation of the input gives the same answer', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(summaryArb, { selector: (r) => r.id, maxLength: 25 }),
        policyArb,
        fc.integer({ min: 0, max: 5 }),
        fc.infiniteStream(fc.nat()),
        (raw, policy, top, rand) => {
          const input = raw.map(toSummary);
          const shuffled = [...input];
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = (rand.next().value as number) % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j] as TraceSummary, shuffled[i] as TraceSummary];
          }
          // Components' Map order differs too (a store or the wire may rebuild it in another order).
          const reordered = shuffled.map((t) => ({ ...t, components: new Map([...t.components].reverse()) }));
          expect(aggregateEndpoints(reordered, policy, top)).toStrictEqual(aggregateEndpoints(input, policy, top));
        },
      ),
      { numRuns: 300 },
    );
  });
});
