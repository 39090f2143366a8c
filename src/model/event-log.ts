// The cpath event log: its line grammar (what `cpath record`'s bpftrace program writes, the
// parser reads and `record` counts; collectors/bpftrace/FORMAT.md describes it) and the parsed log
// in columns: one row per event line,
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

/**
 * The event lines, by kind: the fields after `<ts> <KIND> `, in order (FORMAT.md's table). A
 * field written `a\tb` is two comms separated by a TAB; the last field may contain spaces.
 */
export const EVENT_LINE_FIELDS = {
  SW: ['cpu', 'prev_pid', 'prev_tid', 'prev_state', 'next_tid', 'prev_comm\tnext_comm'],
  WK: ['cpu', 'waker_pid', 'waker_tid', 'wakee_tid', 'ctx', 'waker_comm\twakee_comm'],
  WN: ['cpu', 'parent_pid', 'parent_tid', 'child_tid', 'child_comm'],
  EX: ['cpu', 'pid', 'tid', 'comm'],
  RN: ['cpu', 'pid', 'tid', 'newcomm'],
  UE: ['cpu', 'pid', 'tid', 'function'],
  UX: ['cpu', 'pid', 'tid', 'function'],
  US: ['cpu', 'pid', 'tid', 'provider:probe'],
  ST: ['cpu', 'pid', 'tid', 'kind'],
  AN: ['unix_seconds.microseconds'],
} as const satisfies Record<string, readonly string[]>;
export type EventLineKind = keyof typeof EVENT_LINE_FIELDS;
export const EVENT_LINE_KINDS: readonly EventLineKind[] = ['SW', 'WK', 'WN', 'EX', 'RN', 'UE', 'UX', 'US', 'ST', 'AN'];

/** The start of an event line: a timestamp, a known kind, a field. */
export const EVENT_LINE = new RegExp(`^\\d{1,20} (?:${EVENT_LINE_KINDS.join('|')}) \\S`);
/** The first header line starts so, the format's version follows. */
export const LOG_HEADER = '# cpath-events';
export const LOG_VERSION = 1;
/** The start of the last line of a log `cpath record` closed cleanly. */
export const LOG_END = '# end';
/** bpftrace's own report of events it could not deliver. */
export const LOST_LINE = /^Lost (\d+) events\s*$/;

/** The header keys `cpath record` writes (FORMAT.md); readers ignore keys they do not know. */
export type HeaderKey = 'host' | 'kernel' | 'bpftrace' | 'command' | 'target-pids' | 'scope' | 'stacks' | 'clock' | 'probes' | 'tracer-pids';

export function headerLine(key: HeaderKey, value: string): string {
  return `# ${key}: ${value}`;
}

/** `# end lost=<N> exit=<status>`: closes a log that was finished cleanly. */
export function endLine(lost: number, exit: string): string {
  return `${LOG_END} lost=${lost} exit=${exit}`;
}

/** The kind of an event line (`<ts> <KIND> ...`), or undefined when it is not one. */
export function eventLineKind(line: string): EventLineKind | undefined {
  const sp = line.indexOf(' ');
  if (sp <= 0 || line.charCodeAt(sp + 3) !== 32) return undefined;
  const k = line.slice(sp + 1, sp + 3);
  return isEventLineKind(k) ? k : undefined;
}

function isEventLineKind(k: string): k is EventLineKind {
  return Object.hasOwn(EVENT_LINE_FIELDS, k);
}

/** An `AN` line's clock pair, exact: `<boot ns> AN <unix s>.<fraction>`. */
export function parseAnchorLine(line: string): { bootNs: bigint; unixNs: bigint } | undefined {
  const m = /^(\d+) AN (\d+)\.(\d{1,9})$/.exec(line);
  if (!m) return undefined;
  return { bootNs: BigInt(m[1] ?? '0'), unixNs: BigInt(m[2] ?? '0') * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0')) };
}

/**
 * A bpftrace printf format for one event line of `kind`, the timestamp first: one format per
 * field of the grammar (a count that disagrees with it is a programming error).
 */
export function eventPrintf(kind: EventLineKind, fieldFormats: readonly string[]): string {
  const want = EVENT_LINE_FIELDS[kind].length;
  if (fieldFormats.length !== want) throw new Error(`event line ${kind} has ${want} fields, not ${fieldFormats.length}`);
  return `%llu ${kind} ${fieldFormats.join(' ')}`;
}

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

