// One endpoint's latency heat map as SVG: a rect per non-empty cell (with its exact bounds in
// data attributes), hover readout, and drag-a-rectangle to list the traces in those cells.
import { cellColour, heatGrid, tracesInCells, type HeatGrid } from './bins.js';
import { h, s, fill } from './dom.js';
import { clock, dur, pct } from './format.js';
import type { PageTraceSummaries } from '../report/page-types.js';

const CELL_H = 8;
const LEFT = 64;
const TOP = 8;
const BOTTOM = 30;
/** Few columns get wide cells, many get narrow ones: the map stays about this wide. */
const PLOT_W = 560;

export interface HeatmapOptions {
  readonly summaries: PageTraceSummaries;
  readonly members: readonly number[];
  /** Clip the rows at this latency (the clipped view); undefined draws the full range. */
  readonly topNs?: number;
  /** Called with the summary indexes of the traces in the selected cells. */
  readonly onSelect: (traces: number[], caption: string) => void;
}

export function renderHeatmap(o: HeatmapOptions): HTMLElement {
  const { summaries } = o;
  const g = heatGrid(summaries.startOffsetNs, summaries.durationNs, o.members, 40, o.topNs);
  const cellW = Math.max(4, Math.min(40, Math.floor(PLOT_W / g.cols)));
  const width = LEFT + g.cols * cellW + 8;
  const height = TOP + g.rows * CELL_H + BOTTOM;
  const svg = s('svg', {
    class: 'heatmap',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    'data-cols': g.cols,
    'data-rows': g.rows,
    'data-col-ns': g.colNs,
    'data-row-ns': g.rowNs,
    'data-t0': g.t0,
    'data-above': g.above,
  });
  svg.appendChild(s('rect', { x: LEFT, y: TOP, width: g.cols * cellW, height: g.rows * CELL_H, fill: 'rgb(255,255,255)', stroke: '#ccc' }));
  const colTotals = new Uint32Array(g.cols);
  for (let r = 0; r < g.rows; r++) for (let c = 0; c < g.cols; c++) colTotals[c] = (colTotals[c] ?? 0) + (g.counts[r * g.cols + c] ?? 0);
  for (let c = 0; c < g.cols; c++) {
    let below = 0;
    for (let r = 0; r < g.rows; r++) {
      const n = g.counts[r * g.cols + c] ?? 0;
      below += n;
      if (n === 0) continue;
      const total = colTotals[c] ?? 1;
      const rect = s('rect', {
        class: 'cell',
        x: LEFT + c * cellW,
        y: TOP + (g.rows - 1 - r) * CELL_H,
        width: cellW,
        height: CELL_H,
        fill: cellColour(n, g.maxCount),
        'data-col': c,
        'data-row': r,
        'data-count': n,
        'data-t0': g.t0 + c * g.colNs,
        'data-t1': g.t0 + (c + 1) * g.colNs,
        'data-l0': r * g.rowNs,
        'data-l1': (r + 1) * g.rowNs,
      });
      rect.appendChild(s('title', {}, `${n} traces, ${dur(r * g.rowNs)} to ${dur((r + 1) * g.rowNs)}: ${pct(n / total)} of the column, ${pct(below / total)} cumulative from the bottom`));
      svg.appendChild(rect);
    }
  }
  drawAxes(svg, g, summaries.baseUnixNano, cellW);
  const band = s('rect', { class: 'selection-band', x: 0, y: 0, width: 0, height: 0, fill: 'rgba(30,90,200,0.15)', stroke: 'rgb(30,90,200)', visibility: 'hidden' });
  svg.appendChild(band);

  const readout = h('div', { class: 'heat-readout' }, 'Hover a cell for its count; drag across cells to list their traces.');
  const cellAt = (ev: MouseEvent): { c: number; r: number } | undefined => {
    const box = svg.getBoundingClientRect();
    const x = ((ev.clientX - box.left) * width) / box.width - LEFT;
    const y = ((ev.clientY - box.top) * height) / box.height - TOP;
    if (x < 0 || y < 0) return undefined;
    const c = Math.floor(x / cellW);
    const r = g.rows - 1 - Math.floor(y / CELL_H);
    if (c >= g.cols || r < 0) return undefined;
    return { c, r };
  };
  let anchor: { c: number; r: number } | undefined;
  const showBand = (a: { c: number; r: number }, b: { c: number; r: number }): void => {
    const c0 = Math.min(a.c, b.c);
    const r1 = Math.max(a.r, b.r);
    band.setAttribute('x', String(LEFT + c0 * cellW));
    band.setAttribute('y', String(TOP + (g.rows - 1 - r1) * CELL_H));
    band.setAttribute('width', String((Math.abs(a.c - b.c) + 1) * cellW));
    band.setAttribute('height', String((Math.abs(a.r - b.r) + 1) * CELL_H));
    band.setAttribute('visibility', 'visible');
  };
  svg.addEventListener('mousedown', (ev) => {
    const at = cellAt(ev);
    if (!at) return;
    ev.preventDefault();
    anchor = at;
    showBand(at, at);
  });
  svg.addEventListener('mousemove', (ev) => {
    const at = cellAt(ev);
    if (anchor && at) showBand(anchor, at);
    if (at) fill(readout, describeCell(g, colTotals, at.c, at.r));
  });
  const finish = (ev: MouseEvent): void => {
    if (!anchor) return;
    const at = cellAt(ev) ?? anchor;
    const a = anchor;
    anchor = undefined;
    const picked = tracesInCells(g, summaries.startOffsetNs, summaries.durationNs, o.members, a.c, at.c, a.r, at.r);
    const lo = Math.min(a.r, at.r) * g.rowNs;
    const hi = (Math.max(a.r, at.r) + 1) * g.rowNs;
    const base = BigInt(summaries.baseUnixNano);
    const from = clock(base + BigInt(g.t0 + Math.min(a.c, at.c) * g.colNs));
    const to = clock(base + BigInt(g.t0 + (Math.max(a.c, at.c) + 1) * g.colNs));
    o.onSelect(picked, `${picked.length} traces started ${from} to ${to} with latency ${dur(lo)} to ${dur(hi)}`);
  };
  svg.addEventListener('mouseup', finish);
  svg.addEventListener('mouseleave', (ev) => {
    if (anchor) finish(ev);
  });

  const note = g.above > 0 ? h('div', { class: 'heat-note' }, `${g.above} slower traces are above this clipped view.`) : undefined;
  return h('div', { class: 'heatmap-box' }, svg, readout, note);
}

function describeCell(g: HeatGrid, colTotals: Uint32Array, c: number, r: number): string {
  const n = g.counts[r * g.cols + c] ?? 0;
  const total = colTotals[c] ?? 0;
  let below = 0;
  for (let k = 0; k <= r; k++) below += g.counts[k * g.cols + c] ?? 0;
  const range = `${dur(r * g.rowNs)} to ${dur((r + 1) * g.rowNs)}`;
  if (total === 0) return `${range}: no traces in this column`;
  return `${range}: ${n} traces, ${pct(n / total)} of the column, ${pct(below / total)} cumulative from the bottom`;
}

function drawAxes(svg: SVGSVGElement, g: HeatGrid, baseUnixNano: string, cellW: number): void {
  const base = BigInt(baseUnixNano);
  const yTicks = 5;
  for (let k = 0; k <= yTicks; k++) {
    const r = Math.round((k * g.rows) / yTicks);
    const y = TOP + (g.rows - r) * CELL_H;
    svg.appendChild(s('text', { x: LEFT - 4, y: y + 3, 'text-anchor': 'end', class: 'axis' }, dur(r * g.rowNs)));
  }
  const xTicks = Math.max(1, Math.min(g.cols, Math.floor((g.cols * cellW) / 90)));
  for (let k = 0; k < xTicks; k++) {
    const c = Math.round((k * (g.cols - 1)) / Math.max(1, xTicks - 1));
    const label = clock(base + BigInt(g.t0 + c * g.colNs)).slice(11, 19);
    svg.appendChild(s('text', { x: LEFT + c * cellW + cellW / 2, y: TOP + g.rows * CELL_H + 14, 'text-anchor': 'middle', class: 'axis' }, label));
  }
  svg.appendChild(s('text', { x: LEFT, y: TOP + g.rows * CELL_H + 27, class: 'axis' }, `trace start, ${dur(g.colNs)} columns (UTC)`));
}
