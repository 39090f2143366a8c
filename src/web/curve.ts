// The percentile curve of an endpoint's HDR histogram (uPlot): x is the number of nines, so
// p50, p90, p99 and p99.9 sit evenly and the tail is readable; y is latency in ms.
import uPlot from 'uplot';
import { h } from './dom.js';
import { dur } from './format.js';
import type { PageCurve } from '../report/page-types.js';

const nines = (p: number): number => -Math.log10(1 - p / 100);

/** Charts on the page: uPlot listens on the window, so a redraw must destroy the old ones. */
const live = new Set<uPlot>();

export function destroyCurves(): void {
  for (const u of live) u.destroy();
  live.clear();
}

export function renderCurve(c: PageCurve, maxNs: number): HTMLElement {
  const xs: number[] = [];
  const ys: number[] = [];
  c.percentile.forEach((p, i) => {
    if (p >= 100) return; // infinitely many nines: the max is given in the caption
    xs.push(nines(p));
    ys.push((c.valueNs[i] ?? 0) / 1e6);
  });
  const box = h('div', { class: 'curve' });
  const caption = h('div', { class: 'curve-caption' }, `Latency by percentile (HDR histogram, 3 significant digits); max ${dur(maxNs)}.`);
  const label = (x: number): string => {
    const p = 100 - 100 / 10 ** x;
    return `p${Number(p.toFixed(4))}`;
  };
  const opts: uPlot.Options = {
    width: 440,
    height: 220,
    scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] } },
    axes: [
      { values: (_u, splits) => splits.map(label), splits: () => [0, 1, 2, 3, 4, 5].filter((n) => n <= (xs[xs.length - 1] ?? 0) + 1e-9) },
      { label: 'ms', size: 56 },
    ],
    series: [{ label: 'percentile', value: (_u, v) => (v == null ? '' : label(v)) }, { label: 'latency', stroke: 'rgb(200,60,40)', width: 2, value: (_u, v) => (v == null ? '' : dur(Math.round(v * 1e6))) }],
    legend: { show: true },
  };
  // uPlot measures its container: build once the box is in the document.
  requestAnimationFrame(() => {
    if (xs.length > 0 && box.isConnected) live.add(new uPlot(opts, [xs, ys], box));
  });
  return h('div', { class: 'curve-box' }, box, caption);
}
