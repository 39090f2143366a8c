// `cpath analyze --trace ID`: one trace as a text waterfall, spans in tree order, each bar
// drawn where the span really ran (its skew-adjusted times, never clipped: async subtrees
// included), over the window all of them cover, with its critical-path parts marked. Offsets
// count from the primary root's start.
import type { TraceAnalysis } from '../../analysis/trace-analysis.js';
import { childrenOf, traceGraph } from '../model/graph.js';
import { formatDuration, formatUnixNano } from '../model/time.js';
import type { Trace } from '../model/trace-builder.js';

const WIDTH = 48;

export function renderWaterfall(trace: Trace, a: TraceAnalysis): string {
  const { ws, we, shift, eligible } = a.prepared;
  const root = a.root;
  const t0 = ws[root] ?? 0;
  const rootDuration = Math.max(1, (we[root] ?? 0) - t0);
  const rootSpan = trace.spans[root];
  // Where each span really ran: imported times plus its skew shift (ws/we are clipped).
  const realStart = (i: number): number => (trace.start[i] ?? 0) + (shift[i] ?? 0);
  const realEnd = (i: number): number => (trace.end[i] ?? 0) + (shift[i] ?? 0);
  // Per span: its sections on the critical path.
  const onPath = new Map<number, [number, number][]>();
  for (const s of a.path) {
    let l = onPath.get(s.span);
    if (!l) onPath.set(s.span, (l = []));
    l.push([s.start, s.end]);
  }
  const lines: string[] = [];
  lines.push(`trace ${trace.traceId}  ${rootSpan?.resource.service ?? ''} ${rootSpan?.name ?? ''}  ${formatDuration(rootDuration)}  ${trace.spans.length} spans  start ${formatUnixNano(trace.baseNs + BigInt(t0))}`);
  lines.push(`legend: █ on the critical path, ─ elsewhere in the span, ░ off the path (async / other root)`);

  // Tree order through the graph, iteratively.
  const g = traceGraph(trace);
  const order: { i: number; depth: number }[] = [];
  const roots = [root, ...a.prepared.otherRoots];
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

  // The window every drawn span covers: the root's, or more when async work ran past it.
  let from = t0;
  let to = t0 + rootDuration;
  for (const { i } of order) {
    from = Math.min(from, realStart(i));
    to = Math.max(to, realEnd(i));
  }
  const width = Math.max(1, to - from);
  const col = (t: number): number => Math.min(WIDTH - 1, Math.max(0, Math.floor(((t - from) / width) * WIDTH)));
  if (from < t0 || to > t0 + rootDuration) lines.push(`bars cover ${formatDuration(from - t0)} to ${formatDuration(to - t0)} from the root's start (spans outside the root's window)`);
  lines.push(`${'offset'.padStart(10)} ${'duration'.padStart(10)} ${'path'.padStart(9)}  ${'|'.padEnd(WIDTH + 1)}| span`);
  for (const { i, depth } of order) {
    const s = trace.spans[i];
    if (!s) continue;
    const st = realStart(i);
    const en = realEnd(i);
    const cells: string[] = new Array<string>(WIDTH).fill(' ');
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
