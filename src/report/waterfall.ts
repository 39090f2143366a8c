// `cpath analyze --trace ID`: one trace as a text waterfall, spans in tree order, each bar
// drawn over the root's window with its critical-path parts marked.
import type { TraceAnalysis } from '../../analysis/trace-analysis.js';
import { childrenOf, traceGraph } from '../model/graph.js';
import { formatDuration, formatUnixNano } from '../model/time.js';
import type { Trace } from '../model/trace-builder.js';

const WIDTH = 48;

export function renderWaterfall(trace: Trace, a: TraceAnalysis): string {
  const { ws, we, shift, eligible } = a.prepared;
  const root = a.root;
  const t0 = ws[root] ?? 0;
  const span = Math.max(1, (we[root] ?? 0) - t0);
  const rootSpan = trace.spans[root];
  const onPath = pathBySpan(a);
  const lines: string[] = [];
  lines.push(`trace ${trace.traceId}  ${rootSpan?.resource.service ?? ''} ${rootSpan?.name ?? ''}  ${formatDuration(span)}  ${trace.spans.length} spans  start ${formatUnixNano(trace.baseNs + BigInt(t0))}`);
  lines.push(`legend: █ on the critical path, ─ elsewhere in the span, ░ off the path (async / other root)`);
  lines.push(`${'offset'.padStart(10)} ${'duration'.padStart(10)} ${'path'.padStart(9)}  ${'|'.padEnd(WIDTH + 1)}| span`);


  for (const { i, depth } of treeOrder(trace, a)) {
    const s = trace.spans[i];
    if (!s) continue;
    const st = ws[i] ?? 0;
    const en = we[i] ?? 0;
    const cells: string[] = new Array<string>(WIDTH).fill(' ');
    const col = (t: number): number => Math.min(WIDTH - 1, Math.max(0, Math.floor(((t - t0) / span) * WIDTH)));
    const off = eligible[i] !== 1;
    for (let c = col(st); c <= col(Math.max(st, en - 1)); c++) cells[c] = off ? '░' : '─';
    let pathNs = 0;
    for (const [a0, b0] of onPath.get(i) ?? []) {
      pathNs += b0 - a0;
      for (let c = col(a0); c <= col(Math.max(a0, b0 - 1)); c++) cells[c] = '█';
    }
    const sh = shift[i] ?? 0;
    const notes = [s.status === 'error' ? 'ERROR' : '', sh !== 0 ? `skew ${sh > 0 ? '+' : ''}${formatDuration(sh)}` : '', off ? 'async' : '']
      .filter((x) => x !== '')
      .join(', ');
    lines.push(
      `${formatDuration(st - t0).padStart(10)} ${formatDuration(en - st).padStart(10)} ${(pathNs > 0 ? formatDuration(pathNs) : '').padStart(9)}  |${cells.join('')}| ${'  '.repeat(depth)}${s.resource.service} ${s.name}${notes ? `  [${notes}]` : ''}`,
    );
  }
  lines.push('');
  lines.push('critical path, in time order:');
  for (const sec of a.path) {
    const s = trace.spans[sec.span];
    lines.push(`  ${formatDuration(sec.start - t0).padStart(10)}  +${formatDuration(sec.end - sec.start).padEnd(10)} ${s?.resource.service ?? ''} ${s?.name ?? ''} (${s?.spanId ?? ''})${s?.status === 'error' ? ' ERROR' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Per span index: its sections on the critical path, [start, end). */
function pathBySpan(a: TraceAnalysis): Map<number, [number, number][]> {
  const onPath = new Map<number, [number, number][]>();
  for (const s of a.path) {
    let l = onPath.get(s.span);
    if (!l) onPath.set(s.span, (l = []));
    l.push([s.start, s.end]);
  }
  return onPath;
}

/** The spans in tree order through the graph (the root, then the other roots), with their depth; iteratively. */
function treeOrder(trace: Trace, a: TraceAnalysis): { i: number; depth: number }[] {
  const g = traceGraph(trace);
  const order: { i: number; depth: number }[] = [];
  const roots = [a.root, ...a.prepared.otherRoots];
  const stack: { id: string; depth: number }[] = [];
  for (let k = roots.length - 1; k >= 0; k--) {
    const r = trace.spans[roots[k] ?? -1];
    if (r) stack.push({ id: r.spanId, depth: 0 });
  }
  const seen = new Set<string>();
  while (stack.length > 0) {
    const top = stack.pop();
    if (!top || seen.has(top.id)) continue;
    seen.add(top.id);
    const i = g.getNodeAttribute(top.id, 'index');
    order.push({ i, depth: top.depth });
    const kids = childrenOf(g, top.id);
    for (let k = kids.length - 1; k >= 0; k--) {
      const id = kids[k];
      if (id !== undefined) stack.push({ id, depth: top.depth + 1 });
    }
  }
  return order;
}
