// What can be said of a trace without analysing it (one with no analysable root, e.g. a parent
// cycle, is listed with this and its problems): its earliest span, its extent, its counts.
import type { Trace } from '../src/model/trace-builder.js';

export interface TraceOutline {
  /** Service and name of the earliest span. */
  readonly service: string;
  readonly operation: string;
  readonly startNs: bigint;
  /** From the earliest start to the latest end. */
  readonly durationNs: number;
  readonly spans: number;
  /** Spans with error status. */
  readonly errors: number;
}

export function traceOutline(trace: Trace): TraceOutline {
  let first = trace.spans[0];
  let endNs = first?.endNs ?? 0n;
  let errors = 0;
  for (const s of trace.spans) {
    if (first === undefined || s.startNs < first.startNs) first = s;
    if (s.endNs > endNs) endNs = s.endNs;
    if (s.status === 'error') errors++;
  }
  const startNs = first?.startNs ?? 0n;
  return { service: first?.resource.service ?? 'unknown_service', operation: first?.name ?? '', startNs, durationNs: Number(endNs - startNs), spans: trace.spans.length, errors };
}
