// Per-endpoint statistics kept current as traces are analysed, re-analysed and forgotten,
// instead of re-aggregating every summary per query (issue 11). Summaries are filed by endpoint
// and time bucket (by trace start), buckets in blocks of 32. A block's sorted arrays
// (endpoint-cell.ts) are built once from its summaries, then patched with the traces added and
// removed since (endpoint-patch.ts) when next read. A query merges whole blocks
// (endpoint-merge.ts), the buckets of the blocks its window cuts, and filters the two buckets at
// the window's edges. Answers equal aggregateEndpoints over the same traces.
import { buildCell, ComponentTable, type CellData } from './endpoint-cell.js';
import { patchCell } from './endpoint-patch.js';
import { mergeEndpoint } from './endpoint-merge.js';
import { compareEndpoints, type EndpointStats, type OutlierPolicy, type TraceSummary } from './endpoints.js';

/** 60 s. */
const DEFAULT_BUCKET_NS = 60_000_000_000n;
/** 32 buckets: about half an hour with 60 s buckets. */
const DEFAULT_BUCKETS_PER_BLOCK = 32;

/** Something covering [lo, lo + width). */
interface Span {
  readonly lo: bigint;
}

/** A bucket's or block's index (start / width, floored) as a Map key: a number while exact, else its decimal string. */
type Key = number | string;

function keyOf(index: bigint): Key {
  const n = Number(index);
  return Number.isSafeInteger(n) ? n : index.toString();
}

/** floor(a / b) for b > 0 (bigint division truncates towards zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a < 0n && q * b !== a ? q - 1n : q;
}

/** Where a trace start is filed: its bucket's index and its block's. */
interface Slot {
  readonly cell: bigint;
  readonly block: bigint;
}

/** One endpoint's traces in one time bucket. */
class Cell implements Span {
  readonly members = new Set<TraceSummary>();
  /**
   * The bucket's own arrays, for windows that cut its block (built when such a window first
   * reads it; undefined since the bucket changed).
   */
  data: CellData | undefined;
  constructor(readonly lo: bigint) {}
}

/**
 * Consecutive buckets of one endpoint, and their arrays: built from the summaries once, then
 * patched with what was added and removed since (endpoint-patch.ts) when next read.
 */
class Block implements Span {
  readonly cells = new Map<Key, Cell>();
  private data: CellData | undefined;
  /** Since `data` was built or patched (none while there is no `data`). */
  private readonly added = new Set<TraceSummary>();
  private readonly removed = new Set<TraceSummary>();
  private byTime: Cell[] | undefined;
  constructor(readonly lo: bigint) {}

  /** The block's arrays, up to date. */
  arrays(table: ComponentTable): CellData {
    if (!this.data) return this.build(table);
    if (this.added.size + this.removed.size === 0) return this.data;
    this.data = patchCell(this.data, [...this.added], this.removed, table);
    this.added.clear();
    this.removed.clear();
    return this.data;
  }

  /** Builds the arrays if never built; returns how many traces that read. */
  prepare(table: ComponentTable): number {
    return this.data ? 0 : this.build(table).n;
  }

  /**
   * More changes than traces since the arrays were built (a block filling up from empty, or
   * emptied by retention while nobody asked): building again costs no more than patching, and
   * the change sets stop holding summaries.
   */
  private dropIfMostlyChanged(): void {
    if (this.data && this.added.size + this.removed.size > this.data.n) {
      this.data = undefined;
      this.added.clear();
      this.removed.clear();
    }
  }

  private build(table: ComponentTable): CellData {
    this.added.clear();
    this.removed.clear();
    return (this.data = buildCell(this.members(), table));
  }

  private *members(): Iterable<TraceSummary> {
    for (const c of this.cells.values()) yield* c.members;
  }

  /** Files a trace in bucket `index` (of width bucketNs). */
  add(t: TraceSummary, index: bigint, bucketNs: bigint): void {
    const key = keyOf(index);
    let cell = this.cells.get(key);
    if (!cell) {
      this.cells.set(key, (cell = new Cell(index * bucketNs)));
      this.byTime = undefined;
    }
    cell.members.add(t);
    cell.data = undefined;
    if (this.data && !this.removed.delete(t)) this.added.add(t);
    this.dropIfMostlyChanged();
  }

  remove(t: TraceSummary, index: bigint): void {
    const key = keyOf(index);
    const cell = this.cells.get(key);
    if (!cell?.members.delete(t)) return;
    cell.data = undefined;
    if (this.data && !this.added.delete(t)) this.removed.add(t);
    this.dropIfMostlyChanged();
    if (cell.members.size === 0) {
      this.cells.delete(key);
      this.byTime = undefined;
    }
  }

  sorted(): readonly Cell[] {
    return (this.byTime ??= byLo([...this.cells.values()]));
  }
}

function byLo<T extends Span>(xs: T[]): T[] {
  return xs.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
}

/** The first of `sorted` that ends after `since` (all when undefined). */
function firstEndingAfter(sorted: readonly Span[], width: bigint, since: bigint | undefined): number {
  let i = 0;
  if (since === undefined) return i;
  let hi = sorted.length;
  while (i < hi) {
    const mid = (i + hi) >>> 1;
    if ((sorted[mid] as Span).lo + width <= since) i = mid + 1;
    else hi = mid;
  }
  return i;
}

/** Time bounds of a query: traces with since <= startNs < until. */
interface Window {
  readonly since: bigint | undefined;
  readonly until: bigint | undefined;
}

function covers(w: Window, lo: bigint, width: bigint): boolean {
  return (w.since === undefined || lo >= w.since) && (w.until === undefined || lo + width <= w.until);
}

function contains(w: Window, t: TraceSummary): boolean {
  return (w.since === undefined || t.startNs >= w.since) && (w.until === undefined || t.startNs < w.until);
}

/** One endpoint: its blocks and its components' numbering. */
class Endpoint {
  readonly table = new ComponentTable();
  readonly blocks = new Map<Key, Block>();
  private byTime: Block[] | undefined;

  add(t: TraceSummary, at: Slot, bucketNs: bigint, blockNs: bigint): void {
    const key = keyOf(at.block);
    let block = this.blocks.get(key);
    if (!block) {
      this.blocks.set(key, (block = new Block(at.block * blockNs)));
      this.byTime = undefined;
    }
    block.add(t, at.cell, bucketNs);
  }

  remove(t: TraceSummary, at: Slot): void {
    const key = keyOf(at.block);
    const block = this.blocks.get(key);
    if (!block) return;
    block.remove(t, at.cell);
    if (block.cells.size === 0) {
      this.blocks.delete(key);
      this.byTime = undefined;
    }
  }

  /** Arrays covering exactly the traces in the window: whole blocks, whole buckets, filtered edge buckets. */
  window(w: Window, bucketNs: bigint, blockNs: bigint): CellData[] {
    const blocks = (this.byTime ??= byLo([...this.blocks.values()]));
    const out: CellData[] = [];
    for (let i = firstEndingAfter(blocks, blockNs, w.since); i < blocks.length; i++) {
      const block = blocks[i] as Block;
      if (w.until !== undefined && block.lo >= w.until) break;
      if (covers(w, block.lo, blockNs)) {
        out.push(block.arrays(this.table));
        continue;
      }
      const cells = block.sorted();
      for (let j = firstEndingAfter(cells, bucketNs, w.since); j < cells.length; j++) {
        const cell = cells[j] as Cell;
        if (w.until !== undefined && cell.lo >= w.until) break;
        if (covers(w, cell.lo, bucketNs)) out.push((cell.data ??= buildCell(cell.members, this.table)));
        else {
          // A bucket the window's edge cuts: built for this query.
          const inside = [...cell.members].filter((t) => contains(w, t));
          if (inside.length > 0) out.push(buildCell(inside, this.table));
        }
      }
    }
    return out;
  }

  /** The buckets holding traces in the window, and whether the window cuts them (their members need filtering). */
  *cellsIn(w: Window, bucketNs: bigint, blockNs: bigint): Generator<{ cell: Cell; cut: boolean }> {
    const blocks = (this.byTime ??= byLo([...this.blocks.values()]));
    for (let i = firstEndingAfter(blocks, blockNs, w.since); i < blocks.length; i++) {
      const block = blocks[i] as Block;
      if (w.until !== undefined && block.lo >= w.until) break;
      const cells = block.sorted();
      for (let j = firstEndingAfter(cells, bucketNs, w.since); j < cells.length; j++) {
        const cell = cells[j] as Cell;
        if (w.until !== undefined && cell.lo >= w.until) break;
        yield { cell, cut: !covers(w, cell.lo, bucketNs) };
      }
    }
  }

  /** Builds never-built blocks until about `budget` traces were read; returns how many were. */
  prepare(budget: number): number {
    let spent = 0;
    for (const block of this.blocks.values()) {
      if (spent >= budget) break;
      spent += block.prepare(this.table);
    }
    return spent;
  }

}

/** What readers of an index (the live page) may call: nothing that changes it. */
export type EndpointIndexReader = Pick<EndpointIndex, 'get' | 'has' | 'size' | 'version' | 'values' | 'endpoints' | 'newest'>;

export class EndpointIndex {
  readonly bucketNs: bigint;
  private readonly perBlock: bigint;
  private readonly blockNs: bigint;
  private readonly byId = new Map<string, TraceSummary>();
  /** By service, then operation: no key string built per trace. */
  private readonly groups = new Map<string, Map<string, Endpoint>>();
  private changes = 0;

  /** `bucketsPerBlock`: for tests; blocks hold this many buckets. */
  constructor(opts?: { bucketNs?: bigint; bucketsPerBlock?: number }) {
    this.bucketNs = opts?.bucketNs ?? DEFAULT_BUCKET_NS;
    if (this.bucketNs <= 0n) throw new RangeError(`bucketNs must be positive, not ${this.bucketNs}`);
    const per = opts?.bucketsPerBlock ?? DEFAULT_BUCKETS_PER_BLOCK;
    if (!Number.isSafeInteger(per) || per < 1) throw new RangeError(`bucketsPerBlock must be a positive integer, not ${per}`);
    this.perBlock = BigInt(per);
    this.blockNs = this.bucketNs * this.perBlock;
  }

  /** Adds a summary, or replaces the one with the same traceId (a re-analysed trace). Summaries must not change once set. */
  set(summary: TraceSummary): void {
    const old = this.byId.get(summary.traceId);
    if (old === summary) return;
    if (old) this.unfile(old);
    this.byId.set(summary.traceId, summary);
    let ops = this.groups.get(summary.service);
    if (!ops) this.groups.set(summary.service, (ops = new Map()));
    let g = ops.get(summary.operation);
    if (!g) ops.set(summary.operation, (g = new Endpoint()));
    g.add(summary, this.slot(summary.startNs), this.bucketNs, this.blockNs);
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
    for (const ops of this.groups.values()) {
      for (const g of ops.values()) {
        const cells = g.window({ since: sinceNs, until: untilNs }, this.bucketNs, this.blockNs);
        if (cells.length > 0) out.push(mergeEndpoint(cells, g.table, policy, top));
      }
    }
    return out.sort(compareEndpoints);
  }

  /**
   * Builds blocks a query would otherwise build first, about `budget` traces' worth, and says
   * whether any are left: lets a server spread a restart's first build over many short slices
   * instead of one long query.
   */
  prepare(budget: number): boolean {
    let left = budget;
    for (const ops of this.groups.values()) {
      for (const g of ops.values()) {
        left -= g.prepare(left);
        if (left <= 0) return false;
      }
    }
    return true;
  }

  /**
   * The newest `max` summaries starting in [since, until) (latest start first, then smallest
   * traceId), in no particular order, and how many the window holds: what a page can draw of it.
   * Costs a pass over the buckets and a sort of the one bucket the cut falls in, not of all.
   */
  newest(max: number, sinceNs?: bigint, untilNs?: bigint): { picked: TraceSummary[]; inWindow: number } {
    const w: Window = { since: sinceNs, until: untilNs };
    const cells: { cell: Cell; cut: boolean }[] = [];
    for (const ops of this.groups.values()) for (const g of ops.values()) for (const c of g.cellsIn(w, this.bucketNs, this.blockNs)) cells.push(c);
    // Newest bucket first; a bucket's traces are all newer than an older bucket's, whatever the endpoint.
    cells.sort((a, b) => (a.cell.lo > b.cell.lo ? -1 : a.cell.lo < b.cell.lo ? 1 : 0));
    const picked: TraceSummary[] = [];
    let inWindow = 0;
    for (let i = 0; i < cells.length; ) {
      // One bucket across endpoints.
      const lo = (cells[i] as { cell: Cell }).cell.lo;
      const room = max - picked.length;
      const bucket: TraceSummary[] = [];
      for (; i < cells.length && (cells[i] as { cell: Cell }).cell.lo === lo; i++) {
        const { cell, cut } = cells[i] as { cell: Cell; cut: boolean };
        if (room > 0 || cut) {
          for (const t of cell.members) if (!cut || contains(w, t)) bucket.push(t);
        } else inWindow += cell.members.size;
      }
      inWindow += bucket.length;
      if (room <= 0) continue;
      if (bucket.length > room) bucket.sort((a, b) => (a.startNs > b.startNs ? -1 : a.startNs < b.startNs ? 1 : a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0));
      for (let k = 0; k < bucket.length && k < room; k++) picked.push(bucket[k] as TraceSummary);
    }
    return { picked, inWindow };
  }

  private unfile(t: TraceSummary): void {
    const ops = this.groups.get(t.service);
    const g = ops?.get(t.operation);
    if (!ops || !g) return;
    g.remove(t, this.slot(t.startNs));
    if (g.blocks.size > 0) return;
    ops.delete(t.operation);
    if (ops.size === 0) this.groups.delete(t.service);
  }

  private slot(startNs: bigint): Slot {
    const cell = floorDiv(startNs, this.bucketNs);
    return { cell, block: floorDiv(cell, this.perBlock) };
  }
}
