// A block's arrays (endpoint-cell.ts) brought up to date after a few traces were added or
// removed, without reading its other summaries again: one linear pass that copies the old sorted
// arrays, skips the removed entries and merges in the added ones. Rebuilding from the summaries
// would sort them all again and read every summary's components (scattered in memory): a few
// microseconds per trace, against a few nanoseconds per value here. The pass writes into scratch
// arrays and copies back into the old arrays when they are big enough (they are allocated with
// room to spare): a block patched per poll allocates nothing, where new arrays per patch drove
// full collections of the heap.
import { hdrBin } from './latency-histogram.js';
import { cellOrder, COMP_ERRORS, COMP_FROM, COMP_ID, COMP_STRIDE, COMP_TO, type CellData, type ComponentTable } from './endpoint-cell.js';
import type { TraceSummary } from './endpoints.js';
import { lowerBound, Scratch } from './sorted-runs.js';

/** Marks of the old values to drop, reused from patch to patch (zeroed after use). */
let marks = new Uint8Array(1024);
/** The pass's output before it is copied back. */
const outValues = new Scratch();
let outBins = new Uint16Array(1024);
const outTraces: TraceSummary[] = [];

/**
 * `old` without the `removed` traces (all in it) and with the `added` ones (none in it). Reuses
 * old's arrays when they are big enough: `old` must not be read afterwards.
 */
export function patchCell(old: CellData, added: readonly TraceSummary[], removed: Iterable<TraceSummary>, table: ComponentTable): CellData {
  if (marks.length < old.values.length) marks = new Uint8Array(Math.max(old.values.length, 2 * marks.length));
  const drop = marks;
  const records = old.comps.length / COMP_STRIDE;
  // Per old component record: values dropped and errors removed.
  const dropped = new Array<number>(records).fill(0);
  const errorsOut = new Array<number>(records).fill(0);
  let removedTraces = 0;
  for (const t of removed) {
    drop[traceIndex(old, t)] = 1;
    removedTraces++;
    for (const [k, c] of t.components) {
      const r = recordOf(old.comps, table.id(k, c));
      if (r < 0) throw new Error(`endpoint index: a component of trace ${t.traceId} is not in its block`);
      const from = old.comps[r * COMP_STRIDE + COMP_FROM] ?? 0;
      const to = old.comps[r * COMP_STRIDE + COMP_TO] ?? 0;
      // Any one of equal values will do: values are only numbers.
      let i = lowerBound(old.values, c.ns, from, to);
      while (drop[i] === 1) i++;
      drop[i] = 1;
      dropped[r] = (dropped[r] ?? 0) + 1;
      errorsOut[r] = (errorsOut[r] ?? 0) + c.errors;
    }
  }

  const adds = [...added].sort(cellOrder);
  // Added path times per component id, sorted, with their errors.
  const addedComps = new Map<number, { values: number[]; errors: number }>();
  for (const t of adds) {
    for (const [k, c] of t.components) {
      const id = table.id(k, c);
      let e = addedComps.get(id);
      if (!e) addedComps.set(id, (e = { values: [], errors: 0 }));
      e.values.push(c.ns);
      e.errors += c.errors;
    }
  }
  for (const e of addedComps.values()) e.values.sort((a, b) => a - b);

  // The new layout: old components that keep a value, and new ones, by id.
  const ids = new Set<number>(addedComps.keys());
  for (let r = 0; r < records; r++) {
    const count = (old.comps[r * COMP_STRIDE + COMP_TO] ?? 0) - (old.comps[r * COMP_STRIDE + COMP_FROM] ?? 0);
    if (count > (dropped[r] ?? 0)) ids.add(old.comps[r * COMP_STRIDE + COMP_ID] ?? 0);
  }
  const order = [...ids].sort((a, b) => a - b);
  const n = old.n - removedTraces + adds.length;
  let total = n;
  for (const id of order) {
    const r = recordOf(old.comps, id);
    if (r >= 0) total += (old.comps[r * COMP_STRIDE + COMP_TO] ?? 0) - (old.comps[r * COMP_STRIDE + COMP_FROM] ?? 0) - (dropped[r] ?? 0);
    total += addedComps.get(id)?.values.length ?? 0;
  }
  const values = outValues.space(total);
  if (outBins.length < total) outBins = new Uint16Array(Math.max(total, 2 * outBins.length));
  const bins = outBins;
  const comps = new Float64Array(order.length * COMP_STRIDE);

  // Durations and traces: the old ones kept, merged with the added ones in cell order.
  const traces = outTraces;
  traces.length = n;
  let durationSum = 0;
  let k = 0;
  let a = 0;
  for (let i = 0; i <= old.n; i++) {
    const t = i < old.n ? (old.traces[i] as TraceSummary) : undefined;
    if (t !== undefined && drop[i] === 1) continue;
    while (a < adds.length && (t === undefined || cellOrder(adds[a] as TraceSummary, t) < 0)) {
      const x = adds[a++] as TraceSummary;
      traces[k] = x;
      bins[k] = hdrBin(x.durationNs);
      values[k++] = x.durationNs;
      durationSum += x.durationNs;
    }
    if (t === undefined) break;
    traces[k] = t;
    bins[k] = old.bins[i] ?? 0;
    values[k++] = t.durationNs;
    durationSum += t.durationNs;
  }

  // Each component: its old values kept, merged with the added ones; sums recomputed in passing.
  let at = n;
  order.forEach((id, j) => {
    const r = recordOf(old.comps, id);
    const add = addedComps.get(id);
    const from = at;
    let sum = 0;
    let i = r >= 0 ? (old.comps[r * COMP_STRIDE + COMP_FROM] ?? 0) : 0;
    const end = r >= 0 ? (old.comps[r * COMP_STRIDE + COMP_TO] ?? 0) : 0;
    const more = add?.values ?? [];
    let m = 0;
    for (;;) {
      while (i < end && drop[i] === 1) i++;
      const x = i < end ? (old.values[i] ?? 0) : Infinity;
      const y = m < more.length ? (more[m] ?? 0) : Infinity;
      if (i >= end && m >= more.length) break;
      if (x <= y) {
        bins[at] = old.bins[i] ?? 0;
        values[at++] = x;
        sum += x;
        i++;
      } else {
        bins[at] = hdrBin(y);
        values[at++] = y;
        sum += y;
        m++;
      }
    }
    const errors = (r >= 0 ? (old.comps[r * COMP_STRIDE + COMP_ERRORS] ?? 0) - (errorsOut[r] ?? 0) : 0) + (add?.errors ?? 0);
    comps.set([id, from, at, sum, errors], j * COMP_STRIDE);
  });
  drop.fill(0, 0, old.values.length);
  return { n, durationSum, comps, ...copyBack(old, traces, values, bins, total) };
}

/** The pass's output in old's arrays if they have room, else in new ones with room to spare. */
function copyBack(old: CellData, traces: readonly TraceSummary[], values: Float64Array, bins: Uint16Array, total: number): Pick<CellData, 'traces' | 'values' | 'bins'> {
  const roomy = old.values.length >= total;
  const capacity = roomy ? old.values.length : total + (total >>> 3) + 16;
  const v = roomy ? old.values : new Float64Array(capacity);
  const b = roomy ? old.bins : new Uint16Array(capacity);
  v.set(values.subarray(0, total));
  b.set(bins.subarray(0, total));
  // `traces` is the scratch array: copied into old's (a plain array, resized in place).
  const t = old.traces as TraceSummary[];
  t.length = traces.length;
  for (let i = 0; i < traces.length; i++) t[i] = traces[i] as TraceSummary;
  outTraces.length = 0;
  return { traces: t, values: v, bins: b };
}

/** Where trace `t` is in `cell` (cell order is total: trace ids are unique). */
function traceIndex(cell: CellData, t: TraceSummary): number {
  let lo = 0;
  let hi = cell.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cellOrder(cell.traces[mid] as TraceSummary, t) < 0) lo = mid + 1;
    else hi = mid;
  }
  if (cell.traces[lo] !== t) throw new Error(`endpoint index: trace ${t.traceId} is not in its block`);
  return lo;
}

/** The record of component `id` in `comps` (records by ascending id), or -1. */
function recordOf(comps: Float64Array, id: number): number {
  let lo = 0;
  let hi = comps.length / COMP_STRIDE;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((comps[mid * COMP_STRIDE + COMP_ID] ?? 0) < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < comps.length / COMP_STRIDE && comps[lo * COMP_STRIDE + COMP_ID] === id ? lo : -1;
}
