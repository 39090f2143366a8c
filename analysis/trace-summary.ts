// One analysed trace -> what cross-trace aggregation needs of it (endpoint, start, duration,
// critical-path time per component). Shared by `cpath analyze` and the live server.
import { stringifyAttr, type AttrValue, type SpanInput } from '../src/model/span.js';
import type { Trace } from '../src/model/trace-builder.js';
import { componentKey, type ComponentTime, type TraceSummary } from './endpoints.js';
import type { TraceAnalysis } from './trace-analysis.js';

/** componentKey() without building a string per section: one cached key per (service, operation). */
export class ComponentKeys {
  private readonly byService = new Map<string, Map<string, string>>();

  get(service: string, operation: string): string {
    let ops = this.byService.get(service);
    if (!ops) this.byService.set(service, (ops = new Map()));
    let k = ops.get(operation);
    if (k === undefined) {
      if (ops.size > 100_000) ops.clear();
      ops.set(operation, (k = componentKey(service, operation)));
    }
    return k;
  }
}

/** `--group-by KEY`: the root span (or resource) attribute that names the endpoint. */
export interface GroupBy {
  readonly key: string;
  /**
   * What a root without the attribute gets: its operation when no root of the input has the
   * attribute at all (a mistyped key groups as if it were not given, and the diagnostics say
   * so), else the visible `(no KEY)` group.
   */
  readonly fallback: 'operation' | 'no-key-group';
}

/** The group-by attribute of a root span: the span's own, else its resource's. */
export function groupValue(root: SpanInput, key: string): AttrValue | undefined {
  return root.attributes[key] ?? root.resource.attributes[key];
}

/** The endpoint name of roots without the group-by attribute, e.g. `(no http.route)`. */
export function noKeyGroup(key: string): string {
  return `(no ${key})`;
}

/** Undefined when the analysis has no root span (nothing reachable). */
export function summarizeTrace(trace: Trace, analysis: TraceAnalysis, groupBy: GroupBy | undefined, keys: ComponentKeys): TraceSummary | undefined {
  const root = trace.spans[analysis.root];
  if (!root) return undefined;
  const startNs = trace.baseNs + BigInt(analysis.prepared.ws[analysis.root] ?? 0);
  let operation = root.name;
  if (groupBy !== undefined) {
    const v = groupValue(root, groupBy.key);
    if (v !== undefined) operation = stringifyAttr(v);
    else if (groupBy.fallback === 'no-key-group') operation = noKeyGroup(groupBy.key);
  }
  const components = new Map<string, ComponentTime>();
  const errorSpans = new Set<number>();
  for (const sec of analysis.path) {
    const s = trace.spans[sec.span];
    if (!s) continue;
    const k = keys.get(s.resource.service, s.name);
    let c = components.get(k);
    if (!c) components.set(k, (c = { service: s.resource.service, operation: s.name, ns: 0, errors: 0 }));
    c.ns += sec.end - sec.start;
    if (s.status === 'error' && !errorSpans.has(sec.span)) {
      errorSpans.add(sec.span);
      c.errors++;
    }
  }
  return { traceId: trace.traceId, service: root.resource.service, operation, startNs, durationNs: analysis.durationNs, components };
}
