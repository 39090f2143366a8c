// The streamed JSON writer and the report objects must say the same thing.
import { describe, expect, it } from 'vitest';
import { analyzeFiles, type AnalyzeOptions } from '../../src/pipeline/analyze.js';
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import { TraceJsonWriter, addNs, toReportTrace } from '../../src/report/trace-json.js';

const base: AnalyzeOptions = { files: ['samples/shop.otlp.jsonl'], skewAdjust: true, filter: {}, outliers: { kind: 'auto' }, top: 20 };

describe('trace JSON', () => {
  it('the streaming writer produces exactly JSON.stringify of the report entry', async () => {
    const collected: AnalysedTrace[] = [];
    await analyzeFiles({ ...base, traces: { span: (a) => void collected.push(a) } });
    expect(collected.length).toBe(130);
    const w = new TraceJsonWriter();
    for (const t of collected) expect(w.json(t)).toBe(JSON.stringify(toReportTrace(t)));
  });

  it('the default report holds the same traces, in start order', async () => {
    const { report } = await analyzeFiles(base);
    const starts = report.traces.map((t) => BigInt(t.startUnixNano));
    for (let i = 1; i < starts.length; i++) expect((starts[i] ?? 0n) >= (starts[i - 1] ?? 0n)).toBe(true);
    expect(report.input.tracesAnalysed).toBe(130);
  });

  it('adds nanoseconds to a Unix time exactly, across millisecond carries', () => {
    const split = (v: bigint) => ({ ms: Number(v / 1_000_000n), ns: Number(v % 1_000_000n) });
    const b = 1_764_151_200_123_999_999n;
    for (const rel of [0, 1, 999_999, 1_000_000, 123_456_789_012]) expect(addNs(split(b), rel)).toBe((b + BigInt(rel)).toString());
    expect(addNs(split(5n), 7)).toBe('12');
  });
});
