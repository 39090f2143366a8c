// Per-endpoint statistics kept current as traces are analysed, re-analysed and forgotten,
// instead of re-aggregating every summary per query (issue 11). Summaries are grouped by
// endpoint and time bucket (by trace start); a bucket's sorted arrays (endpoint-cell.ts) are
// rebuilt only when it changed, and a query merges whole buckets (endpoint-merge.ts), filtering
// only the two at the window's edges. Answers equal aggregateEndpoints over the same traces.
import { buildCell, ComponentTable, type CellData } from './endpoint-cell.js';
import { mergeEndpoint } from './endpoint-merge.js';
import { compareEndpoints, componentKey, type EndpointStats, type OutlierPolicy, type TraceSummary } from './endpoints.js';

/** 60 s. */
const DEFAULT_BUCKET_NS = 60_000_000_000n;

/** One endpoint's traces in one time bucket [lo, lo + bucketNs). */
class Cell {
  readonly members = new Set<TraceSummary>();
  /** Sorted arrays of `members`; undefined since the last change. */
  data: CellData | undefined;
  constructor(readonly lo: bigint) {}
}

/** One endpoint: its buckets and its components' numbering. */
class Endpoint {
  readonly table = new ComponentTable();
  readonly cells = new Map<bigint, Cell>();
  /** `cells` by time; undefined since a bucket was added or emptied. */
  private byTime: Cell[] | undefined;

  add(t: TraceSummary, lo: bigint): void {
    let cell = this.cells.get(lo);
    if (!cell) {
      this.cells.set(lo, (cell = new Cell(lo)));
      this.byTime = undefined;
    }
    cell.members.add(t);
    cell.data = undefined;
  }

  remove(t: TraceSummary, lo: bigint): void {
    const cell = this.cells.get(lo);
    if (!cell?.members.delete(t)) return;
    cell.data = undefined;
    if (cell.members.size === 0) {
      this.cells.delete(lo);
      this.byTime = undefined;
    }
  }

  /** The cells' data for the traces starting in [since, until): whole buckets as built, edge buckets filtered. */
  window(bucketNs: bigint, since: bigint | undefined, until: bigint | undefined): CellData[] {
    this.byTime ??= [...this.cells.values()].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    const cells = this.byTime;
    // The first bucket that ends after `since`.
    let i = 0;
    if (since !== undefined) {
      let hi = cells.length;
      while (i < hi) {
        const mid = (i + hi) >>> 1;
        if ((cells[mid] as Cell).lo + bucketNs <= since) i = mid + 1;
        else hi = mid;
      }
    }
    const out: CellData[] = [];
    for (; i < cells.length; i++) {
      const cell = cells[i] as Cell;
      if (until !== undefined && cell.lo >= until) break;
      const whole = (since === undefined || cell.lo >= since) && (until === undefined || cell.lo + bucketNs <= until);
      if (whole) out.push((cell.data ??= buildCell(cell.members, this.table)));
      else {
        const inside = [...cell.members].filter((t) => (since === undefined || t.startNs >= since) && (until === undefined || t.startNs < until));
        if (inside.length > 0) out.push(buildCell(inside, this.table));
      }
    }
    return out;
  }
}

export class EndpointIndex {
  readonly bucketNs: bigint;
  private readonly byId = new Map<string, TraceSummary>();
  private readonly groups = new Map<string, Endpoint>();
  private changes = 0;

  constructor(opts?: { bucketNs?: bigint }) {
    this.bucketNs = opts?.bucketNs ?? DEFAULT_BUCKET_NS;
    if (this.bucketNs <= 0n) throw new RangeError(`bucketNs must be positive, not ${this.bucketNs}`);
  }

  /** Adds a summary, or replaces the one with the same traceId (a re-analysed trace). Summaries must not change once set. */
  set(summary: TraceSummary): void {
    const old = this.byId.get(summary.traceId);
    if (old === summary) return;
    if (old) this.unfile(old);
    this.byId.set(summary.traceId, summary);
    const k = componentKey(summary.service, summary.operation);
    let g = this.groups.get(k);
    if (!g) this.groups.set(k, (g = new Endpoint()));
    g.add(summary, this.bucketOf(summary.startNs));
    this.changes++;
  }

  delete(traceId: string): boolean {
    const old = this.byId.get(traceId);
    if (!old) return false;
    this.byId.delete(traceId);
    this.unfile(old);
    this.changes++;
    return true;
  }

  get(traceId: string): TraceSummary | undefined {
    return this.byId.get(traceId);
  }

  has(traceId: string): boolean {
    return this.byId.has(traceId);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Bumped by every change: answers cached against it stay valid while it is unchanged. */
  get version(): number {
    return this.changes;
  }

  /** Every summary, in no particular order. */
  values(): IterableIterator<TraceSummary> {
    return this.byId.values();
  }

  /** Equals aggregateEndpoints(the summaries with since <= startNs < until, policy, top). */
  endpoints(policy: OutlierPolicy, top: number, sinceNs?: bigint, untilNs?: bigint): EndpointStats[] {
    const out: EndpointStats[] = [];
    for (const g of this.groups.values()) {
      const cells = g.window(this.bucketNs, sinceNs, untilNs);
      if (cells.length > 0) out.push(mergeEndpoint(cells, g.table, policy, top));
    }
    return out.sort(compareEndpoints);
  }

  private unfile(t: TraceSummary): void {
    const k = componentKey(t.service, t.operation);
    const g = this.groups.get(k);
    if (!g) return;
    g.remove(t, this.bucketOf(t.startNs));
    if (g.cells.size === 0) this.groups.delete(k);
  }

  /** The start of the bucket holding `startNs` (floored, negative starts included). */
  private bucketOf(startNs: bigint): bigint {
    const r = startNs % this.bucketNs;
    return startNs - (r < 0n ? r + this.bucketNs : r);
  }
}
