// One endpoint's traces in one time bucket (or in a block of buckets), in the sorted typed arrays
// that merged statistics (endpoint-merge.ts) read: durations with their traces, and each
// component's path times. Built from summaries when a bucket changed, or by merging the buckets'
// arrays for a block; a query merges these, never the summaries. Three typed arrays per cell:
// allocating many small ones cost more than filling them.
import { threadPart, type ComponentTime, type ThreadPart, type TraceSummary } from './endpoints.js';
import { mergeRuns, sortRange } from './sorted-merge.js';
import { binsOf } from './sorted-runs.js';

/** What a component's statistics carry besides numbers: its name (the first summary's, equal in all). */
export interface ComponentMeta {
  readonly key: string;
  readonly service: string;
  readonly operation: string;
  readonly part: ThreadPart;
}

/** One endpoint's components, numbered once so that cells hold numbers, not keys. */
export class ComponentTable {
  private readonly ids = new Map<string, number>();
  private readonly metas: ComponentMeta[] = [];

  id(key: string, c: ComponentTime): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      this.ids.set(key, (id = this.metas.length));
      this.metas.push({ key, service: c.service, operation: c.operation, part: threadPart(c) });
    }
    return id;
  }

  meta(id: number): ComponentMeta | undefined {
    return this.metas[id];
  }

  get size(): number {
    return this.metas.length;
  }
}

/** `comps` holds one record of COMP_STRIDE numbers per component present: */
export const COMP_STRIDE = 5;
/** Its id in the endpoint's ComponentTable (records by ascending id). */
export const COMP_ID = 0;
/** Its path times: values[from, to), ascending. */
export const COMP_FROM = 1;
export const COMP_TO = 2;
/** Σ of its path times in a double: exact while a safe integer (see exactSum). */
export const COMP_SUM = 3;
export const COMP_ERRORS = 4;

export interface CellData {
  readonly n: number;
  /**
   * By duration ascending; equal durations: later start first, then larger traceId first. So
   * read backwards, the order of outliers (slowest, then earliest, then smallest id).
   */
  readonly traces: readonly TraceSummary[];
  /** [0, n): the traces' durations; then each component's path times (see `comps`). */
  readonly values: Float64Array;
  /** The HDR bin of each value. */
  readonly bins: Uint16Array;
  /** Σ durations in a double: exact while a safe integer (see exactSum). */
  readonly durationSum: number;
  readonly comps: Float64Array;
}

/** Ascending duration, then descending start, then descending traceId. */
export function cellOrder(a: TraceSummary, b: TraceSummary): number {
  return a.durationNs - b.durationNs || (a.startNs > b.startNs ? -1 : a.startNs < b.startNs ? 1 : 0) || (a.traceId > b.traceId ? -1 : a.traceId < b.traceId ? 1 : 0);
}

export function buildCell(members: Iterable<TraceSummary>, table: ComponentTable): CellData {
  const traces = [...members].sort(cellOrder);
  const n = traces.length;
  let durationSum = 0;
  // Path times per component id, gathered before they are laid out contiguously.
  const perComp = new Map<number, { values: number[]; sum: number; errors: number }>();
  let total = n;
  for (const t of traces) {
    durationSum += t.durationNs;
    for (const [k, c] of t.components) {
      const id = table.id(k, c);
      let e = perComp.get(id);
      if (!e) perComp.set(id, (e = { values: [], sum: 0, errors: 0 }));
      e.values.push(c.ns);
      e.sum += c.ns;
      e.errors += c.errors;
      total++;
    }
  }
  const values = new Float64Array(total);
  for (let i = 0; i < n; i++) values[i] = (traces[i] as TraceSummary).durationNs;
  const ids = [...perComp.keys()].sort((a, b) => a - b);
  const comps = new Float64Array(ids.length * COMP_STRIDE);
  let at = n;
  ids.forEach((id, j) => {
    const e = perComp.get(id);
    if (!e) return;
    const from = at;
    for (const v of e.values) values[at++] = v;
    sortRange(values, from, at);
    comps.set([id, from, at, e.sum, e.errors], j * COMP_STRIDE);
  });
  return { n, traces, values, bins: binsOf(values), durationSum, comps };
}

/** One cell holding the traces of several (a block of buckets): their arrays merged, not rebuilt from summaries. */
export function mergeCells(cells: readonly CellData[]): CellData {
  if (cells.length === 1 && cells[0]) return cells[0];
  let n = 0;
  let total = 0;
  let durationSum = 0;
  // Each component's slices, by id.
  const slices = new Map<number, { from: number; to: number; cell: CellData; sum: number; errors: number }[]>();
  for (const c of cells) {
    n += c.n;
    total += c.values.length;
    durationSum += c.durationSum;
    for (let r = 0; r < c.comps.length; r += COMP_STRIDE) {
      const id = c.comps[r + COMP_ID] ?? 0;
      let list = slices.get(id);
      if (!list) slices.set(id, (list = []));
      list.push({ cell: c, from: c.comps[r + COMP_FROM] ?? 0, to: c.comps[r + COMP_TO] ?? 0, sum: c.comps[r + COMP_SUM] ?? 0, errors: c.comps[r + COMP_ERRORS] ?? 0 });
    }
  }
  const { durations, traces } = mergeByCellOrder(cells);
  const values = new Float64Array(total);
  values.set(durations);
  const ids = [...slices.keys()].sort((a, b) => a - b);
  const comps = new Float64Array(ids.length * COMP_STRIDE);
  let at = n;
  ids.forEach((id, j) => {
    const from = at;
    let sum = 0;
    let errors = 0;
    const starts: number[] = [];
    for (const s of slices.get(id) ?? []) {
      starts.push(at);
      values.set(s.cell.values.subarray(s.from, s.to), at);
      at += s.to - s.from;
      sum += s.sum;
      errors += s.errors;
    }
    // Each bucket's slice is sorted: merged, not sorted again.
    mergeRuns(values, from, at, starts);
    comps.set([id, from, at, sum, errors], j * COMP_STRIDE);
  });
  return { n, traces, values, bins: binsOf(values), durationSum, comps };
}

/** The cells' traces in cell order: sorted runs merged pairwise, round after round (no recursion). */
function mergeByCellOrder(cells: readonly CellData[]): { durations: Float64Array; traces: TraceSummary[] } {
  let runs = cells.map((c) => ({ durations: c.values.subarray(0, c.n), traces: c.traces }));
  while (runs.length > 1) {
    const next: typeof runs = [];
    for (let i = 0; i < runs.length; i += 2) {
      const a = runs[i];
      const b = runs[i + 1];
      if (a && b) next.push(mergeTwo(a, b));
      else if (a) next.push(a);
    }
    runs = next;
  }
  const only = runs[0];
  return { durations: only?.durations ?? new Float64Array(0), traces: [...(only?.traces ?? [])] };
}

function mergeTwo(a: { durations: Float64Array; traces: readonly TraceSummary[] }, b: { durations: Float64Array; traces: readonly TraceSummary[] }): { durations: Float64Array; traces: TraceSummary[] } {
  const na = a.durations.length;
  const nb = b.durations.length;
  const durations = new Float64Array(na + nb);
  const traces = new Array<TraceSummary>(na + nb);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < na && j < nb) {
    const da = a.durations[i] ?? 0;
    const db = b.durations[j] ?? 0;
    // Durations decide but for ties (rare): then the full cell order.
    const takeA = da < db || (da === db && cellOrder(a.traces[i] as TraceSummary, b.traces[j] as TraceSummary) <= 0);
    if (takeA) {
      durations[k] = da;
      traces[k++] = a.traces[i++] as TraceSummary;
    } else {
      durations[k] = db;
      traces[k++] = b.traces[j++] as TraceSummary;
    }
  }
  for (; i < na; i++, k++) {
    durations[k] = a.durations[i] ?? 0;
    traces[k] = a.traces[i] as TraceSummary;
  }
  for (; j < nb; j++, k++) {
    durations[k] = b.durations[j] ?? 0;
    traces[k] = b.traces[j] as TraceSummary;
  }
  return { durations, traces };
}
