// The event log's columns while the parser fills them, and their time order. The log's types
// and grammar are src/model/event-log.ts.
import type { EventLog } from '../../src/model/event-log.js';

/** Growable columns; `finish` trims them. */
export class EventColumns {
  count = 0;
  private cap: number;
  ts: Float64Array;
  kind: Uint8Array;
  cpu: Int32Array;
  pid: Int32Array;
  tid: Int32Array;
  arg: Int32Array;
  arg2: Int32Array;
  s1: Int32Array;
  s2: Int32Array;
  line: Uint32Array;

  constructor(capacity = 1 << 16) {
    this.cap = capacity;
    this.ts = new Float64Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.cpu = new Int32Array(capacity);
    this.pid = new Int32Array(capacity);
    this.tid = new Int32Array(capacity);
    this.arg = new Int32Array(capacity);
    this.arg2 = new Int32Array(capacity);
    this.s1 = new Int32Array(capacity);
    this.s2 = new Int32Array(capacity);
    this.line = new Uint32Array(capacity);
  }

  /** Index of a new row (fields to be filled by the caller). */
  add(): number {
    if (this.count === this.cap) this.grow();
    return this.count++;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const g = <T extends Float64Array | Uint8Array | Int32Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a as never);
      return b;
    };
    this.ts = g(this.ts, (n) => new Float64Array(n));
    this.kind = g(this.kind, (n) => new Uint8Array(n));
    this.cpu = g(this.cpu, (n) => new Int32Array(n));
    this.pid = g(this.pid, (n) => new Int32Array(n));
    this.tid = g(this.tid, (n) => new Int32Array(n));
    this.arg = g(this.arg, (n) => new Int32Array(n));
    this.arg2 = g(this.arg2, (n) => new Int32Array(n));
    this.s1 = g(this.s1, (n) => new Int32Array(n));
    this.s2 = g(this.s2, (n) => new Int32Array(n));
    this.line = g(this.line, (n) => new Uint32Array(n));
    this.cap = cap;
  }

  /**
   * Stable sort by ts, iteratively: each CPU's rows are taken in file order (each CPU's stream
   * is in time order; a stream that is not gets its own stable index sort), then merged with a
   * binary heap keyed by (ts, row). Returns the columns trimmed to `count`, permuted.
   */
  sorted(): Pick<EventLog, 'ts' | 'kind' | 'cpu' | 'pid' | 'tid' | 'arg' | 'arg2' | 's1' | 's2' | 'line'> {
    const n = this.count;
    const order = sortOrder(this.ts, this.cpu, n);
    if (order === undefined) {
      return {
        ts: this.ts.slice(0, n),
        kind: this.kind.slice(0, n),
        cpu: this.cpu.slice(0, n),
        pid: this.pid.slice(0, n),
        tid: this.tid.slice(0, n),
        arg: this.arg.slice(0, n),
        arg2: this.arg2.slice(0, n),
        s1: this.s1.slice(0, n),
        s2: this.s2.slice(0, n),
        line: this.line.slice(0, n),
      };
    }
    const p = <T extends Float64Array | Uint8Array | Int32Array | Uint32Array>(a: T, out: T): T => {
      for (let i = 0; i < n; i++) out[i] = a[order[i] as number] as number;
      return out;
    };
    return {
      ts: p(this.ts, new Float64Array(n)),
      kind: p(this.kind, new Uint8Array(n)),
      cpu: p(this.cpu, new Int32Array(n)),
      pid: p(this.pid, new Int32Array(n)),
      tid: p(this.tid, new Int32Array(n)),
      arg: p(this.arg, new Int32Array(n)),
      arg2: p(this.arg2, new Int32Array(n)),
      s1: p(this.s1, new Int32Array(n)),
      s2: p(this.s2, new Int32Array(n)),
      line: p(this.line, new Uint32Array(n)),
    };
  }
}

/** The stable time order of rows [0, n), or undefined when they already are in order. */
export function sortOrder(ts: Float64Array, cpu: Int32Array, n: number): Uint32Array | undefined {
  let sorted = true;
  for (let i = 1; i < n; i++) {
    if ((ts[i] as number) < (ts[i - 1] as number)) {
      sorted = false;
      break;
    }
  }
  if (sorted) return undefined;

  // Split rows by CPU (counting sort on a dense renumbering of the CPU ids), keeping file order.
  const cpuIndex = new Map<number, number>();
  const streamOf = new Int32Array(n);
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = cpu[i] as number;
    let k = cpuIndex.get(c);
    if (k === undefined) {
      k = sizes.length;
      cpuIndex.set(c, k);
      sizes.push(0);
    }
    streamOf[i] = k;
    sizes[k] = (sizes[k] as number) + 1;
  }
  const k = sizes.length;
  const begin = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) begin[j + 1] = (begin[j] as number) + (sizes[j] as number);
  const fill = begin.slice(0, k);
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const s = streamOf[i] as number;
    rows[fill[s] as number] = i;
    fill[s] = (fill[s] as number) + 1;
  }
  // A stream out of order in itself (not bpftrace's behaviour, but possible in hand-made or
  // damaged input): stable index sort of that stream.
  for (let j = 0; j < k; j++) {
    const a = begin[j] as number;
    const b = begin[j + 1] as number;
    let ok = true;
    for (let i = a + 1; i < b; i++) {
      if ((ts[rows[i] as number] as number) < (ts[rows[i - 1] as number] as number)) {
        ok = false;
        break;
      }
    }
    if (!ok) {
      const part = Array.from(rows.subarray(a, b));
      part.sort((x, y) => (ts[x] as number) - (ts[y] as number) || x - y);
      rows.set(part, a);
    }
  }

  // k-way merge with a binary min-heap of stream numbers keyed by (ts of head row, head row).
  const pos = begin.slice(0, k);
  const heap = new Int32Array(k);
  let size = 0;
  const less = (x: number, y: number): boolean => {
    const rx = rows[pos[x] as number] as number;
    const ry = rows[pos[y] as number] as number;
    const tx = ts[rx] as number;
    const ty = ts[ry] as number;
    return tx < ty || (tx === ty && rx < ry);
  };
  const siftDown = (from: number): void => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      const m = r < size && less(heap[r] as number, heap[l] as number) ? r : l;
      if (!less(heap[m] as number, heap[i] as number)) return;
      const t = heap[i] as number;
      heap[i] = heap[m] as number;
      heap[m] = t;
      i = m;
    }
  };
  for (let j = 0; j < k; j++) {
    if ((begin[j] as number) < (begin[j + 1] as number)) {
      // sift up
      let i = size++;
      heap[i] = j;
      while (i > 0) {
        const par = (i - 1) >> 1;
        if (!less(heap[i] as number, heap[par] as number)) break;
        const t = heap[i] as number;
        heap[i] = heap[par] as number;
        heap[par] = t;
        i = par;
      }
    }
  }
  const order = new Uint32Array(n);
  let o = 0;
  while (size > 0) {
    const s = heap[0] as number;
    const end = begin[s + 1] as number;
    let p = pos[s] as number;
    order[o++] = rows[p] as number;
    p++;
    pos[s] = p;
    if (p === end) {
      size--;
      if (size > 0) {
        heap[0] = heap[size] as number;
        siftDown(0);
      }
      continue;
    }
    siftDown(0);
  }
  return order;
}
