// One endpoint's statistics from its buckets (endpoint-cell.ts), exactly what aggregateEndpoints
// answers over the same traces: percentiles by selection across the buckets' sorted arrays,
// sums and counts added, outliers and the typical trace taken from each bucket's ends.
import { COMP_ERRORS, COMP_FROM, COMP_ID, COMP_STRIDE, COMP_SUM, COMP_TO, type CellData, type ComponentTable } from './endpoint-cell.js';
import {
  compareComponents,
  compareOutliers,
  componentStats,
  medianWithZerosRank,
  outlierThreshold,
  toOutlier,
  typicalBefore,
  type ComponentStats,
  type EndpointStats,
  type OutlierPolicy,
  type TraceSummary,
} from './endpoints.js';
import { encodeBinCounts } from './latency-histogram.js';
import { rankOf, type Percentiles } from './percentiles.js';
import { binCounts, exactSum, lowerBound, maxOf, Scratch, upperBound, valuesAtRanks, type Run } from './sorted-runs.js';

/**
 * Components' ranks are located in groups of 2^3 HDR bins (128 per power of two): fewer counts
 * to add up per component, a few more values gathered per rank.
 */
const COMPONENT_SHIFT = 3;

/** Counts per bin of the durations, then of each component in turn (queries are synchronous). */
const durationCounts = new Scratch();
const componentCounts = new Scratch();

/** `cells` hold at least one trace between them. */
export function mergeEndpoint(cells: readonly CellData[], table: ComponentTable, policy: OutlierPolicy, top: number): EndpointStats {
  let n = 0;
  let sum = 0;
  const runs: Run[] = [];
  for (const c of cells) {
    n += c.n;
    sum += c.durationSum;
    runs.push({ values: c.values, bins: c.bins, from: 0, to: c.n });
  }
  const sumDur = exactSum(sum, runs);
  const bins = binCounts(runs, 0, durationCounts);
  const [p50 = 0, p90 = 0, p99 = 0, p999 = 0] = valuesAtRanks(runs, [rankOf(n, 50), rankOf(n, 90), rankOf(n, 99), rankOf(n, 99.9)], bins);
  const latencyNs: Percentiles = { p50, p90, p99, p999, max: maxOf(runs) };

  const { criticalPath, medianWithZeros } = components(cells, table, n, sumDur);

  const threshold = outlierThreshold(policy, latencyNs, (p) => valuesAtRanks(runs, [rankOf(n, p)], bins)[0] ?? 0);
  let outlierCount = 0;
  for (const c of cells) outlierCount += c.n - lowerBound(c.values, threshold, 0, c.n);
  const take = Math.min(Math.max(0, top), outlierCount);
  const slowest = take > 0 ? slowestTraces(cells, take, valuesAtRanks(runs, [n - take + 1], bins)[0] ?? 0) : [];

  const first = cells.find((c) => c.n > 0)?.traces[0];
  return {
    service: first?.service ?? '',
    operation: first?.operation ?? '',
    traces: n,
    latencyNs,
    latencyHistogram: encodeBinCounts(bins.counts, bins.first),
    criticalPath,
    outliers: slowest.map((t) => toOutlier(t, medianWithZeros)),
    typicalTraceId: typical(cells, p50)?.traceId,
    outlierThresholdNs: threshold,
    outlierCount,
  };
}

/** Per component: runs, counts and sums gathered from every cell, then its statistics. */
function components(cells: readonly CellData[], table: ComponentTable, n: number, sumDur: number): { criticalPath: ComponentStats[]; medianWithZeros: Map<string, number> } {
  const acc: ({ runs: Run[]; sum: number; errors: number; onPath: number } | undefined)[] = new Array(table.size);
  for (const c of cells) {
    const comps = c.comps;
    for (let r = 0; r < comps.length; r += COMP_STRIDE) {
      const id = comps[r + COMP_ID] ?? 0;
      const from = comps[r + COMP_FROM] ?? 0;
      const to = comps[r + COMP_TO] ?? 0;
      let a = acc[id];
      if (!a) acc[id] = a = { runs: [], sum: 0, errors: 0, onPath: 0 };
      a.runs.push({ values: c.values, bins: c.bins, from, to });
      a.sum += comps[r + COMP_SUM] ?? 0;
      a.errors += comps[r + COMP_ERRORS] ?? 0;
      a.onPath += to - from;
    }
  }
  const criticalPath: ComponentStats[] = [];
  const medianWithZeros = new Map<string, number>();
  acc.forEach((a, id) => {
    const meta = table.meta(id);
    if (!a || !meta) return;
    const mwz = medianWithZerosRank(n, a.onPath);
    const ranks = [rankOf(a.onPath, 50), rankOf(a.onPath, 90), rankOf(a.onPath, 99), mwz ?? 1];
    const [p50 = 0, p90 = 0, p99 = 0, median = 0] = valuesAtRanks(a.runs, ranks, binCounts(a.runs, COMPONENT_SHIFT, componentCounts));
    const selfNs = { p50, p90, p99, max: maxOf(a.runs), total: exactSum(a.sum, a.runs) };
    criticalPath.push(componentStats(meta, meta.part, a.onPath, selfNs, sumDur, a.errors));
    medianWithZeros.set(meta.key, mwz === undefined ? 0 : median);
  });
  criticalPath.sort(compareComponents);
  return { criticalPath, medianWithZeros };
}

/**
 * The `take` slowest traces (in outliers' order), given the take-th largest duration: within a
 * cell they are the last ones, so at most `take` from each cell's end compete.
 */
function slowestTraces(cells: readonly CellData[], take: number, atLeast: number): TraceSummary[] {
  const candidates: TraceSummary[] = [];
  for (const c of cells) {
    const from = Math.max(lowerBound(c.values, atLeast, 0, c.n), c.n - take);
    for (let i = c.n - 1; i >= from; i--) candidates.push(c.traces[i] as TraceSummary);
  }
  return candidates.sort(compareOutliers).slice(0, take);
}

/** Among the traces lasting the median, the earliest (then smallest id): in a cell, the last of its run. */
function typical(cells: readonly CellData[], p50: number): TraceSummary | undefined {
  let best: TraceSummary | undefined;
  for (const c of cells) {
    const end = upperBound(c.values, p50, 0, c.n);
    const t = c.traces[end - 1];
    if (end > 0 && t && t.durationNs === p50 && (best === undefined || typicalBefore(t, best))) best = t;
  }
  return best;
}
