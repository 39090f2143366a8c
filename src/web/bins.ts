// Heat-map binning (Gregg's latency heat maps): columns of trace start time, rows of latency,
// integer-ns bounds so that "the traces in these cells" is an exact question. Pure, no DOM.

export interface HeatGrid {
  /** Start offset (ns, from the summaries' base) of column 0. */
  readonly t0: number;
  /** Column width, ns. */
  readonly colNs: number;
  readonly cols: number;
  /** Row height, ns: row r holds latencies in [r·rowNs, (r+1)·rowNs). */
  readonly rowNs: number;
  readonly rows: number;
  /** Count per cell, row-major: counts[r * cols + c]. */
  readonly counts: Uint32Array;
  /** Largest cell count (colour scale). */
  readonly maxCount: number;
  /** Traces above the top row (clipped view). */
  readonly above: number;
}

/** Column widths people can read off an axis, ns. */
const NICE_STEPS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500].flatMap((m) => [m * 1e6]).concat(
  [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1e9),
);

/** Aim for about this many traces per column, so that cells hold several each (not a scatter plot). */
const TRACES_PER_COLUMN = 20;
const MAX_COLS = 120;

export function columnWidth(rangeNs: number, traces: number): number {
  const target = Math.min(MAX_COLS, Math.max(1, Math.round(traces / TRACES_PER_COLUMN)));
  const want = rangeNs / target;
  for (const s of NICE_STEPS) if (s >= want) return s;
  return Math.ceil(want / 86400e9) * 86400e9;
}

/**
 * Bins the member traces. `topNs` clips the view (traces above it are counted in `above`);
 * by default the rows reach the slowest trace, so the full range is drawn.
 */
export function heatGrid(start: readonly number[], duration: readonly number[], members: readonly number[], maxRows = 40, topNs?: number): HeatGrid {
  let lo = Infinity;
  let hi = -Infinity;
  let maxDur = 0;
  for (const i of members) {
    const t = start[i] ?? 0;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
    const d = duration[i] ?? 0;
    if (d > maxDur) maxDur = d;
  }
  if (members.length === 0) lo = hi = 0;
  const colNs = columnWidth(hi - lo, members.length);
  // Columns start on a multiple of their width from the base: stable as live data grows.
  const t0 = Math.floor(lo / colNs) * colNs;
  const cols = Math.max(1, Math.floor((hi - t0) / colNs) + 1);
  const top = topNs !== undefined ? Math.min(topNs, maxDur) : maxDur;
  // Rows of a 1-2-5 height, so the axis reads 0, 50 ms, 100 ms...; at most `maxRows` of them.
  const rowNs = niceCeil((top + 1) / maxRows);
  const rows = Math.max(1, Math.ceil((top + 1) / rowNs));
  const counts = new Uint32Array(rows * cols);
  let above = 0;
  let maxCount = 0;
  for (const i of members) {
    const c = Math.floor(((start[i] ?? 0) - t0) / colNs);
    const r = Math.floor((duration[i] ?? 0) / rowNs);
    if (r >= rows) {
      above++;
      continue;
    }
    const k = r * cols + c;
    const v = (counts[k] ?? 0) + 1;
    counts[k] = v;
    if (v > maxCount) maxCount = v;
  }
  return { t0, colNs, cols, rowNs, rows, counts, maxCount, above };
}

/** The member traces in columns c0..c1 and rows r0..r1 (inclusive): exactly those the cells counted. */
export function tracesInCells(g: HeatGrid, start: readonly number[], duration: readonly number[], members: readonly number[], c0: number, c1: number, r0: number, r1: number): number[] {
  const tLo = g.t0 + Math.min(c0, c1) * g.colNs;
  const tHi = g.t0 + (Math.max(c0, c1) + 1) * g.colNs;
  const lLo = Math.min(r0, r1) * g.rowNs;
  const lHi = (Math.max(r0, r1) + 1) * g.rowNs;
  const out: number[] = [];
  for (const i of members) {
    const t = start[i] ?? 0;
    const d = duration[i] ?? 0;
    if (t >= tLo && t < tHi && d >= lLo && d < lHi) out.push(i);
  }
  return out;
}

/** The smallest 1, 2 or 5 times a power of ten (integer ns) at or above x. */
export function niceCeil(x: number): number {
  if (x <= 1) return 1;
  let p = 10 ** Math.floor(Math.log10(x));
  for (;;) {
    for (const m of [1, 2, 5]) if (m * p >= x) return m * p;
    p *= 10;
  }
}

/** Gregg's heat-map colour: white when empty, then cream to red with the count. */
export function cellColour(count: number, maxCount: number): string {
  if (count === 0 || maxCount === 0) return 'rgb(255,255,255)';
  const r = count / maxCount;
  return `rgb(255,${Math.round(240 - 240 * r)},${Math.round(220 - 220 * r)})`;
}
