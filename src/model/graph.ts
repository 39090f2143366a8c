// One trace as a graphology graph, materialised on demand from the builder's arrays: nodes are
// spans (keyed by span id), edges are child-of, client->server (a CLIENT parent of a SERVER
// child) and link. Later collectors add thread and wakeup nodes to the same graph. The hot
// loops do not use it: building graphs for every span costs several times the parsing (see
// ARCHITECTURE.md and BENCHMARKS.md).
import { MultiDirectedGraph } from 'graphology';
import type { Attributes, SpanKind, StatusCode } from './span.js';
import type { Trace } from './trace-builder.js';

export interface SpanNode {
  readonly type: 'span';
  readonly index: number;
  readonly service: string;
  readonly operation: string;
  readonly kind: SpanKind;
  readonly host: string;
  readonly pid?: number;
  readonly status: StatusCode;
  /** Unix ns. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Attributes;
}

export type EdgeType = 'child-of' | 'client-server' | 'follows-from' | 'link';

export interface TraceEdge {
  readonly type: EdgeType;
}

export type TraceGraph = MultiDirectedGraph<SpanNode, TraceEdge>;

export function traceGraph(trace: Trace): TraceGraph {
  const g: TraceGraph = new MultiDirectedGraph<SpanNode, TraceEdge>({ allowSelfLoops: true });
  trace.spans.forEach((s, index) => {
    g.addNode(s.spanId, {
      type: 'span',
      index,
      service: s.resource.service,
      operation: s.name,
      kind: s.kind,
      host: s.resource.host,
      ...(s.resource.pid !== undefined ? { pid: s.resource.pid } : {}),
      status: s.status,
      startNs: s.startNs,
      endNs: s.endNs,
      attributes: s.attributes,
    });
  });
  trace.spans.forEach((s, i) => {
    const p = trace.parent[i] ?? -1;
    const ps = p >= 0 ? trace.spans[p] : undefined;
    if (ps) {
      const type: EdgeType = s.parentRef === 'follows-from' ? 'follows-from' : ps.kind === 'client' && s.kind === 'server' ? 'client-server' : 'child-of';
      g.addDirectedEdge(ps.spanId, s.spanId, { type });
    }
    for (const l of s.links ?? []) {
      if (l.traceId === trace.traceId && g.hasNode(l.spanId)) g.addDirectedEdge(s.spanId, l.spanId, { type: 'link' });
    }
  });
  return g;
}

/** Children of a span in the graph (parent edges only), by start time. */
export function childrenOf(g: TraceGraph, spanId: string): string[] {
  const out: string[] = [];
  g.forEachOutEdge(spanId, (_e, attr, _src, target) => {
    if (attr.type !== 'link') out.push(target);
  });
  out.sort((a, b) => {
    const x = g.getNodeAttribute(a, 'startNs');
    const y = g.getNodeAttribute(b, 'startNs');
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return out;
}
