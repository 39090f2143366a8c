// One trace from spans to critical paths: prepare (roots, skew, async, clipping), then walk
// the primary root and every other root.
import type { Diagnostics } from '../src/model/diagnostics.js';
import type { ResourceInfo } from '../src/model/span.js';
import type { Trace } from '../src/model/trace-builder.js';
import { criticalPaths, type PathSection } from './critical-path.js';
import { prepareTrace, type PreparedTrace } from './prepare.js';

export interface AnalysisOptions {
  readonly skewAdjust: boolean;
  /** `--overlap-tolerance`: one ε for every span, overriding detection. */
  readonly overlapToleranceNs?: number;
  /** Detected granularity per resource (granularity.ts). */
  readonly granularity: ReadonlyMap<ResourceInfo, number>;
}

export interface TraceAnalysis {
  readonly prepared: PreparedTrace;
  /** Index of the primary root span. */
  readonly root: number;
  /** Primary root duration, ns. */
  readonly durationNs: number;
  readonly path: readonly PathSection[];
  readonly otherRoots: readonly { readonly root: number; readonly path: readonly PathSection[] }[];
}

/** Undefined when no span of the trace is reachable from a root (all in cycles). */
export function analyzeTrace(trace: Trace, opts: AnalysisOptions, diag: Diagnostics): TraceAnalysis | undefined {
  const tol = opts.overlapToleranceNs;
  const epsilon =
    tol !== undefined
      ? (): number => tol
      : (i: number): number => {
          const r = trace.spans[i]?.resource;
          return r ? (opts.granularity.get(r) ?? 0) : 0;
        };
  const prepared = prepareTrace(trace, { skewAdjust: opts.skewAdjust, epsilon }, diag);
  const root = prepared.primaryRoot;
  if (root < 0) return undefined;
  const paths = criticalPaths(prepared, [root, ...prepared.otherRoots]);
  return {
    prepared,
    root,
    durationNs: prepared.we[root] - prepared.ws[root],
    path: paths[0] ?? [],
    otherRoots: prepared.otherRoots.map((r, i) => ({ root: r, path: paths[i + 1] ?? [] })),
  };
}
