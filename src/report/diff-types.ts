// The `cpath diff --format json` output, version 1. This file is the schema: every field is
// documented here and in the README. Durations are integer nanoseconds (JSON numbers); absolute
// times are Unix nanoseconds as decimal strings (they exceed 2^53).
import type { DiagnosticEntry } from '../model/diagnostics.js';

export interface DiffReport {
  /** Format version; bumped on incompatible changes. */
  version: 1;
  /** The cpath version that wrote the report. */
  generator: string;
  /** How latency shifts are tested, e.g. "Mann-Whitney U, two-sided, normal approximation with tie and continuity correction". */
  test: string;
  /** What counts as a significant shift. */
  settings: {
    /** A shift is significant when p < alpha ... */
    alpha: number;
    /** ... and the medians differ by at least this fraction of the base median. */
    minRelativeShift: number;
    /** Rule 3 of docs/critical-path.md (--no-skew-adjust turns it off). */
    skewAdjust: boolean;
    /** --overlap-tolerance in ns, when given; otherwise ε is detected per resource and side. */
    overlapToleranceNs?: number;
    /** --split-at: base is the traces starting before it, new those starting at or after it. */
    splitAtUnixNano?: string;
  };
  /** What each side read. */
  input: { base: DiffSideInput; new: DiffSideInput };
  /** Everything repaired, skipped or unusable while reading each side, worst first (the same list twice with --split-at: one input). */
  diagnostics: { base: DiagnosticEntry[]; new: DiagnosticEntry[] };
  /** Endpoints with traces on both sides, by total trace count, largest first. */
  endpoints: DiffEndpoint[];
  /** Endpoints with traces on the base side only. */
  onlyInBase: DiffEndpointOnly[];
  /** Endpoints with traces on the new side only. */
  onlyInNew: DiffEndpointOnly[];
}

export interface DiffSideInput {
  /** The inputs as given (`-` is stdin), then the store directory if any. */
  files: string[];
  /** Format of each input, same order as `files` (`otlp-json`, ..., `cpath-store`; `empty` for no content). */
  formats: string[];
  /** Valid spans read (after dropping resends); with --split-at, of the whole input. */
  spans: number;
  /** Traces read, before filters; with --split-at, of the whole input. */
  traces: number;
  /** Traces of this side, after filters and the split. */
  tracesAnalysed: number;
  /** The side's time window (--since/--until, --split-at), Unix ns; absent bounds are open. */
  window?: { sinceUnixNano?: string; untilUnixNano?: string };
  /** Detected start-time granularity (ε) per service: `1ms`, `1us` or `none`. */
  granularity: Record<string, string>;
}

export interface DiffEndpoint {
  /** The endpoint: primary root service and operation. */
  service: string;
  operation: string;
  /** One sentence to paste into a ticket, e.g. "frontend GET /checkout p50 +5.12 ms (41.3 -> 46.4 ms, p < 0.001): cart cache.get +9.87 ms on the path (now dominant, was hidden behind cart hash-session)". */
  summary: string;
  base: DiffSideLatency;
  new: DiffSideLatency;
  /** new - base, per percentile and for the mean, ns. */
  deltaNs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** p < settings.alpha and the medians differ by at least settings.minRelativeShift of the base median. */
  significant: boolean;
  /** The test used: "mann-whitney-u". */
  test: string;
  /** Two-sided p-value of the test (1: no evidence of a shift). */
  pValue: number;
  /** Mann-Whitney U of the base sample (pairs with base > new, ties half); n_base·n_new/2 means no shift. */
  u: number;
  /** Standardised U (continuity-corrected), ≥ 0. */
  z: number;
  /** Every (service, operation) on either side's critical path of this endpoint, by |deltaNs|, largest first. */
  changes: DiffComponentChange[];
  /** Operations whose spans per trace changed, largest change first; appeared: callsPerTraceBase 0, disappeared: callsPerTraceNew 0. */
  structure: DiffStructureChange[];
}

export interface DiffSideLatency {
  /** Traces of the endpoint on this side. */
  traces: number;
  /** Nearest-rank percentiles of the root durations, ns. */
  latencyNs: { p50: number; p90: number; p99: number; max: number };
  /** Mean root duration, ns (rounded). */
  meanNs: number;
}

export interface DiffComponentChange {
  service: string;
  operation: string;
  /** Mean critical-path time per trace over all of the base side's traces of the endpoint (zeros included), ns (rounded). */
  meanPathNsBase: number;
  /** The same on the new side. */
  meanPathNsNew: number;
  /** meanPathNsNew - meanPathNsBase: how much of the change of the endpoint's mean latency it explains (they add up to deltaNs.mean, up to rounding). */
  deltaNs: number;
  /** Traces of the endpoint with this component on the path, per side. */
  onPathTracesBase: number;
  onPathTracesNew: number;
  /** On the typical path (in more than half of the traces) on the new side but not on the base side. */
  enteredPath: boolean;
  /** On the typical path on the base side but not on the new side. */
  leftPath: boolean;
  /** enteredPath: the sibling (same parent call path) that left the path, which hid it before; leftPath: the sibling that now hides it. */
  swappedWith?: { service: string; operation: string };
}

export interface DiffStructureChange {
  service: string;
  operation: string;
  /** Spans of this (service, operation) per trace of the endpoint, base side (on the path or not). */
  callsPerTraceBase: number;
  /** The same, new side. */
  callsPerTraceNew: number;
}

export interface DiffEndpointOnly {
  service: string;
  operation: string;
  /** Its traces on the one side it has. */
  traces: number;
}
