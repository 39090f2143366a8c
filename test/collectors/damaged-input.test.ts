// Damaged inputs never crash, hang or abort the import: every sample, mangled at random (bytes
// overwritten, cut short, a piece cut out), still imports what it can, or is refused with an
// InputError when nothing in it is recognisable.
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../collectors/index.js';
import { JsonDocumentReader } from '../../collectors/json-document.js';
import { zipkinJson } from '../../collectors/zipkin.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { analyzeFiles } from '../../src/pipeline/analyze.js';

const SAMPLES = ['samples/shop.otlp.jsonl', 'samples/shop.otlp.pb', 'samples/shop.jaeger.json', 'samples/shop.zipkin.json', 'test/fixtures/otlp/pretty-printed.json'].map((f) => readFileSync(f));

describe('damaged inputs', () => {
  it('a malformed object key stops the document once, not once per byte that follows', () => {
    // Regression: the reader kept re-reading the same broken key, growing it each time.
    const diag = new Diagnostics();
    const r = new JsonDocumentReader(zipkinJson, 'bad-key.json', diag, () => undefined);
    r.push(Buffer.from(`[{"traceId":"463ac35c9f6413ad","i\r":"b0a4983075435999","name":"x"}, ${'{"a":1},'.repeat(1000)} {"b":2}]`));
    r.end();
    expect(diag.entries().map((e) => [e.code, e.count])).toEqual([['line_unparsable', 1]]);
  });

  it('random damage: no crash, no hang, and what is read is analysed', async () => {
    const path = join(tmpdir(), `cpath-damaged-${process.pid}.bin`);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(SAMPLES.length - 1), fc.nat(2), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(255)), { minLength: 1, maxLength: 20 }), async (which, mode, edits) => {
        const src = SAMPLES[which] ?? Buffer.alloc(0);
        const at = (x: number): number => Math.floor(x * src.length);
        let out: Buffer;
        if (mode === 0) {
          out = Buffer.from(src);
          for (const [x, b] of edits) out[at(x)] = b;
        } else if (mode === 1) out = src.subarray(0, at(edits[0]?.[0] ?? 0));
        else out = Buffer.concat([src.subarray(0, at(edits[0]?.[0] ?? 0)), src.subarray(at(edits[0]?.[0] ?? 0) + (edits[0]?.[1] ?? 0) * 4)]);
        writeFileSync(path, out);
        runs++;
        try {
          const { report } = await analyzeFiles({ files: [path], skewAdjust: true, filter: {}, outliers: { kind: 'auto' }, top: 20 });
          for (const t of report.traces) expect(t.criticalPath.reduce((s, c) => s + c.durationNs, 0)).toBe(t.durationNs);
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
        }
      }),
      { numRuns: 60 },
    );
    expect(runs).toBe(60);
  });
});
