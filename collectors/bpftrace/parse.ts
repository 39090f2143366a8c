// Streaming parser of the cpath event log (collectors/bpftrace/FORMAT.md) into columns
// (event-log.ts). Fed Buffers chunk by chunk (a file or gunzip stream); each chunk is decoded up
// to its last newline in one native call and scanned with charCodeAt / indexOf: no split() and
// no regex per line. Comms and names are interned through an open-addressing table keyed by a
// hash of the characters, so a known name costs no allocation.
//
// Per line, by its first character:
//   digit   an event line `<ts> <KIND> ...`
//   `#`     the header (`# cpath-events`, `# key: value`, `# end lost=N exit=S`; unknown keys ignored)
//   `{`     bpftrace `-f json`: printf (its data parsed as text lines, same line number),
//           lost_events (counted), attached_probes (ignored); any other type is unparsable
//   space   a frame of the stack opened by the last ST line (or blank); elsewhere unparsable
//   other   `Attaching N probes...` (ignored), `Lost N events` (counted); anything else unparsable
//
// Choices:
// - A last line without a newline was cut short: it is dropped (log_truncated), unless it is the
//   `# end` line. A log with a `# cpath-events` header but no `# end` is truncated too; raw
//   bpftrace output (no header) is not judged by its missing `# end`.
// - Lost events: the sum of `Lost N` lines and json lost_events; when `# end lost=N` says more,
//   N (cpath record's own count).
// - Anchors: `AN` lines and `# clock:` readings. Reference offset (unix - boot): the exact median
//   of the `# clock:` readings when there are any (cpath's own exact pairs), else of all anchors;
//   an anchor more than 0.5 s from it is flagged inconsistent (the v0.17 strftime rounding bug)
//   and reported. With only two disagreeing AN anchors and no readings neither is dropped (the
//   spread says so).
// - Events are sorted stably by timestamp at the end (EventColumns.sorted: per-CPU streams merged).
import type { Diagnostics } from '../../src/model/diagnostics.js';
import { medianBigint } from '../../src/model/time.js';
import { clip } from '../json-document.js';
import { EventKind, EVENT_LINE, LOG_END, LOG_HEADER, LOST_LINE, type Anchor, type EventLineKind, type EventLog, type EventLogHeader, type StackRecord } from '../../src/model/event-log.js';
import { EventColumns } from './event-log.js';

const NL = 0x0a;
const SP = 32;
const TAB = 9;
const CR = 13;
const D0 = 48;
const D9 = 57;
const HALF_SECOND = 500_000_000n;

/** Two-letter kind code `c0 << 8 | c1`. */
const K = (k: EventLineKind): number => (k.charCodeAt(0) << 8) | k.charCodeAt(1);
const K_SW = K('SW');
const K_WK = K('WK');
const K_WN = K('WN');
const K_EX = K('EX');
const K_RN = K('RN');
const K_UE = K('UE');
const K_UX = K('UX');
const K_US = K('US');
const K_ST = K('ST');
const K_AN = K('AN');

interface RawAnchor {
  bootNs: bigint;
  unixNs: bigint;
  source: 'AN' | 'clock';
  line: number;
}

interface MutableHeader {
  version?: number;
  host?: string;
  kernel?: string;
  bpftrace?: string;
  command?: string;
  targetPids: number[];
  tracerPids: number[];
  scope?: string;
  stacks?: boolean;
  probes: string[];
  end?: { lost: number; exit: string };
}

export class EventLogParser {
  private readonly cols = new EventColumns();
  private readonly strings: string[] = [];
  /** Open addressing: string id + 1, 0 = empty. */
  private table = new Int32Array(1024);
  private hashes = new Int32Array(1024);
  private carry: Buffer[] = [];
  private lineNo = 0;
  /** Position after the last number read by `uint`. */
  private p = 0;

  private haveOrigin = false;
  private oSec = 0;
  private oNsec = 0;
  private maxTs = -Infinity;
  private reordered = 0;
  private reorderExample: string | undefined;

  private lost = 0;
  private lostExample: string | undefined;
  private readonly stacks: StackRecord[] = [];
  private openStack: StackRecord | undefined;
  private readonly anchors: RawAnchor[] = [];
  private readonly header: MutableHeader = { targetPids: [], tracerPids: [], probes: [] };
  private cutLine: string | undefined;

  constructor(
    private readonly file: string,
    private readonly diag: Diagnostics,
  ) {}

  push(buf: Buffer): void {
    const last = buf.lastIndexOf(NL);
    if (last < 0) {
      this.carry.push(buf);
      return;
    }
    let text: string;
    if (this.carry.length > 0) {
      this.carry.push(buf.subarray(0, last + 1));
      text = Buffer.concat(this.carry).toString('utf8');
      this.carry = [];
    } else {
      text = buf.toString('utf8', 0, last + 1);
    }
    if (last + 1 < buf.length) this.carry.push(Buffer.from(buf.subarray(last + 1)));
    this.text(text);
  }

  /** Lines of `s`, every one ending in a newline. */
  private text(s: string): void {
    let a = 0;
    const n = s.length;
    while (a < n) {
      let b = s.indexOf('\n', a);
      if (b < 0) b = n;
      this.lineNo++;
      let e = b;
      if (e > a && s.charCodeAt(e - 1) === CR) e--;
      this.line(s, a, e, false);
      a = b + 1;
    }
  }

  /** One line `s[a, b)` (no newline). `fromJson`: the line came out of a json printf. */
  private line(s: string, a: number, b: number, fromJson: boolean): void {
    if (a === b) return;
    const c = s.charCodeAt(a);
    if (c >= D0 && c <= D9) {
      if (!this.event(s, a, b)) this.unparsable(s, a, b);
      return;
    }
    if (c === SP || c === TAB) {
      let i = a + 1;
      while (i < b && (s.charCodeAt(i) === SP || s.charCodeAt(i) === TAB)) i++;
      if (i === b) return; // blank
      if (this.openStack !== undefined) this.openStack.frames.push(s.slice(i, b));
      else this.unparsable(s, a, b);
      return;
    }
    this.openStack = undefined;
    if (c === 0x23 /* # */) this.headerLine(s.slice(a, b));
    else if (c === 0x7b /* { */ && !fromJson) {
      const d = printfData(s, a, b);
      if (d !== undefined) this.printf(d);
      else this.jsonLine(s.slice(a, b));
    }
    else this.otherLine(s, a, b);
  }

  private unparsable(s: string, a: number, b: number): void {
    this.diag.add('event_unparsable', () => `${this.file}:${this.lineNo}: ${clip(s.slice(a, b), 100)}`);
  }

  /** A non-negative decimal at `p` (at most 10 digits, < 2^31), or -1; `this.p` = the position after it. */
  private uint(s: string, p: number, b: number): number {
    let v = 0;
    const start = p;
    while (p < b) {
      const d = s.charCodeAt(p) - D0;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      p++;
    }
    this.p = p;
    if (p === start || p - start > 10 || v > 0x7fffffff) return -1;
    return v;
  }

  /** `uint` followed by one space (skipped). */
  private field(s: string, p: number, b: number): number {
    const v = this.uint(s, p, b);
    if (v < 0 || this.p >= b || s.charCodeAt(this.p) !== SP) return -1;
    this.p++;
    return v;
  }

  /** The string id + 1 of the comm last seen for a tid (0: none): most comms repeat, and this skips hashing. */
  private commOf = new Int32Array(1 << 16);

  /** `intern` for the comm of thread `tid`. */
  private comm(tid: number, s: string, a: number, b: number): number {
    if (tid < this.commOf.length) {
      const id1 = this.commOf[tid] as number;
      if (id1 !== 0) {
        const str = this.strings[id1 - 1] as string;
        if (str.length === b - a && s.startsWith(str, a)) return id1 - 1;
      }
    } else if (tid < 1 << 23) {
      let size = this.commOf.length * 2;
      while (size <= tid) size *= 2;
      const grown = new Int32Array(size);
      grown.set(this.commOf);
      this.commOf = grown;
    } else {
      return this.intern(s, a, b);
    }
    const id = this.intern(s, a, b);
    this.commOf[tid] = id + 1;
    return id;
  }

  private intern(s: string, a: number, b: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = a; i < b; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    const len = b - a;
    const mask = this.table.length - 1;
    let slot = h & mask;
    for (;;) {
      const id1 = this.table[slot] as number;
      if (id1 === 0) break;
      if ((this.hashes[slot] as number) === h) {
        const str = this.strings[id1 - 1] as string;
        if (str.length === len && s.startsWith(str, a)) return id1 - 1;
      }
      slot = (slot + 1) & mask;
    }
    const id = this.strings.length;
    this.strings.push(s.slice(a, b));
    this.table[slot] = id + 1;
    this.hashes[slot] = h;
    if (this.strings.length * 2 > this.table.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const size = this.table.length * 2;
    const table = new Int32Array(size);
    const hashes = new Int32Array(size);
    const mask = size - 1;
    for (let i = 0; i < this.table.length; i++) {
      const id1 = this.table[i] as number;
      if (id1 === 0) continue;
      const h = this.hashes[i] as number;
      let slot = h & mask;
      while ((table[slot] as number) !== 0) slot = (slot + 1) & mask;
      table[slot] = id1;
      hashes[slot] = h;
    }
    this.table = table;
    this.hashes = hashes;
  }

  /**
   * An event line `<ts> <KIND> <cpu> <pid> <tid> <fields of the kind>`; false when it does not
   * parse. The steps: the timestamp's extent and the kind, the three common fields, the kind's own
   * fields (into fArg, fArg2, fS1, fS2; comms and names interned), and only when all parsed, the
   * time (`eventTime`) and the row (`addRow`): a line that fails leaves no row and moves no origin.
   * The dispatch on the kind stays here: in a method of its own (too big for V8 to inline) it cost
   * a call per event, 5-8% of the parse rate in the event-log bench.
   */
  private event(s: string, a: number, b: number): boolean {
    let e = a;
    while (e < b) {
      const d = s.charCodeAt(e) - D0;
      if (d < 0 || d > 9) break;
      e++;
    }
    if (e === a || e - a > 20 || e + 3 >= b || s.charCodeAt(e) !== SP || s.charCodeAt(e + 3) !== SP) return false;
    const kind = (s.charCodeAt(e + 1) << 8) | s.charCodeAt(e + 2);
    if (kind === K_AN) return this.anchorLine(s, a, e, e + 4, b);

    const cpu = this.field(s, e + 4, b);
    if (cpu < 0) return false;
    const pid = this.field(s, this.p, b);
    if (pid < 0) return false;
    const tid = this.field(s, this.p, b);
    if (tid < 0) return false;
    const p = this.p;

    let code: number;
    switch (kind) {
      case K_SW:
        if (!this.switchFields(tid, s, p, b)) return false;
        code = EventKind.SW;
        break;
      case K_WK:
        if (!this.wakingFields(tid, s, p, b)) return false;
        code = EventKind.WK;
        break;
      case K_WN:
        if (!this.newThreadFields(s, p, b)) return false;
        code = EventKind.WN;
        break;
      case K_EX:
        this.setFields(-1, -1, this.comm(tid, s, p, b), -1);
        code = EventKind.EX;
        break;
      case K_RN:
        this.setFields(-1, -1, this.intern(s, p, b), -1);
        code = EventKind.RN;
        break;
      case K_UE:
        this.setFields(-1, -1, this.intern(s, p, b), -1);
        code = EventKind.UE;
        break;
      case K_UX:
        this.setFields(-1, -1, this.intern(s, p, b), -1);
        code = EventKind.UX;
        break;
      case K_US:
        this.setFields(-1, -1, this.intern(s, p, b), -1);
        code = EventKind.US;
        break;
      case K_ST:
        if (!this.stackFields(s, p, b)) return false;
        code = EventKind.ST;
        break;
      default:
        return false;
    }
    if (code !== EventKind.ST) this.openStack = undefined;
    this.addRow(this.eventTime(s, a, e), code, cpu, pid, tid);
    return true;
  }

  // The kind's own fields of the event being parsed, as `addRow` writes them to the columns
  // arg, arg2, s1, s2 (-1: the kind has none). Fields, not return values: a step sets four.
  private fArg = -1;
  private fArg2 = -1;
  private fS1 = -1;
  private fS2 = -1;

  /** Every kind's step sets all four, so nothing of the line before remains. */
  private setFields(arg: number, arg2: number, s1: number, s2: number): void {
    this.fArg = arg;
    this.fArg2 = arg2;
    this.fS1 = s1;
    this.fS2 = s2;
  }

  /** WN: `<child_tid> <child_comm>`. */
  private newThreadFields(s: string, p: number, b: number): boolean {
    const child = this.field(s, p, b);
    if (child < 0) return false;
    this.setFields(-1, child, this.comm(child, s, this.p, b), -1);
    return true;
  }

  /** SW: `<prev_state> <next_tid> <prev_comm>\t<next_comm>`. */
  private switchFields(tid: number, s: string, p: number, b: number): boolean {
    const prevState = this.field(s, p, b);
    if (prevState < 0) return false;
    const next = this.field(s, this.p, b);
    if (next < 0) return false;
    p = this.p;
    const t = s.indexOf('\t', p);
    if (t < 0 || t >= b) return false;
    const prevComm = this.comm(tid, s, p, t);
    this.setFields(prevState, next, prevComm, this.comm(next, s, t + 1, b));
    return true;
  }

  /** WK: `<wakee_tid> <context> <waker_comm>\t<wakee_comm>`. */
  private wakingFields(tid: number, s: string, p: number, b: number): boolean {
    const wakee = this.field(s, p, b);
    if (wakee < 0) return false;
    p = this.p;
    const sp = s.indexOf(' ', p);
    if (sp < 0 || sp >= b || sp === p) return false;
    const context = this.intern(s, p, sp);
    const t = s.indexOf('\t', sp + 1);
    if (t < 0 || t >= b) return false;
    const wakerComm = this.comm(tid, s, sp + 1, t);
    this.setFields(context, wakee, wakerComm, this.comm(wakee, s, t + 1, b));
    return true;
  }

  /** ST: `<k|u>`; opens a stack record that the following indented frame lines fill. */
  private stackFields(s: string, p: number, b: number): boolean {
    if (p === b) return false;
    const id = this.intern(s, p, b);
    this.setFields(this.stacks.length, -1, id, -1);
    const st: StackRecord = { kind: this.strings[id] ?? '', frames: [] };
    this.stacks.push(st);
    this.openStack = st;
    return true;
  }

  /**
   * The event time `s[a, e)` (boot ns, up to 20 digits) as ns since the first event's. Split into
   * seconds and nanoseconds so that both stay exact doubles; the first event sets the origin.
   */
  private eventTime(s: string, a: number, e: number): number {
    const split = e - 9 > a ? e - 9 : a;
    let sec = 0;
    for (let i = a; i < split; i++) sec = sec * 10 + (s.charCodeAt(i) - D0);
    let nsec = 0;
    for (let i = split; i < e; i++) nsec = nsec * 10 + (s.charCodeAt(i) - D0);
    if (!this.haveOrigin) {
      this.haveOrigin = true;
      this.oSec = sec;
      this.oNsec = nsec;
    }
    return (sec - this.oSec) * 1e9 + (nsec - this.oNsec);
  }

  /** One parsed event as a row of the columns (with the kind's fields); a time older than one read before counts as reordered. */
  private addRow(ts: number, code: number, cpu: number, pid: number, tid: number): void {
    if (ts < this.maxTs) {
      if (this.reordered++ === 0) {
        const back = this.maxTs - ts;
        this.reorderExample = `${this.file}:${this.lineNo}: CPU ${cpu}'s event is ${back} ns older than one read before it`;
      }
    } else {
      this.maxTs = ts;
    }
    const c = this.cols;
    const i = c.add();
    c.ts[i] = ts;
    c.kind[i] = code;
    c.cpu[i] = cpu;
    c.pid[i] = pid;
    c.tid[i] = tid;
    c.arg[i] = this.fArg;
    c.arg2[i] = this.fArg2;
    c.s1[i] = this.fS1;
    c.s2[i] = this.fS2;
    c.line[i] = this.lineNo;
  }

  /** `<ts> AN <sec>.<frac>` (frac: 1-9 digits, bpftrace prints microseconds). */
  private anchorLine(s: string, a: number, tsEnd: number, p: number, b: number): boolean {
    const dot = s.indexOf('.', p);
    if (dot < 0 || dot >= b || dot === p || dot - p > 12 || b - dot - 1 < 1 || b - dot - 1 > 9) return false;
    for (let i = p; i < b; i++) {
      if (i === dot) continue;
      const d = s.charCodeAt(i) - D0;
      if (d < 0 || d > 9) return false;
    }
    this.openStack = undefined;
    const unixNs = BigInt(s.slice(p, dot)) * 1_000_000_000n + BigInt(s.slice(dot + 1, b).padEnd(9, '0'));
    this.anchors.push({ bootNs: BigInt(s.slice(a, tsEnd)), unixNs, source: 'AN', line: this.lineNo });
    return true;
  }

  private headerLine(line: string): void {
    const h = this.header;
    if (line.startsWith(LOG_HEADER)) {
      const v = Number.parseInt(line.slice(LOG_HEADER.length).trim(), 10);
      h.version = Number.isFinite(v) ? v : 0;
      return;
    }
    if (line.startsWith(LOG_END)) {
      const lost = /\blost=(\d+)/.exec(line);
      const exit = /\bexit=(\S+)/.exec(line);
      h.end = { lost: lost ? Number(lost[1]) : 0, exit: exit ? (exit[1] as string) : '' };
      return;
    }
    const m = /^#\s*([A-Za-z][\w-]*):\s?(.*)$/.exec(line);
    if (!m) return; // a comment
    const key = (m[1] as string).toLowerCase();
    const value = (m[2] as string).trim();
    switch (key) {
      case 'host':
        h.host = value;
        break;
      case 'kernel':
        h.kernel = value;
        break;
      case 'bpftrace':
        h.bpftrace = value;
        break;
      case 'command':
        h.command = value;
        break;
      case 'scope':
        h.scope = value;
        break;
      case 'stacks':
        h.stacks = value === 'on';
        break;
      case 'target-pids':
        for (const w of value.split(/\s+/)) if (/^\d+$/.test(w)) h.targetPids.push(Number(w));
        break;
      case 'tracer-pids':
        for (const w of value.split(/\s+/)) if (/^\d+$/.test(w)) h.tracerPids.push(Number(w));
        break;
      case 'probes':
        for (const w of value.split(/\s+/)) if (w !== '') h.probes.push(w);
        break;
      case 'clock': {
        const c = /^(\d{1,20})\s+(\d{1,20})$/.exec(value);
        if (c) this.anchors.push({ bootNs: BigInt(c[1] as string), unixNs: BigInt(c[2] as string), source: 'clock', line: this.lineNo });
        else this.diag.add('event_unparsable', () => `${this.file}:${this.lineNo}: ${clip(line, 100)}`);
        break;
      }
      default:
        break; // unknown keys are ignored
    }
  }

  private jsonLine(line: string): void {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      this.diag.add('event_unparsable', () => `${this.file}:${this.lineNo}: ${clip(line, 100)}`);
      return;
    }
    if (typeof v !== 'object' || v === null) {
      this.diag.add('event_unparsable', () => `${this.file}:${this.lineNo}: ${clip(line, 100)}`);
      return;
    }
    const o = v as { type?: unknown; data?: unknown };
    if (o.type === 'printf' && typeof o.data === 'string') {
      this.printf(o.data);
      return;
    }
    if (o.type === 'lost_events') {
      const n = typeof o.data === 'object' && o.data !== null ? (o.data as { events?: unknown }).events : undefined;
      if (typeof n === 'number' && Number.isFinite(n) && n >= 0) {
        this.addLost(n);
        return;
      }
    } else if (o.type === 'attached_probes') {
      return;
    }
    this.diag.add('event_unparsable', () => `${this.file}:${this.lineNo}: ${clip(line, 100)}`);
  }

  /** The data of a json printf: its lines, with the json line's number. */
  private printf(d: string): void {
    let a = 0;
    while (a < d.length) {
      let b = d.indexOf('\n', a);
      if (b < 0) b = d.length;
      let e = b;
      if (e > a && d.charCodeAt(e - 1) === CR) e--;
      this.line(d, a, e, true);
      a = b + 1;
    }
  }

  private otherLine(s: string, a: number, b: number): void {
    const line = s.slice(a, b);
    if (line.startsWith('Attaching ')) return;
    const m = LOST_LINE.exec(line);
    if (m) {
      this.addLost(Number(m[1]));
      return;
    }
    this.unparsable(s, a, b);
  }

  private addLost(n: number): void {
    if (this.lostExample === undefined) this.lostExample = `${this.file}:${this.lineNo}: bpftrace lost ${n} events`;
    this.lost += n;
  }

  end(): EventLog {
    if (this.carry.length > 0) {
      const rest = Buffer.concat(this.carry).toString('utf8');
      this.carry = [];
      this.lineNo++;
      const t = rest.endsWith('\r') ? rest.slice(0, -1) : rest;
      if (t.startsWith(LOG_END)) {
        this.headerLine(t);
      } else if (t.trim() !== '') {
        this.cutLine = `${this.file}:${this.lineNo}: the last line is cut short: ${clip(t, 100)}`;
      }
    }
    const h = this.header;
    const complete = this.cutLine === undefined && h.end !== undefined;
    if (this.cutLine !== undefined) {
      this.diag.add('log_truncated', this.cutLine);
    } else if (h.version !== undefined && h.end === undefined) {
      this.diag.add('log_truncated', () => `${this.file}:${this.lineNo}: no "# end" line: the recording was cut short`);
    }

    let lost = this.lost;
    if (h.end !== undefined && h.end.lost > lost) {
      if (this.lostExample === undefined) this.lostExample = `${this.file}: "# end lost=${h.end.lost}"`;
      lost = h.end.lost;
    }
    if (lost > 0) this.diag.add('events_lost', this.lostExample, lost);
    if (this.reordered > 0) this.diag.add('events_reordered', this.reorderExample, this.reordered);

    const cols = this.cols;
    const sorted = cols.sorted();
    const n = cols.count;
    let originBootNs = 0n;
    if (n > 0) {
      const t0 = sorted.ts[0] as number;
      originBootNs = BigInt(this.oSec) * 1_000_000_000n + BigInt(this.oNsec) + BigInt(t0);
      if (t0 !== 0) for (let i = 0; i < n; i++) sorted.ts[i] = (sorted.ts[i] as number) - t0;
    }

    const header: EventLogHeader = { ...h, targetPids: h.targetPids, tracerPids: h.tracerPids, probes: h.probes };
    return {
      file: this.file,
      header,
      count: n,
      originBootNs,
      ...sorted,
      strings: this.strings,
      stacks: this.stacks,
      anchors: checkAnchors(this.anchors, this.file, this.diag),
      lostEvents: lost,
      lineCount: this.lineNo,
      reordered: this.reordered,
      complete,
    };
  }
}

const PRINTF_PREFIX = '{"type": "printf", "data": "';

/**
 * The data string of a json printf line `s[a, b)` as bpftrace v0.17 writes it
 * (`{"type": "printf", "data": "..."}`), decoded without JSON.parse; undefined when the line has
 * any other shape or an escape this does not know (the caller then uses JSON.parse).
 */
function printfData(s: string, a: number, b: number): string | undefined {
  const start = a + PRINTF_PREFIX.length;
  const end = b - 2;
  if (end < start || !s.startsWith(PRINTF_PREFIX, a) || s.charCodeAt(end) !== 0x22 || s.charCodeAt(end + 1) !== 0x7d) return undefined;
  // Any quote before the closing one is escaped (or malformed): left to JSON.parse.
  if (s.indexOf('"', start) < end) return undefined;
  let d = '';
  let p = start;
  for (;;) {
    const bs = s.indexOf('\\', p);
    if (bs < 0 || bs >= end) return d + s.slice(p, end);
    d += s.slice(p, bs);
    if (bs + 1 >= end) return undefined;
    switch (s.charCodeAt(bs + 1)) {
      case 0x6e /* n */:
        d += '\n';
        break;
      case 0x74 /* t */:
        d += '\t';
        break;
      case 0x72 /* r */:
        d += '\r';
        break;
      case 0x5c /* \ */:
        d += '\\';
        break;
      case 0x2f /* / */:
        d += '/';
        break;
      default:
        return undefined; // \uXXXX and the rest: JSON.parse
    }
    p = bs + 2;
  }
}


function checkAnchors(raw: readonly RawAnchor[], file: string, diag: Diagnostics): Anchor[] {
  if (raw.length === 0) return [];
  const clocks = raw.filter((r) => r.source === 'clock');
  const ref = medianBigint((clocks.length > 0 ? clocks : raw).map((r) => r.unixNs - r.bootNs));
  return raw.map((r) => {
    const d = r.unixNs - r.bootNs - ref;
    const consistent = !(d > HALF_SECOND || d < -HALF_SECOND);
    if (!consistent) {
      diag.add('anchor_inconsistent', () => {
        const ms = Number(d / 1000n) / 1000;
        return `${file}:${r.line}: ${r.source === 'AN' ? 'AN anchor' : '# clock: reading'} is ${ms} ms off the others (bpftrace v0.17 strftime rounding): dropped`;
      });
    }
    return { ...r, consistent };
  });
}

export async function parseEventLog(chunks: AsyncIterable<Buffer>, file: string, diag: Diagnostics): Promise<EventLog> {
  const parser = new EventLogParser(file, diag);
  for await (const chunk of chunks) parser.push(chunk);
  return parser.end();
}

/**
 * For the format dispatcher: the first lines of `head` are a cpath event log (`# cpath-events`
 * header), or bpftrace output of cpath's scripts, text or `-f json` (an `Attaching N probes...`
 * or json attached_probes / lost_events line may come before the first event).
 */
export function looksLikeEventLog(head: Buffer): boolean {
  let text = head.subarray(0, 8192).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  // The last piece may be cut by the head's end: judge it only when it is the only one.
  const usable = lines.length > 1 ? lines.length - 1 : 1;
  for (let i = 0; i < usable && i < 20; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (line.startsWith(LOG_HEADER)) return true;
    if (/^Attaching \d+ probes?/.test(line)) continue;
    if (EVENT_LINE.test(line)) return true;
    if (line.startsWith('{')) {
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        return false;
      }
      if (typeof v !== 'object' || v === null) return false;
      const o = v as { type?: unknown; data?: unknown };
      if (o.type === 'attached_probes' || o.type === 'lost_events') continue;
      return o.type === 'printf' && typeof o.data === 'string' && EVENT_LINE.test(o.data);
    }
    return false;
  }
  return false;
}
