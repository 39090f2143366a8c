// One trace: spans in tree order as bars where they really ran (skew-adjusted, never clipped;
// the axis widens past the root's window for async work that ran later), the critical-path
// sections highlighted inside them, "previous / next path section" to walk the path, and with
// thread data, lanes of thread states with wakeup arrows under the spans.
import { h, s, fill } from './dom.js';
import { clock, dur } from './format.js';
import type { ReportSection, ReportSpan, ReportThreadLane, ReportTraceDetail } from '../report/types.js';

export function renderWaterfall(t: ReportTraceDetail): HTMLElement {
  const axis = axisOf(t);
  const byId = new Map<string, ReportSpan>();
  for (const sp of t.spans) byId.set(sp.spanId, sp);
  const pathBySpan = new Map<string, number[]>();
  t.criticalPath.forEach((sec, k) => {
    if (sec.spanId === undefined) return;
    let l = pathBySpan.get(sec.spanId);
    if (!l) pathBySpan.set(sec.spanId, (l = []));
    l.push(k);
  });
  const sectionEls: HTMLElement[] = [];
  const sectionEl = (sec: ReportSection, k: number): HTMLElement => {
    const off = axis.at(sec.startUnixNano);
    const el = h('div', {
      class: `path-section${sec.error ? ' error' : ''}`,
      style: `left:${axis.pos(off)};width:${axis.width(sec.durationNs, off)}`,
      'data-index': k,
      'data-span-id': sec.spanId,
      'data-start-unix-nano': sec.startUnixNano,
      'data-duration-ns': sec.durationNs,
      title: sectionText(sec, off),
    });
    sectionEls[k] = el;
    return el;
  };

  const rows = spanTreeOrder(t.spans, byId).map(({ sp, depth }) => spanRow(t, sp, depth, pathBySpan.get(sp.spanId) ?? [], axis, sectionEl));
  // Sections with no span row (thread-only traces, or spans not in the detail) get a path row.
  const loose = t.criticalPath.map((sec, k) => ({ sec, k })).filter(({ sec }) => sec.spanId === undefined || !byId.has(sec.spanId));
  if (loose.length > 0) {
    rows.unshift(h('div', { class: 'span-row on-path' }, h('div', { class: 'span-label' }, 'critical path'), h('div', { class: 'span-track' }, ...loose.map(({ sec, k }) => sectionEl(sec, k))), h('div', { class: 'span-dur' }, dur(t.durationNs))));
  }
  const lanes = t.threads && t.threads.length > 0 ? renderLanes(t.threads, (u) => axis.at(u) + axis.lead, axis.total) : undefined;
  const { nav, go, current } = pathNav(t, sectionEls, axis);
  return h(
    'div',
    { class: 'waterfall', tabindex: 0, onkeydown: (e: Event) => {
      const k = (e as KeyboardEvent).key;
      if (k === ']') go(current() + 1);
      if (k === '[') go(current() - 1);
    } },
    h('div', { class: 'trace-head' }, h('b', {}, `${t.service} ${t.operation}`), `  ${dur(t.durationNs)}  ·  ${t.spans.length} spans  ·  ${t.errors} errors  ·  started ${clock(t.startUnixNano)} UTC  ·  trace ${t.traceId}`),
    nav,
    h('div', { class: 'legend' }, h('span', { class: 'swatch bar' }), ' span  ', h('span', { class: 'swatch path' }), ' on the critical path  ', h('span', { class: 'swatch current' }), ' current section'),
    h('div', { class: 'rows' }, ...rows),
    lanes,
  );
}

/** The time axis: the root's window, widened to every span's real (shifted) times; positions in % of it. */
interface Axis {
  /** Offset from the root's start, ns (what titles show). */
  at(unixNano: string, shift?: number): number;
  /** How far the axis starts before the root, ns. */
  readonly lead: number;
  readonly total: number;
  pos(offset: number): string;
  width(durationNs: number, offset: number): string;
}

function axisOf(t: ReportTraceDetail): Axis {
  const t0 = BigInt(t.startUnixNano);
  const at = (unixNano: string, shift = 0): number => Number(BigInt(unixNano) - t0) + shift;
  let lead = 0;
  let tail = t.durationNs;
  for (const sp of t.spans) {
    const off = at(sp.startUnixNano, sp.shiftNs ?? 0);
    lead = Math.max(lead, -off);
    tail = Math.max(tail, off + sp.durationNs);
  }
  const total = Math.max(1, lead + tail);
  const pct = (offset: number): number => ((offset + lead) / total) * 100;
  return {
    at,
    lead,
    total,
    pos: (offset) => `${Math.max(0, Math.min(100, pct(offset)))}%`,
    width: (d, offset) => `${Math.max(0.15, Math.min(100 - Math.max(0, pct(offset)), (d / total) * 100))}%`,
  };
}

/** Spans in tree order (children by real start), with their depth; iteratively, since traces can be deep. */
function spanTreeOrder(spans: readonly ReportSpan[], byId: ReadonlyMap<string, ReportSpan>): { sp: ReportSpan; depth: number }[] {
  const kids = new Map<string, ReportSpan[]>();
  const roots: ReportSpan[] = [];
  for (const sp of spans) {
    const p = sp.parentSpanId !== undefined && byId.has(sp.parentSpanId) ? sp.parentSpanId : undefined;
    if (p === undefined) roots.push(sp);
    else {
      let l = kids.get(p);
      if (!l) kids.set(p, (l = []));
      l.push(sp);
    }
  }
  const byStart = (a: ReportSpan, b: ReportSpan): number => {
    const d = BigInt(a.startUnixNano) + BigInt(a.shiftNs ?? 0) - (BigInt(b.startUnixNano) + BigInt(b.shiftNs ?? 0));
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  };
  roots.sort(byStart);
  const out: { sp: ReportSpan; depth: number }[] = [];
  const stack: { sp: ReportSpan; depth: number }[] = roots.map((sp) => ({ sp, depth: 0 })).reverse();
  const seen = new Set<string>();
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (seen.has(top.sp.spanId)) continue;
    seen.add(top.sp.spanId);
    out.push(top);
    const ch = (kids.get(top.sp.spanId) ?? []).slice().sort(byStart);
    for (let k = ch.length - 1; k >= 0; k--) {
      const c = ch[k];
      if (c) stack.push({ sp: c, depth: top.depth + 1 });
    }
  }
  return out;
}

/** One span's row: its label (indented by depth, with error and skew notes), its bar with its path sections, its duration. */
function spanRow(t: ReportTraceDetail, sp: ReportSpan, depth: number, onPath: readonly number[], axis: Axis, sectionEl: (sec: ReportSection, k: number) => HTMLElement): HTMLElement {
  const off = axis.at(sp.startUnixNano, sp.shiftNs ?? 0);
  const pathNs = onPath.reduce((a, k) => a + (t.criticalPath[k]?.durationNs ?? 0), 0);
  const notes = [sp.status === 'error' ? 'error' : '', sp.shiftNs ? `skew ${sp.shiftNs > 0 ? '+' : ''}${dur(sp.shiftNs)}` : ''].filter((x) => x !== '').join(', ');
  return h(
    'div',
    { class: `span-row${onPath.length > 0 ? ' on-path' : ''}`, 'data-span-id': sp.spanId },
    h('div', { class: 'span-label', style: `padding-left:${Math.min(depth, 40) * 12 + 4}px`, title: spanTitle(sp) }, h('span', { class: 'svc' }, sp.service), ' ', sp.operation, notes ? h('span', { class: 'note' }, ` [${notes}]`) : undefined),
    h(
      'div',
      { class: 'span-track' },
      h('div', { class: `span-bar${sp.status === 'error' ? ' error' : ''}`, style: `left:${axis.pos(off)};width:${axis.width(sp.durationNs, off)}`, title: spanTitle(sp) }),
      ...onPath.flatMap((k) => {
        const sec = t.criticalPath[k];
        return sec ? [sectionEl(sec, k)] : [];
      }),
    ),
    h('div', { class: 'span-dur' }, dur(sp.durationNs), pathNs > 0 ? h('span', { class: 'path-ns' }, ` path ${dur(pathNs)}`) : undefined),
  );
}

/** "previous / next path section": marks the current section, scrolls to it and says what it is. */
function pathNav(t: ReportTraceDetail, sectionEls: readonly HTMLElement[], axis: Axis): { nav: HTMLElement; go: (k: number) => void; current: () => number } {
  let current = -1;
  const caption = h('div', { class: 'section-caption' }, `${t.criticalPath.length} critical-path sections; step through them with the buttons or the [ and ] keys.`);
  const go = (k: number): void => {
    if (t.criticalPath.length === 0) return;
    sectionEls[current]?.classList.remove('current');
    current = Math.max(0, Math.min(t.criticalPath.length - 1, k));
    const el = sectionEls[current];
    el?.classList.add('current');
    el?.closest('.span-row')?.scrollIntoView({ block: 'nearest' });
    const sec = t.criticalPath[current];
    if (sec) fill(caption, `section ${current + 1} of ${t.criticalPath.length}: ${sectionText(sec, axis.at(sec.startUnixNano))}`);
  };
  const nav = h(
    'div',
    { class: 'path-nav' },
    h('button', { type: 'button', class: 'prev-section', onclick: () => go(current - 1) }, '◀ previous path section'),
    h('button', { type: 'button', class: 'next-section', onclick: () => go(current + 1) }, 'next path section ▶'),
    caption,
  );
  return { nav, go, current: () => current };
}

function sectionText(sec: ReportSection, offset: number): string {
  const where = sec.thread ? `, thread ${sec.thread.comm} (${sec.thread.tid}) ${sec.state ?? ''}${sec.function ? ` in ${sec.function}` : ''}` : '';
  const wait = sec.wait ? `, waiting: ${sec.wait.reason}${sec.wait.waker ? ` (woken by ${sec.wait.waker.comm} ${sec.wait.waker.tid})` : ''}` : '';
  return `${sec.service} ${sec.operation}: +${dur(offset)}, ${dur(sec.durationNs)}${where}${wait}${sec.error ? ', error' : ''}`;
}

function spanTitle(sp: ReportSpan): string {
  const attrs = Object.entries(sp.attributes).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [`${sp.service} ${sp.operation} (${sp.kind}) ${dur(sp.durationNs)}`, `span ${sp.spanId}`, sp.status !== 'unset' ? `status ${sp.status}${sp.statusMessage ? `: ${sp.statusMessage}` : ''}` : '', ...attrs].filter((x) => x !== '').join('\n');
}

const LANE_H = 16;

/** Thread lanes: one row per thread, states as coloured segments, wakeups as arrows from the waker's lane. */
function renderLanes(lanes: readonly ReportThreadLane[], at: (u: string) => number, total: number): HTMLElement {
  const W = 1000;
  const laneIndex = new Map<number, number>();
  lanes.forEach((l, i) => laneIndex.set(l.thread.tid, i));
  const height = lanes.length * LANE_H + 4;
  const svg = s('svg', { class: 'thread-lanes', viewBox: `0 0 ${W} ${height}`, preserveAspectRatio: 'none', height });
  const defs = s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 6 6', refX: 5, refY: 3, markerWidth: 5, markerHeight: 5, orient: 'auto' }, s('path', { d: 'M0,0 L6,3 L0,6 z', fill: '#333' })));
  svg.appendChild(defs);
  const x = (off: number): number => (Math.max(0, Math.min(total, off)) / total) * W;
  lanes.forEach((l, i) => {
    for (const st of l.states) {
      const off = at(st.startUnixNano);
      svg.appendChild(s('rect', { class: `state ${st.state}`, x: x(off), y: i * LANE_H + 2, width: Math.max(0.5, x(off + st.durationNs) - x(off)), height: LANE_H - 4, 'data-state': st.state }, s('title', {}, `${l.thread.comm} (${l.thread.tid}) ${st.state} ${dur(st.durationNs)}`)));
    }
    for (const w of l.wakeups) {
      const wx = x(at(w.atUnixNano));
      const from = w.waker ? laneIndex.get(w.waker.tid) : undefined;
      const y1 = from !== undefined ? from * LANE_H + LANE_H / 2 : i * LANE_H;
      svg.appendChild(s('line', { class: `wakeup ${w.reason}`, x1: wx, y1, x2: wx, y2: i * LANE_H + LANE_H / 2, stroke: '#333', 'stroke-width': 1, 'marker-end': 'url(#arrow)', 'vector-effect': 'non-scaling-stroke' }, s('title', {}, `wakeup (${w.reason})${w.waker ? ` by ${w.waker.comm} ${w.waker.tid}` : ''}`)));
    }
  });
  const labels = h('div', { class: 'lane-labels' }, ...lanes.map((l) => h('div', { class: 'lane-label', style: `height:${LANE_H}px` }, `${l.thread.comm} ${l.thread.tid}`)));
  const legend = h('div', { class: 'legend' }, 'threads: ', ...['running', 'runnable', 'sleeping', 'blocked'].map((st) => h('span', {}, h('span', { class: `swatch ${st}` }), ` ${st}  `)), '↓ wakeup (from the waker’s lane)');
  return h('div', { class: 'lanes-box' }, h('div', { class: 'lanes-title' }, 'Threads on the critical path'), legend, h('div', { class: 'lanes' }, labels, h('div', { class: 'lane-area' }, svg)));
}
