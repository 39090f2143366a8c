// The report's header, built in one place for `cpath analyze`, the live page and `cpath diff`:
// the generator, the settings that change results, and how they are labelled.
import type { OutlierPolicy } from '../../analysis/endpoints.js';
import type { ResourceInfo } from '../model/span.js';
import { VERSION } from '../version.js';
import type { ReportInput } from './types.js';

/** The `version` and `generator` every report starts with. */
export function reportHeader(): { version: 1; generator: string } {
  return { version: 1, generator: `cpath ${VERSION}` };
}

/** The settings that change results, as a command or the server ran with them. */
export interface AnalysisSettings {
  readonly skewAdjust: boolean;
  readonly overlapToleranceNs?: number;
  readonly groupBy?: string;
  readonly outliers: OutlierPolicy;
  readonly top: number;
  /** Thread-only inputs: the probed function whose calls are the traces. */
  readonly rootFunction?: string;
}

export function reportSettings(s: AnalysisSettings): ReportInput['settings'] {
  return {
    skewAdjust: s.skewAdjust,
    ...(s.overlapToleranceNs !== undefined ? { overlapToleranceNs: s.overlapToleranceNs } : {}),
    ...(s.groupBy !== undefined ? { groupBy: s.groupBy } : {}),
    outliers: outliersLabel(s.outliers),
    top: s.top,
    ...(s.rootFunction !== undefined ? { rootFunction: s.rootFunction } : {}),
  };
}

/** The outlier rule as `--outliers` writes it: `auto`, `pN`, or a duration in ns. */
export function outliersLabel(p: OutlierPolicy): string {
  switch (p.kind) {
    case 'auto':
      return 'auto';
    case 'percentile':
      return `p${p.p}`;
    case 'duration':
      return String(p.ns);
  }
}

/** Detected start-time granularity per service; a service with several instances reports the finest. */
export function granularityLabels(g: Iterable<readonly [ResourceInfo, number]>): Record<string, string> {
  const rank = (l: string): number => (l === 'none' ? 0 : l === '1us' ? 1 : 2);
  const out: Record<string, string> = {};
  for (const [r, ns] of g) {
    const label = ns >= 1_000_000 ? '1ms' : ns >= 1_000 ? '1us' : 'none';
    const prev = out[r.service];
    out[r.service] = prev === undefined || rank(label) < rank(prev) ? label : prev;
  }
  return out;
}
