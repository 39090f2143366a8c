// One endpoint's traces in one time bucket, in the sorted typed arrays that merged statistics
// (endpoint-merge.ts) read: durations with their traces, and each component's path times.
// Built when a bucket is queried after it changed; a query merges these, never the summaries.
import { threadPart, type ComponentTime, type ThreadPart, type TraceSummary } from './endpoints.js';
import { binsOf } from './sorted-runs.js';

/** What a component's statistics carry besides numbers: its name (the first summary's, equal in all). */
export interface ComponentMeta {
  readonly key: string;
  readonly service: string;
  readonly operation: string;
  readonly part: ThreadPart;
}

/** One endpoint's components, numbered once so that buckets hold numbers, not keys. */
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

export interface CellData {
  readonly n: number;
  /**
   * By duration ascending; equal durations: later start first, then larger traceId first. So
   * read backwards, the order of outliers (slowest, then earliest, then smallest id).
   */
  readonly traces: readonly TraceSummary[];
  readonly durations: Float64Array;
  readonly durationBins: Uint16Array;
  /** Σ durations in a double: exact while a safe integer (see exactSum). */
  readonly durationSum: number;
  /** Components present (ascending ids); component j's path times are compValues[compStart[j], compStart[j + 1]), ascending. */
  readonly compIds: Int32Array;
  readonly compStart: Int32Array;
  readonly compValues: Float64Array;
  readonly compBins: Uint16Array;
  readonly compSum: Float64Array;
  readonly compErrors: Float64Array;
}

/** Ascending duration, then descending start, then descending traceId. */
export function cellOrder(a: TraceSummary, b: TraceSummary): number {
  return a.durationNs - b.durationNs || (a.startNs > b.startNs ? -1 : a.startNs < b.startNs ? 1 : 0) || (a.traceId > b.traceId ? -1 : a.traceId < b.traceId ? 1 : 0);
}

export function buildCell(members: Iterable<TraceSummary>, table: ComponentTable): CellData {
  const traces = [...members].sort(cellOrder);
  const n = traces.length;
  const durations = new Float64Array(n);
  let durationSum = 0;
  // Path times per component id, gathered before they are laid out contiguously.
  const perComp = new Map<number, { values: number[]; sum: number; errors: number }>();
  for (let i = 0; i < n; i++) {
    const t = traces[i] as TraceSummary;
    durations[i] = t.durationNs;
    durationSum += t.durationNs;
    for (const [k, c] of t.components) {
      const id = table.id(k, c);
      let e = perComp.get(id);
      if (!e) perComp.set(id, (e = { values: [], sum: 0, errors: 0 }));
      e.values.push(c.ns);
      e.sum += c.ns;
      e.errors += c.errors;
    }
  }
  const ids = [...perComp.keys()].sort((a, b) => a - b);
  const compIds = Int32Array.from(ids);
  const compStart = new Int32Array(ids.length + 1);
  const compSum = new Float64Array(ids.length);
  const compErrors = new Float64Array(ids.length);
  let total = 0;
  for (const e of perComp.values()) total += e.values.length;
  const compValues = new Float64Array(total);
  let at = 0;
  ids.forEach((id, j) => {
    const e = perComp.get(id);
    if (!e) return;
    compStart[j] = at;
    const sorted = Float64Array.from(e.values).sort();
    compValues.set(sorted, at);
    at += sorted.length;
    compSum[j] = e.sum;
    compErrors[j] = e.errors;
  });
  compStart[ids.length] = at;
  return { n, traces, durations, durationBins: binsOf(durations), durationSum, compIds, compStart, compValues, compBins: binsOf(compValues), compSum, compErrors };
}
