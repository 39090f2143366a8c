// Named counters for everything cpath repaired, skipped or could not use (Perfetto's "stats"):
// a bad record never aborts an import, it bumps one of these, and every output shows them.

export type Severity = 'info' | 'warning' | 'data-loss' | 'error';

/** Every code cpath reports, with its severity and a general description. */
export const DIAGNOSTIC_CODES = {
  line_unparsable: { severity: 'data-loss', message: 'lines or records that are not valid JSON / protobuf were skipped' },
  input_truncated: { severity: 'data-loss', message: 'an input ended in the middle of a record; everything before it was kept' },
  input_unreadable: { severity: 'error', message: 'inputs that could not be read or recognised' },
  record_invalid: { severity: 'data-loss', message: 'records with a missing or malformed required field were skipped' },
  id_invalid: { severity: 'data-loss', message: 'spans with an empty, all-zero or malformed trace or span id were skipped' },
  id_opaque: { severity: 'info', message: 'Jaeger or Zipkin spans whose ids are not hex (e.g. "span-A") got stable hex ids: the first digits of sha256("cpath-opaque-id:" + the id)' },
  parent_id_invalid: { severity: 'warning', message: 'spans with a malformed parent id were treated as roots' },
  timestamp_invalid: { severity: 'data-loss', message: 'spans with a missing or malformed start or end time were skipped' },
  end_before_start: { severity: 'warning', message: 'spans ending before they start were given zero duration' },
  span_duplicate: { severity: 'info', message: 'spans with the same trace and span id as an earlier one (resends) were dropped' },
  parent_missing: { severity: 'warning', message: 'spans whose parent is not in the trace became orphan roots with their own path' },
  extra_root: { severity: 'info', message: 'traces with more than one parentless span: the earliest is the primary root, the others get their own path' },
  parent_cycle: { severity: 'data-loss', message: 'spans in a parent cycle are unreachable from any root and were left out of the path' },
  clock_skew_shifted: { severity: 'info', message: 'server spans outside their cross-host client span were shifted with their same-host subtree (--no-skew-adjust turns this off)' },
  child_clipped: { severity: 'info', message: "child spans reaching outside their parent's window were clipped to it" },
  child_async: { severity: 'info', message: 'async children (consumer of producer, FOLLOWS_FROM, or entirely outside their parent) were left off their parent\'s path with their subtree' },
  zipkin_shared_split: { severity: 'info', message: 'Zipkin shared server halves got a synthesised span id (see README) and became children of their client half' },
  zipkin_shared_hosts: { severity: 'info', message: 'Zipkin shared server halves with one span id on several local endpoints (one message, several consumers) were told apart: each kept as its own span with a synthesised id' },
  zipkin_fragments_merged: { severity: 'info', message: 'Zipkin spans reported in pieces (same trace id, span id, kind, shared flag and local endpoint) were merged into one, as Zipkin does; nothing was lost' },
  zipkin_v1_converted: { severity: 'info', message: 'Zipkin v1 spans (annotations cs/sr/ss/cr, binaryAnnotations) were converted to v2 spans as Zipkin does' },
  attribute_too_deep: { severity: 'warning', message: 'attributes whose value nests arrays or key-value lists more than 32 levels deep were dropped' },
  attributes_truncated: { severity: 'warning', message: 'spans with more attributes than the limit (--max-attributes) kept only the first ones' },
  attribute_value_truncated: { severity: 'warning', message: 'attribute values longer than the limit (--max-attribute-length) were cut to it' },
  events_truncated: { severity: 'info', message: 'spans with more events than the limit (--max-events) had the rest skipped while decoding (cpath keeps no events)' },
  links_truncated: { severity: 'warning', message: 'spans with more links than the limit (--max-links) kept only the first ones' },
  attribute_invalid: { severity: 'warning', message: 'attributes with a malformed value were dropped' },
  link_invalid: { severity: 'warning', message: 'span references (links) with a malformed trace or span id were dropped' },
  duration_missing: { severity: 'warning', message: 'Zipkin spans without a duration were given zero duration' },
  jaeger_process_missing: { severity: 'warning', message: "Jaeger spans whose processID names no process of their trace got service unknown_service" },
  group_by_missing: { severity: 'warning', message: 'traces whose root span (and its resource) lack the --group-by attribute: grouped under "(no KEY)", or by operation when no root has it' },
  filter_excluded: { severity: 'info', message: 'traces excluded by the filters given on the command line' },
  events_lost: { severity: 'data-loss', message: 'kernel events bpftrace reported lost (Lost N events): timelines around them may be wrong' },
  event_unparsable: { severity: 'data-loss', message: 'event log lines that are not a known event, header or bpftrace message were skipped' },
  log_truncated: { severity: 'warning', message: 'the event log has no "# end" line or its last line is cut short (dropped): the recording was interrupted' },
  events_reordered: { severity: 'info', message: 'events that came out of time order across CPUs (normal for bpftrace per-CPU buffers) were sorted into place' },
  anchor_inconsistent: { severity: 'warning', message: 'clock anchors more than 0.5 s off the others (bpftrace v0.17 strftime rounding) were dropped' },
  return_unmatched: { severity: 'warning', message: 'uretprobe returns without a matching entry on their thread (the call began before tracing) were ignored' },
  call_unfinished: { severity: 'info', message: 'probed calls whose return was not seen end at their thread\'s end (or their caller\'s return) with complete=false' },
  thread_shared: { severity: 'warning', message: 'critical-path sections on a thread that served other traces at the same time (a shared event loop): their thread-level split is shared, not exclusive' },
  thread_state_inconsistent: { severity: 'warning', message: "scheduler events contradicting a thread's known state (usually after lost events) were taken as the truth from then on" },
} as const satisfies Record<string, { severity: Severity; message: string }>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** One line of the diagnostics summary, as it appears in every output. */
export interface DiagnosticEntry {
  /** Stable identifier, e.g. `parent_missing`. */
  code: DiagnosticCode;
  /** How bad it is: info (repaired, harmless), warning (repaired, check it), data-loss (records skipped), error. */
  severity: Severity;
  /** How many times it happened. */
  count: number;
  /** What the code means, in general. */
  message: string;
  /** The first occurrence, with file and line or byte offset, e.g. `trace.jsonl:12: parent 00f1... missing`. */
  example?: string;
}

export class Diagnostics {
  private readonly counts = new Map<DiagnosticCode, { count: number; example?: string }>();

  /** Counts one occurrence; `example` is kept for the first one. Pass a thunk to avoid building strings on hot paths. */
  add(code: DiagnosticCode, example?: string | (() => string), n = 1): void {
    const e = this.counts.get(code);
    if (e) {
      e.count += n;
      return;
    }
    this.counts.set(code, { count: n, ...(example !== undefined ? { example: typeof example === 'function' ? example() : example } : {}) });
  }

  count(code: DiagnosticCode): number {
    return this.counts.get(code)?.count ?? 0;
  }

  merge(other: Diagnostics): void {
    for (const [code, e] of other.counts) this.add(code, e.example, e.count);
  }

  get size(): number {
    return this.counts.size;
  }

  /** Entries, worst first, then by code. */
  entries(): DiagnosticEntry[] {
    const rank: Record<Severity, number> = { error: 0, 'data-loss': 1, warning: 2, info: 3 };
    const out: DiagnosticEntry[] = [];
    for (const [code, e] of this.counts) {
      const def = DIAGNOSTIC_CODES[code];
      out.push({ code, severity: def.severity, count: e.count, message: def.message, ...(e.example !== undefined ? { example: e.example } : {}) });
    }
    out.sort((a, b) => rank[a.severity] - rank[b.severity] || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
    return out;
  }
}
