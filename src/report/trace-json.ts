// One analysed trace as a report entry: as an object (the library API) and straight to JSON
// text (streaming big reports: no intermediate objects per section). Both give the same JSON;
// a test checks it.
import type { PathSection } from '../../analysis/critical-path.js';
import type { Trace } from '../model/trace-builder.js';
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import type { EndpointStats } from '../../analysis/endpoints.js';
import type { ReportEndpoint, ReportSection, ReportTrace } from './types.js';

export function toReportTrace(a: AnalysedTrace): ReportTrace {
  const { trace, analysis } = a;
  const root = trace.spans[analysis.root];
  const other = analysis.otherRoots.map((o) => {
    const r = trace.spans[o.root];
    return { spanId: r?.spanId ?? '', service: r?.resource.service ?? '', operation: r?.name ?? '', criticalPath: sections(trace, o.path) };
  });
  return {
    traceId: trace.traceId,
    service: root?.resource.service ?? '',
    operation: root?.name ?? '',
    endpoint: { service: a.endpoint.service, operation: a.endpoint.operation },
    startUnixNano: a.startNs.toString(),
    durationNs: analysis.durationNs,
    spans: trace.spans.length,
    errors: countErrors(trace),
    criticalPath: sections(trace, analysis.path),
    ...(other.length > 0 ? { otherRoots: other } : {}),
  };
}

export function sections(trace: Trace, path: readonly PathSection[]): ReportSection[] {
  return path.map((sec) => {
    const s = trace.spans[sec.span];
    return {
      spanId: s?.spanId ?? '',
      service: s?.resource.service ?? '',
      operation: s?.name ?? '',
      startUnixNano: (trace.baseNs + BigInt(sec.start)).toString(),
      durationNs: sec.end - sec.start,
      ...(s?.status === 'error' ? { error: true as const } : {}),
    };
  });
}

function countErrors(trace: Trace): number {
  let n = 0;
  for (const s of trace.spans) if (s.status === 'error') n++;
  return n;
}

/** Serialises report entries; caches the JSON of service and operation names, which repeat. */
export class TraceJsonWriter {
  private readonly quoted = new Map<string, string>();

  json(a: AnalysedTrace): string {
    const parts: string[] = [];
    for (const _ of this.write(a, (t) => parts.push(t)));
    return parts.join('');
  }

  /**
   * Hands the JSON text to `put` in small pieces (no growing string, even for a trace of a
   * million sections), pausing (yield) every few thousand sections so that the caller can
   * wait for its output to drain.
   */
  *write(a: AnalysedTrace, put: (text: string) => void): Generator<void> {
    const { trace, analysis } = a;
    const root = trace.spans[analysis.root];
    const base = splitNs(trace.baseNs);
    put(
      `{"traceId":"${trace.traceId}","service":${this.q(root?.resource.service ?? '')},"operation":${this.q(root?.name ?? '')},"endpoint":{"service":${this.q(a.endpoint.service)},"operation":${this.q(a.endpoint.operation)}},"startUnixNano":"${a.startNs}","durationNs":${analysis.durationNs},"spans":${trace.spans.length},"errors":${countErrors(trace)},"criticalPath":`,
    );
    yield* this.path(trace, analysis.path, base, put);
    if (analysis.otherRoots.length > 0) {
      put(',"otherRoots":[');
      for (let i = 0; i < analysis.otherRoots.length; i++) {
        const o = analysis.otherRoots[i];
        if (!o) continue;
        const r = trace.spans[o.root];
        put(`${i > 0 ? ',' : ''}{"spanId":"${r?.spanId ?? ''}","service":${this.q(r?.resource.service ?? '')},"operation":${this.q(r?.name ?? '')},"criticalPath":`);
        yield* this.path(trace, o.path, base, put);
        put('}');
      }
      put(']');
    }
    put('}');
  }

  private *path(trace: Trace, path: readonly PathSection[], base: SplitNs, put: (text: string) => void): Generator<void> {
    // Sections go out in runs of a few KiB: one encoder call per section costs more than
    // flattening a short concatenation.
    let out = '[';
    for (let i = 0; i < path.length; i++) {
      const sec = path[i];
      if (!sec) continue;
      const s = trace.spans[sec.span];
      out += `${i > 0 ? ',' : ''}{"spanId":"${s?.spanId ?? ''}","service":${this.q(s?.resource.service ?? '')},"operation":${this.q(s?.name ?? '')},"startUnixNano":"${addNs(base, sec.start)}","durationNs":${sec.end - sec.start}${s?.status === 'error' ? ',"error":true' : ''}}`;
      if (out.length >= 8192) {
        put(out);
        out = '';
      }
      if ((i & 8191) === 8191) yield;
    }
    put(`${out}]`);
  }

  private q(s: string): string {
    let j = this.quoted.get(s);
    if (j === undefined) {
      if (this.quoted.size > 100_000) this.quoted.clear();
      j = JSON.stringify(s);
      this.quoted.set(s, j);
    }
    return j;
  }
}

/** A Unix-ns bigint as whole milliseconds + the nanoseconds within, both exact doubles. */
interface SplitNs {
  readonly ms: number;
  readonly ns: number;
}

function splitNs(v: bigint): SplitNs {
  return { ms: Number(v / 1_000_000n), ns: Number(v % 1_000_000n) };
}

/** Decimal text of base + rel (rel a non-negative integer ns offset) without bigint arithmetic. */
export function addNs(base: SplitNs, rel: number): string {
  const t = base.ns + rel;
  const carry = Math.floor(t / 1e6);
  const ms = base.ms + carry;
  const ns = t - carry * 1e6;
  return ms === 0 ? String(ns) : `${ms}${String(ns).padStart(6, '0')}`;
}

/** One endpoint's statistics as a report entry (`analyze --format json`, `/api/endpoints`). */
export function toReportEndpoint(e: EndpointStats): ReportEndpoint {
  return {
    service: e.service,
    operation: e.operation,
    traces: e.traces,
    latencyNs: e.latencyNs,
    latencyHistogram: e.latencyHistogram,
    criticalPath: e.criticalPath.map((c) => ({ ...c, selfNs: { ...c.selfNs } })),
    outlierThresholdNs: e.outlierThresholdNs,
    outlierCount: e.outlierCount,
    outliers: e.outliers.map((o) => ({ traceId: o.traceId, durationNs: o.durationNs, startUnixNano: o.startNs.toString(), dominant: o.dominant, excess: [...o.excess] })),
    ...(e.typicalTraceId !== undefined ? { typicalTraceId: e.typicalTraceId } : {}),
  };
}
