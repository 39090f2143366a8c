// Start-time granularity per resource (docs/critical-path.md, "Clock granularity"): 1 ms when every
// span start from that resource is a whole millisecond (the OpenTelemetry JS SDK stamps starts
// with Date.now()), else 1 µs when every one is a whole microsecond, else none.
import type { ResourceInfo } from '../src/model/span.js';
import type { Trace } from '../src/model/trace-builder.js';

export function detectGranularity(traces: readonly Trace[]): Map<ResourceInfo, number> {
  const g = new Map<ResourceInfo, number>();
  for (const t of traces) addGranularity(g, t);
  return g;
}

/** Folds one more trace into `g` (the live server sees traces one at a time). */
export function addGranularity(g: Map<ResourceInfo, number>, t: Trace): void {
  for (const s of t.spans) {
    const cur = g.get(s.resource);
    if (cur === 0) continue;
    const here = s.startNs % 1_000_000n === 0n ? 1_000_000 : s.startNs % 1_000n === 0n ? 1_000 : 0;
    g.set(s.resource, cur === undefined ? here : Math.min(cur, here));
  }
}
