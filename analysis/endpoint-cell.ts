// One endpoint's traces in a block of time buckets (or in one bucket), in the sorted typed
// arrays that merged statistics (endpoint-merge.ts) read: durations with their traces, and each
// component's path times. Built from summaries here, patched after changes (endpoint-patch.ts);
// a query merges these, never the summaries. Three typed arrays per cell: allocating many small
// ones cost more than filling them.
import { threadPart, type ComponentTime, type ThreadPart, type TraceSummary } from './endpoints.js';
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
    values.subarray(from, at).sort();
    comps.set([id, from, at, e.sum, e.errors], j * COMP_STRIDE);
  });
  return { n, traces, values, bins: binsOf(values), durationSum, comps };
}
