// Golden test for per-endpoint aggregation, computed by hand:
//
//   trace  duration  path time per component
//   t1     10 ms     api 4, db 6
//   t2     20 ms     api 5, db 15
//   t3     30 ms     api 10, db 20
//   t4    100 ms     api 10, db 20, cache 70 (1 error span)
//
// Nearest rank over [10, 20, 30, 100]: p50 = rank 2 = 20, p90 = p99 = rank 4 = 100.
// Totals: cache 70, db 61, api 29; sum of durations 160 -> shares 0.4375, 0.38125, 0.18125.
// Medians over all 4 traces, zeros included: cache [0,0,0,70] -> 0; db 15; api 5.
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { aggregateEndpoints, componentKey, type ComponentTime, type TraceSummary } from '../../analysis/endpoints.js';

const MS = 1_000_000;

function summary(id: string, dur: number, comps: [string, number, number?][], service = 'front', operation = 'GET /a'): TraceSummary {
  const components = new Map<string, ComponentTime>();
  for (const [name, ms, errors] of comps) components.set(componentKey('svc', name), { service: 'svc', operation: name, ns: ms * MS, errors: errors ?? 0 });
  return { traceId: id.padStart(32, '0'), service, operation, startNs: BigInt(id.charCodeAt(1)) * 1_000_000_000n, durationNs: dur * MS, components };
}

const traces = [
  summary('t1', 10, [['api', 4], ['db', 6]]),
  summary('t2', 20, [['api', 5], ['db', 15]]),
  summary('t3', 30, [['api', 10], ['db', 20]]),
  summary('t4', 100, [['api', 10], ['db', 20], ['cache', 70, 1]]),
  summary('u1', 7, [['x', 7]], 'other', 'GET /b'),
];

describe('aggregateEndpoints', () => {
  const [a, b] = aggregateEndpoints(traces, { kind: 'auto' }, 20);

  it('groups by root service + operation, sorted by trace count', () => {
    expect([a?.operation, a?.traces, b?.operation, b?.traces]).toEqual(['GET /a', 4, 'GET /b', 1]);
  });

  it('exact percentiles by nearest rank', () => {
    expect(a?.latencyNs).toEqual({ p50: 20 * MS, p90: 100 * MS, p99: 100 * MS, p999: 100 * MS, max: 100 * MS });
  });

  it('an HDR histogram of the same durations, compact-encoded', () => {
    const h = hdr.decodeFromCompressedBase64(a?.latencyHistogram ?? '', 64, false);
    expect(h.totalCount).toBe(4);
    expect(h.maxValue).toBeGreaterThanOrEqual(99.9 * MS);
    expect(h.getValueAtPercentile(50)).toBeGreaterThanOrEqual(19.98 * MS);
    expect(h.getValueAtPercentile(50)).toBeLessThanOrEqual(20.02 * MS);
  });

  it('components by total path time with exact self-time percentiles and shares', () => {
    expect(a?.criticalPath.map((c) => [c.operation, c.onPathTraces, c.selfNs.total / MS, c.selfNs.p50 / MS, c.selfNs.max / MS, c.share, c.errors])).toEqual([
      ['cache', 1, 70, 70, 70, 0.4375, 1],
      ['db', 4, 61, 15, 20, 0.38125, 0],
      ['api', 4, 29, 5, 10, 0.18125, 0],
    ]);
  });

  it('auto outliers: >= p99 and >= 1.5x median; dominant and excess over the zero-filled median', () => {
    expect(a?.outlierThresholdNs).toBe(100 * MS);
    expect(a?.outliers).toHaveLength(1);
    const o = a?.outliers[0];
    expect(o?.traceId.endsWith('t4')).toBe(true);
    expect(o?.dominant).toEqual({ service: 'svc', operation: 'cache', selfNs: 70 * MS });
    expect(o?.excess.map((x) => [x.operation, x.ns / MS])).toEqual([
      ['cache', 70],
      ['api', 5],
      ['db', 5],
    ]);
  });

  it('percentile and duration rules, limited by --top, slowest first', () => {
    const [p] = aggregateEndpoints(traces, { kind: 'percentile', p: 50 }, 2);
    expect(p?.outliers.map((o) => o.durationNs / MS)).toEqual([100, 30]);
    const [d] = aggregateEndpoints(traces, { kind: 'duration', ns: 25 * MS }, 20);
    expect(d?.outliers.map((o) => o.durationNs / MS)).toEqual([100, 30]);
  });

  it('a typical trace has the median duration', () => {
    expect(a?.typicalTraceId?.endsWith('t2')).toBe(true);
  });
});
