// The parsed cpath event log (collectors/bpftrace/FORMAT.md) in columns: one row per event line,
// in time order (stable: equal timestamps keep their order in the file), typed arrays trimmed to
// `count`. Strings (comms, function names, interrupt contexts, stack kinds) are interned in
// `strings` and referenced by index (-1: none).
//
// Times: `ts[i]` is integer ns relative to `originBootNs` (the earliest event's CLOCK_BOOTTIME
// ns, so ts[0] = 0), exact in a double for logs shorter than 104 days. Anchors keep absolute,
// exact bigints.
//
// Columns by kind (`arg`, `arg2`, `s1`, `s2` are -1 where the kind has no such field):
//
//   kind  pid          tid          arg                 arg2        s1              s2
//   SW    prev_pid     prev_tid     prev_state          next_tid    prev_comm       next_comm
//   WK    waker_pid    waker_tid    ctx (string id)     wakee_tid   waker_comm      wakee_comm
//   WN    parent_pid   parent_tid   -1                  child_tid   child_comm      -1
//   EX    pid          tid          -1                  -1          comm            -1
//   RN    pid          tid          -1                  -1          newcomm         -1
//   UE/UX pid          tid          -1                  -1          function        -1
//   US    pid          tid          -1                  -1          provider:probe  -1
//   ST    pid          tid          stack index         -1          kind (u / k)    -1
//
// The WK context string is `-` (a task woke the wakee) or `hardirq:<irq>`, `softirq:<vec>`,
// `hrtimer`, as the script printed it.

/** Event kinds (the `kind` column). */
export const EventKind = {
  SW: 1,
  WK: 2,
  WN: 3,
  EX: 4,
  RN: 5,
  UE: 6,
  UX: 7,
  US: 8,
  ST: 9,
} as const;
export type EventKindCode = (typeof EventKind)[keyof typeof EventKind];

export const EVENT_KIND_NAMES: readonly string[] = ['', 'SW', 'WK', 'WN', 'EX', 'RN', 'UE', 'UX', 'US', 'ST'];

/** A clock reading pairing CLOCK_BOOTTIME with Unix time (exact). */
export interface Anchor {
  readonly bootNs: bigint;
  readonly unixNs: bigint;
  /** `AN`: bpftrace's strftime (µs, may be 1 s off in v0.17); `clock`: a `# clock:` header reading by cpath itself. */
  readonly source: 'AN' | 'clock';
  /** Line in the log. */
  readonly line: number;
  /** False when it disagreed with the others by more than 0.5 s (reported as anchor_inconsistent). */
  readonly consistent: boolean;
}

/** A stack printed by an ST line: its frames, innermost first, as bpftrace printed them. */
export interface StackRecord {
  readonly kind: string;
  readonly frames: string[];
}

export interface EventLogHeader {
  /** `# cpath-events <version>`; undefined when the log has no cpath header (raw bpftrace output). */
  readonly version?: number;
  readonly host?: string;
  readonly kernel?: string;
  readonly bpftrace?: string;
  readonly command?: string;
  readonly targetPids: readonly number[];
  /** `# tracer-pids:` bpftrace's own process (its self-noise filter leaves its timeline incomplete). */
  readonly tracerPids: readonly number[];
  readonly scope?: string;
  readonly stacks?: boolean;
  readonly probes: readonly string[];
  /** `# end lost=<N> exit=<status>`, when the log was closed cleanly. */
  readonly end?: { readonly lost: number; readonly exit: string };
}

export interface EventLog {
  readonly file: string;
  readonly header: EventLogHeader;
  /** Number of events (rows). */
  readonly count: number;
  /** CLOCK_BOOTTIME ns of relative time 0 (the earliest event); 0n when there are no events. */
  readonly originBootNs: bigint;
  readonly ts: Float64Array;
  readonly kind: Uint8Array;
  readonly cpu: Int32Array;
  readonly pid: Int32Array;
  readonly tid: Int32Array;
  readonly arg: Int32Array;
  readonly arg2: Int32Array;
  readonly s1: Int32Array;
  readonly s2: Int32Array;
  /** 1-based line of the event in the file (for diagnostics). */
  readonly line: Uint32Array;
  readonly strings: readonly string[];
  readonly stacks: readonly StackRecord[];
  /** Every anchor read (AN lines and `# clock:` readings), in file order, flagged when inconsistent. */
  readonly anchors: readonly Anchor[];
  /** Events bpftrace reported lost (`Lost N events`, json lost_events; at least `# end lost=N`). */
  readonly lostEvents: number;
  /** Lines read (including header, blank and stack-frame lines). */
  readonly lineCount: number;
  /** Events that came out of time order (across CPUs) and were sorted into place. */
  readonly reordered: number;
  /** True when the log ended with `# end` and no line was cut short. */
  readonly complete: boolean;
}

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
