// A flame graph (icicle, root on top) of critical-path time by call path, with a differential
// view: frame width is the outliers' path time per trace, colour how much more (red) or less
// (blue) that is than in the other traces. Click a frame to zoom into it.
import { h, fill } from './dom.js';
import { dur, pct } from './format.js';
import type { PageFlame } from '../report/page-types.js';

type Mode = 'all' | 'outliers' | 'others' | 'diff';
const ROW = 18;

interface Tree {
  readonly children: number[][];
  readonly depth: Int32Array;
  /** Totals (self + descendants) per trace of each group. */
  readonly outMean: Float64Array;
  readonly othMean: Float64Array;
  readonly allTotal: Float64Array;
}

function buildTree(f: PageFlame): Tree {
  const n = f.name.length;
  const children: number[][] = Array.from({ length: n }, () => []);
  const depth = new Int32Array(n);
  const outTot = Float64Array.from(f.outlierSelfNs);
  const othTot = Float64Array.from(f.otherSelfNs);
  // Parents precede children: one backward pass sums subtrees without recursion.
  for (let i = n - 1; i > 0; i--) {
    const p = f.parent[i] ?? 0;
    outTot[p] = (outTot[p] ?? 0) + (outTot[i] ?? 0);
    othTot[p] = (othTot[p] ?? 0) + (othTot[i] ?? 0);
  }
  for (let i = 1; i < n; i++) {
    const p = f.parent[i] ?? 0;
    depth[i] = (depth[p] ?? 0) + 1;
    children[p]?.push(i);
  }
  for (const c of children) c.sort((a, b) => ((f.name[a] ?? '') < (f.name[b] ?? '') ? -1 : 1));
  const outMean = outTot.map((v) => (f.outlierTraces > 0 ? v / f.outlierTraces : 0));
  const othMean = othTot.map((v) => (f.otherTraces > 0 ? v / f.otherTraces : 0));
  const allTotal = outTot.map((v, i) => v + (othTot[i] ?? 0));
  return { children, depth, outMean, othMean, allTotal };
}

export function renderFlame(f: PageFlame): HTMLElement {
  const tree = buildTree(f);
  let mode: Mode = f.outlierTraces > 0 && f.otherTraces > 0 ? 'diff' : 'all';
  let zoom = 0;
  const [a, b] = f.groups ?? ['outliers', 'typical (non-outliers)'];
  const canvas = h('div', { class: 'flame' });
  const info = h('div', { class: 'flame-info' });
  const value = (i: number): number => (mode === 'outliers' || mode === 'diff' ? (tree.outMean[i] ?? 0) : mode === 'others' ? (tree.othMean[i] ?? 0) : (tree.allTotal[i] ?? 0));
  const describe = (i: number): string => {
    const name = f.name[i] || 'all';
    const o = tree.outMean[i] ?? 0;
    const t = tree.othMean[i] ?? 0;
    const root = value(0) || 1;
    if (mode === 'all') return `${name}: ${dur(tree.allTotal[i] ?? 0)} of critical-path time in all traces (${pct((tree.allTotal[i] ?? 0) / root)})`;
    return `${name}: ${dur(o)} per trace in the ${a} vs ${dur(t)} in the ${b} (${o >= t ? '+' : ''}${dur(o - t)})`;
  };

  const draw = (): void => {
    const rootV = value(zoom);
    const rows: HTMLElement[] = [];
    // Ancestors of the zoomed frame span the full width, so the way back is visible.
    const chain: number[] = [];
    for (let a = f.parent[zoom] ?? -1; a >= 0; a = f.parent[a] ?? -1) chain.unshift(a);
    let maxDiff = 0;
    if (mode === 'diff') for (let i = 0; i < f.name.length; i++) maxDiff = Math.max(maxDiff, Math.abs((tree.outMean[i] ?? 0) - (tree.othMean[i] ?? 0)));
    const frame = (i: number, x: number, w: number, depth: number): void => {
      const o = tree.outMean[i] ?? 0;
      const t = tree.othMean[i] ?? 0;
      const colour = mode === 'diff' ? diffColour(o - t, maxDiff) : warmColour(f.name[i] ?? '');
      rows.push(
        h(
          'div',
          {
            class: 'frame',
            style: `left:${x * 100}%;width:${w * 100}%;top:${depth * ROW}px;background:${colour}`,
            title: describe(i),
            'data-frame': f.name[i] ?? '',
            onclick: () => {
              zoom = i;
              draw();
            },
            onmouseenter: () => fill(info, describe(i)),
          },
          w * 800 > 30 ? f.name[i] || 'all' : '',
        ),
      );
    };
    chain.forEach((a, k) => frame(a, 0, 1, k));
    const base = chain.length;
    // Explicit stack: call paths can be thousands deep.
    const stack: { i: number; x: number; depth: number }[] = [{ i: zoom, x: 0, depth: base }];
    let maxDepth = base;
    while (stack.length > 0) {
      const top = stack.pop();
      if (!top) break;
      const w = rootV > 0 ? value(top.i) / rootV : 0;
      if (w <= 0.0005) continue;
      frame(top.i, top.x, w, top.depth);
      maxDepth = Math.max(maxDepth, top.depth);
      let x = top.x;
      for (const c of tree.children[top.i] ?? []) {
        stack.push({ i: c, x, depth: top.depth + 1 });
        x += rootV > 0 ? value(c) / rootV : 0;
      }
    }
    canvas.style.height = `${(maxDepth + 1) * ROW}px`;
    canvas.replaceChildren(...rows);
    fill(info, describe(zoom));
  };

  const modes: [Mode, string][] = [
    ['diff', `${a} vs ${b}`],
    ['all', 'both'],
    ['outliers', a],
    ['others', b],
  ];
  const buttons = h(
    'div',
    { class: 'flame-modes' },
    ...modes.map(([m, label]) =>
      h('label', {}, h('input', { type: 'radio', name: `flame-${Math.random().toString(36).slice(2)}`, value: m, checked: m === mode, onchange: () => { mode = m; draw(); } }), ` ${label} `),
    ),
    h('button', { type: 'button', onclick: () => { zoom = 0; draw(); } }, 'reset zoom'),
  );
  const legend = h(
    'div',
    { class: 'flame-legend' },
    f.groups
      ? `Widths: mean critical-path time per trace (${a} in the differential view); red frames took longer in the ${a} than in the ${b}, blue ones less.`
      : `Widths: critical-path time per trace (outlier traces: ${f.outlierTraces}, others: ${f.otherTraces}); in the differential view red frames took longer in outliers than in typical traces, blue ones less.`,
  );
  draw();
  return h('div', { class: 'flame-box' }, buttons, legend, canvas, info);
}

function diffColour(delta: number, maxAbs: number): string {
  if (maxAbs <= 0) return 'rgb(235,235,235)';
  const r = Math.min(1, Math.abs(delta) / maxAbs);
  const fade = Math.round(235 - 175 * r);
  return delta >= 0 ? `rgb(235,${fade},${fade})` : `rgb(${fade},${fade},235)`;
}

/** Flame-graph warm colours, stable per name. */
function warmColour(name: string): string {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) | 0;
  const v = (hash >>> 0) % 1000 / 1000;
  return `rgb(${205 + Math.round(50 * v)},${Math.round(80 + 150 * v)},${Math.round(55 * v)})`;
}
