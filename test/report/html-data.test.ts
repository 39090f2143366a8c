// The data behind the HTML report, without a browser: heat-map binning (hand-checked and as a
// property), the flame trees, percentile curves, the embedded JSON's escaping, and what
// `--format html` embeds.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { cellColour, columnWidth, heatGrid, tracesInCells } from '../../src/web/bins.js';
import { FlameBuilder, percentileCurve, summaryColumns } from '../../src/report/page-data.js';
import { scriptJson } from '../../src/report/html.js';
import { HtmlReportBuilder } from '../../src/report/html-report.js';
import { analyzeFiles } from '../../src/pipeline/analyze.js';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('heat-map bins', () => {
  it('puts each trace in the cell of its start column and latency row (hand-checked)', () => {
    // 40 traces over 2 s: 2 columns of 1 s (40 / 20 per column), rows of 100 ms up to 399 ms.
    //
    //   Rows: 399 ms / 4 rounds up to 100 ms (1-2-5 steps).
    //   latency  col 0 (0-1 s)   col 1 (1-2 s)
    //   300-399  .               #  (1: t=1.5 s, 399 ms)
    //   200-299  .               .
    //   100-199  ##########      .  (10: t=0.1..0.9 s, 150 ms; one at exactly 100 ms)
    //     0- 99  #########       ####################  (9 / 20)
    const start: number[] = [];
    const dur: number[] = [];
    const add = (t: number, d: number): void => {
      start.push(t);
      dur.push(d);
    };
    for (let k = 0; k < 9; k++) add(k * 1e8, 150e6);
    add(0.95e9, 100e6); // exactly on the 100 ms boundary: row 1
    for (let k = 0; k < 9; k++) add(k * 1e8 + 5e7, 99_999_999); // just below: row 0
    for (let k = 0; k < 20; k++) add(1e9 + k * 2e7, 10e6);
    add(1.5e9, 399e6);
    const members = start.map((_, i) => i);
    const g = heatGrid(start, dur, members, 4);
    expect({ t0: g.t0, colNs: g.colNs, cols: g.cols, rowNs: g.rowNs, rows: g.rows, above: g.above }).toEqual({ t0: 0, colNs: 1e9, cols: 2, rowNs: 100e6, rows: 4, above: 0 });
    // Row-major, row 0 first.
    expect([...g.counts]).toEqual([9, 20, 10, 0, 0, 0, 0, 1]);
    expect(g.maxCount).toBe(20);
    expect(tracesInCells(g, start, dur, members, 0, 0, 1, 1)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(tracesInCells(g, start, dur, members, 1, 0, 3, 2)).toEqual([2 * 0 + 39]);
    // The clipped view: rows up to 150 ms; the 399 ms trace is above it.
    const clipped = heatGrid(start, dur, members, 4, 150e6);
    expect(clipped.above).toBe(1);
    expect([clipped.rowNs, clipped.rows]).toEqual([50e6, 4]);
    // 50 ms rows: 10 ms -> row 0; 99.999999 ms -> row 1; 100 ms -> row 2; 150 ms -> row 3.
    expect([...clipped.counts]).toEqual([0, 20, 9, 0, 1, 0, 9, 0]);
  });

  it('Gregg colours: white when empty, cream to red', () => {
    expect(cellColour(0, 10)).toBe('rgb(255,255,255)');
    expect(cellColour(10, 10)).toBe('rgb(255,0,0)');
    expect(cellColour(1, 10)).toBe('rgb(255,216,198)');
  });

  it('column widths are readable steps holding ~20 traces each', () => {
    expect(columnWidth(60e9, 1200)).toBe(1e9); // 60 columns of 1 s
    expect(columnWidth(60e9, 100)).toBe(15e9); // 5 columns
    expect(columnWidth(3600e9, 1e6)).toBe(30e9); // at most 120 columns
    expect(columnWidth(0, 1)).toBe(1e6);
  });

  it('every trace is in exactly one cell (or above), and the cells list exactly their traces', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ t: fc.integer({ min: 0, max: 3_600_000_000_000 }), d: fc.integer({ min: 0, max: 5_000_000_000 }) }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 50 }),
        fc.option(fc.integer({ min: 0, max: 5_000_000_000 }), { nil: undefined }),
        (traces, rows, top) => {
          const start = traces.map((x) => x.t);
          const dur = traces.map((x) => x.d);
          const members = traces.map((_, i) => i);
          const g = heatGrid(start, dur, members, rows, top);
          const sum = g.counts.reduce((a, b) => a + b, 0);
          expect(sum + g.above).toBe(traces.length);
          const all = tracesInCells(g, start, dur, members, 0, g.cols - 1, 0, g.rows - 1);
          expect(all.length).toBe(sum);
          for (let r = 0; r < g.rows; r++) {
            for (let c = 0; c < g.cols; c++) expect(tracesInCells(g, start, dur, members, c, c, r, r).length).toBe(g.counts[r * g.cols + c]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('page data', () => {
  it('summaries are columns with exact offsets from the earliest start', () => {
    const s = summaryColumns(
      [
        { traceId: 'b', service: 's', operation: 'y', startNs: 1_700_000_000_123_456_789n, durationNs: 5 },
        { traceId: 'a', service: 's', operation: 'x', startNs: 1_700_000_000_000_000_001n, durationNs: 7 },
      ],
      [{ service: 's', operation: 'x' }],
    );
    expect(s).toEqual({
      baseUnixNano: '1700000000000000001',
      endpoints: [
        { service: 's', operation: 'x' },
        { service: 's', operation: 'y' },
      ],
      traceId: ['b', 'a'],
      endpoint: [1, 0],
      startOffsetNs: [123_456_788, 0],
      durationNs: [5, 7],
    });
  });

  it('the percentile curve rises to the max and matches the histogram', () => {
    const h = hdr.build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, useWebAssembly: false });
    for (let v = 1; v <= 1000; v++) h.recordValue(v * 1000);
    const curve = percentileCurve(hdr.encodeIntoCompressedBase64(h));
    h.destroy();
    expect(curve.percentile[0]).toBe(0);
    expect(curve.percentile.at(-1)).toBe(100);
    expect(curve.valueNs.at(-1)).toBeGreaterThanOrEqual(1_000_000);
    expect(curve.valueNs.at(-1)).toBeLessThan(1_001_000);
    const p50 = curve.valueNs[curve.percentile.indexOf(50)] ?? 0;
    expect(Math.abs(p50 - 500_000)).toBeLessThanOrEqual(500);
    for (let i = 1; i < curve.valueNs.length; i++) expect(curve.valueNs[i]).toBeGreaterThanOrEqual(curve.valueNs[i - 1] ?? 0);
    // 1000 values: nothing finer than p99.95 is drawn.
    expect(curve.percentile.filter((p) => p > 99.95 && p < 100)).toEqual([]);
  });

  it('flame trees sum path time per call path, outliers apart', () => {
    //   root A ─┬─ B (path 30)     outlier trace:  A self 10, A;B 30, A;C 5
    //           └─ C (path 5)      other trace:    A self 20, A;C 7
    const f = new FlameBuilder();
    f.add([{ frames: ['A'], ns: 10 }, { frames: ['A', 'B'], ns: 30 }, { frames: ['A', 'C'], ns: 5 }], true);
    f.add([{ frames: ['A'], ns: 20 }, { frames: ['A', 'C'], ns: 7 }], false);
    expect(f.result()).toEqual({ name: ['', 'A', 'B', 'C'], parent: [-1, 0, 1, 1], outlierSelfNs: [0, 10, 30, 5], otherSelfNs: [0, 20, 0, 7], outlierTraces: 1, otherTraces: 1 });
  });

  it('embedded JSON cannot end its script element and parses back exactly', () => {
    const evil = { name: '</script><img src=x onerror=alert(1)>', amp: 'a & b', sep: '\u2028\u2029', quote: '"\'' };
    const text = scriptJson(evil);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(evil);
  });
});

describe('--format html embeds', () => {
  it('every trace summary, outliers, typical traces and N more in full, flames summing to the path time', async () => {
    const html = new HtmlReportBuilder();
    const { report, details } = await analyzeFiles({
      files: [`${ROOT}samples/shop.otlp.jsonl`],
      skewAdjust: true,
      filter: {},
      outliers: { kind: 'auto' },
      top: 20,
      traces: { span: html.analysed, rootCall: html.rootCall },
      details: (r) => html.select(r, 10),
    });
    const page = html.page(report, details ?? []);
    expect(page.summaries.traceId.length).toBe(report.input.tracesAnalysed);
    const embedded = new Set(page.traces.map((t) => t.traceId));
    for (const e of report.endpoints) {
      expect(embedded.has(e.typicalTraceId ?? '')).toBe(true);
      for (const o of e.outliers) expect(embedded.has(o.traceId)).toBe(true);
    }
    const must = new Set(report.endpoints.flatMap((e) => [e.typicalTraceId, ...e.outliers.map((o) => o.traceId)]));
    expect(embedded.size).toBe(must.size + 10);
    for (const t of page.traces) {
      // Full spans, and the same critical path as the JSON report's.
      expect(t.spans.length).toBeGreaterThan(1);
      expect(t.criticalPath.reduce((a, s) => a + s.durationNs, 0)).toBe(t.durationNs);
    }
    report.endpoints.forEach((e, i) => {
      const f = page.flames?.[i];
      expect(f).toBeDefined();
      if (!f) return;
      const total = f.outlierSelfNs.reduce((a, b) => a + b, 0) + f.otherSelfNs.reduce((a, b) => a + b, 0);
      // Path sections cover each root exactly: flame time = summed latency of the endpoint.
      const latency = page.summaries.durationNs.filter((_, k) => page.summaries.endpoint[k] === page.summaries.endpoints.findIndex((x) => x.service === e.service && x.operation === e.operation)).reduce((a, b) => a + b, 0);
      expect(total).toBe(latency);
      expect(f.outlierTraces).toBe(e.outlierCount);
      expect(f.outlierTraces + f.otherTraces).toBe(e.traces);
    });
  });
});
