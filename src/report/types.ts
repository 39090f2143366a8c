// The `cpath analyze --format json` output, version 1. This file is the schema: every field
// is documented here and in the README. Times: absolute ones are Unix nanoseconds as decimal
// strings (they exceed 2^53), durations are integer nanoseconds as JSON numbers.
import type { DiagnosticEntry } from '../model/diagnostics.js';

export interface AnalyzeReport {
  /** Format version; bumped on incompatible changes. */
  version: 1;
  /** The cpath version that wrote the report. */
  generator: string;
  input: ReportInput;
  /** Everything repaired, skipped or unusable, worst first. Empty when the input was clean. */
  diagnostics: DiagnosticEntry[];
  /** Every analysed trace (after filters), sorted by start time. */
  traces: ReportTrace[];
  /** One per endpoint (primary root service + operation, or --group-by value), by trace count, largest first. */
  endpoints: ReportEndpoint[];
}

export interface ReportInput {
  /** The inputs as given on the command line (`-` is stdin), then the --store directory if any. */
  files: string[];
  /** Format of each input, same order as `files` (`otlp-json`, `otlp-proto`, `jaeger`, `zipkin`, `cpath-store`; `empty` for no content). */
  formats: string[];
  /** Valid spans read (after dropping resends). */
  spans: number;
  /** Traces read, before filters. */
  traces: number;
  /** Traces analysed, after filters. */
  tracesAnalysed: number;
  /** The settings that change results. */
  settings: {
    /** Rule 3 of docs/critical-path.md (--no-skew-adjust turns it off). */
    skewAdjust: boolean;
    /** --overlap-tolerance in ns, when given; otherwise ε is detected per resource. */
    overlapToleranceNs?: number;
    /** --group-by attribute, when given. */
    groupBy?: string;
    /** The outlier rule: `auto`, `pN`, or a duration in ns. */
    outliers: string;
    /** --top. */
    top: number;
    /** --root: the probed function whose calls are the traces of thread-only inputs. */
    rootFunction?: string;
  };
  /** Detected start-time granularity (ε) per service: `1ms`, `1us` or `none`. */
  granularity: Record<string, string>;
  /** With event logs (thread data): what they held and how well their clocks line up with Unix time. */
  threads?: {
    /** Event logs read. */
    logs: number;
    /** Threads with a known history. */
    threads: number;
    /** Spread of the clock anchors (boot time to Unix time), ns: thread sections are placed within about this much, plus the spans' own granularity (1 ms for the JS SDK). */
    anchorSpreadNs: number;
    /** Processes `cpath record` was asked to trace. */
    targetPids: number[];
  };
}

export interface ReportSection {
  /** The span blamed for this section: 16 lowercase hex digits. Absent for thread-only inputs (event logs). */
  spanId?: string;
  service: string;
  operation: string;
  /** Section start, Unix ns (decimal string), after clock-skew adjustment. */
  startUnixNano: string;
  /** Section length, ns. */
  durationNs: number;
  /** Present (true) when the span's status is error. */
  error?: true;
  /** With thread data (an event log, or --threads): the thread this part of the path ran or waited on. */
  thread?: ReportThread;
  /** With thread data: what that thread was doing. */
  state?: 'running' | 'runnable' | 'sleeping' | 'blocked';
  /** With thread data: the innermost probed function (--uprobe) on that thread then. */
  function?: string;
  /** With thread data, for sleeping/blocked sections: why it waited and, for a wakeup by a task, who woke it. */
  wait?: { reason: 'wakeup' | 'timer' | 'network' | 'block-io' | 'irq' | 'unknown'; waker?: ReportThread };
  /** With `cpath record --stacks`: where the thread blocked, innermost frame first. */
  stack?: string[];
}

export interface ReportThread {
  pid: number;
  tid: number;
  /** The thread's name. */
  comm: string;
}

export interface ReportTrace {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** Primary root's service. */
  service: string;
  /** Primary root's operation (span name). */
  operation: string;
  /** Endpoint this trace counts under (differs from service/operation only with --group-by). */
  endpoint: { service: string; operation: string };
  /** Primary root start, Unix ns (decimal string). */
  startUnixNano: string;
  /** Primary root duration, ns. */
  durationNs: number;
  /** Spans in the trace. */
  spans: number;
  /** Spans with error status in the trace. */
  errors: number;
  /** The primary root's critical path: sections in time order, adjacent sections of one span merged; they cover the root exactly. */
  criticalPath: ReportSection[];
  /** Orphan roots (parent missing) and extra parentless spans, each with its own path. */
  otherRoots?: { spanId: string; service: string; operation: string; criticalPath: ReportSection[] }[];
}

export interface ReportEndpoint {
  service: string;
  operation: string;
  /** Traces of this endpoint. */
  traces: number;
  /** Exact percentiles (nearest rank) of the primary root durations, ns. */
  latencyNs: { p50: number; p90: number; p99: number; p999: number; max: number };
  /** The same durations (ns) as an HdrHistogram, hdr-histogram-js compressed base64 encoding (3 significant digits); mergeable across runs. */
  latencyHistogram: string;
  /** Every (service, operation) ever on this endpoint's critical paths, by total path time, largest first. */
  criticalPath: ReportComponent[];
  /** The duration an outlier had to reach under the outlier rule, ns. */
  outlierThresholdNs: number;
  /** Traces at or above the threshold; `outliers` lists the slowest --top of them. */
  outlierCount: number;
  /** Outliers, slowest first, at most --top. */
  outliers: ReportOutlier[];
  /** A trace whose duration is the median: a typical example to compare outliers with. */
  typicalTraceId?: string;
  /** Thread data: waiting time on the critical paths by reason and waker thread name, largest first. */
  waits?: { reason: string; waker?: string; ns: number; share: number }[];
}

export interface ReportComponent {
  /** The span's service; for thread-only inputs, the process name. */
  service: string;
  /** The span's operation; for thread-only inputs, the probed function (`-` outside any). */
  operation: string;
  /** Thread-only inputs: the thread name; with `state` it makes the (thread, state, function) triple. */
  thread?: string;
  /** Thread-only inputs: running, runnable, sleeping or blocked. */
  state?: 'running' | 'runnable' | 'sleeping' | 'blocked';
  /** Traces where this component has time on the critical path. */
  onPathTraces: number;
  /** Its path time per trace (exact, over the traces where it is on the path) and summed over all traces, ns. */
  selfNs: { p50: number; p90: number; p99: number; max: number; total: number };
  /** Its path time summed over the endpoint's traces divided by the sum of their root durations (0..1). */
  share: number;
  /** On-path spans of this component with error status. */
  errors: number;
}

export interface ReportOutlier {
  traceId: string;
  durationNs: number;
  /** Trace start, Unix ns (decimal string). */
  startUnixNano: string;
  /** The component with the most path time in this trace. */
  dominant: { service: string; operation: string; thread?: string; state?: ReportComponent['state']; selfNs: number };
  /** Per component: its path time here minus its median path time over all of the endpoint's traces (zeros included); positive ones, largest first. */
  excess: { service: string; operation: string; thread?: string; state?: ReportComponent['state']; ns: number }[];
}

/** One span in full (`GET /api/traces/{traceId}`). */
export interface ReportSpan {
  /** 16 lowercase hex digits. */
  spanId: string;
  /** Absent for a root. */
  parentSpanId?: string;
  /** Present only for Jaeger FOLLOWS_FROM references. */
  parentRef?: 'follows-from';
  service: string;
  operation: string;
  kind: 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** Unix ns (decimal string), as received (before any clock-skew adjustment). */
  startUnixNano: string;
  durationNs: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  /** Span attributes; 64-bit integers beyond 2^53 as decimal strings. */
  attributes: Record<string, unknown>;
  /** The resource's attributes (service.name, host.name...). */
  resource: Record<string, unknown>;
  /** Linked spans. */
  links?: { traceId: string; spanId: string }[];
  /** The clock-skew shift the analysis applied (rule 3), ns; absent when none. */
  shiftNs?: number;
}

/** `GET /api/traces/{traceId}`: the trace as in `traces` of the report, with `spans` listing every span instead of counting them. */
export type ReportTraceDetail = Omit<ReportTrace, 'spans'> & {
  spans: ReportSpan[];
  /** With thread data: the threads the critical path ran or waited on, over the trace's time. */
  threads?: ReportThreadLane[];
};

/** One thread's states over a trace's window, and the wakeups it received. */
export interface ReportThreadLane {
  thread: ReportThread;
  /** Contiguous states in time order, clipped to the trace's window. */
  states: { startUnixNano: string; durationNs: number; state: 'running' | 'runnable' | 'sleeping' | 'blocked' }[];
  /** Wakeups of this thread within the window: when, why, and by which thread when a task woke it. */
  wakeups: { atUnixNano: string; reason: 'wakeup' | 'timer' | 'network' | 'block-io' | 'irq' | 'unknown'; waker?: ReportThread }[];
}
