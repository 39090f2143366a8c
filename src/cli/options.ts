// Flag values only the commands take (value parsers shared with the API are src/params). A bad
// value is a UsageError: one line, exit 2.
import type { OutlierPolicy } from '../../analysis/endpoints.js';
import { parseDuration } from '../model/time.js';
import { UsageError } from '../params/values.js';

export { UsageError, durationOpt, listenOpt, positiveIntOpt, sizeOpt, timeOpt, traceIdOpt, whereOpt } from '../params/values.js';

/** A command finished and has said everything; only its exit status is left to return. */
export class ExitStatus extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

export function outliersOpt(v: string): OutlierPolicy {
  if (v === 'auto') return { kind: 'auto' };
  const m = /^p(\d{1,2}(?:\.\d+)?|100)$/.exec(v);
  if (m) return { kind: 'percentile', p: Number(m[1]) };
  const d = parseDuration(v);
  if (d !== undefined) return { kind: 'duration', ns: d };
  throw new UsageError(`--outliers: "${v}" is not auto, a percentile (p95, p99.9) or a duration (250ms)`);
}

export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

