// `cpath diff` end to end (the built CLI, run from dist/: `npm test` runs tsc first) on
// samples/diff/: two runs of the shop services recorded with the OpenTelemetry SDK, the candidate
// with every cart cache.get 8-11 ms slower (samples/diff/README.md).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpath } from '../helpers/cli.js';
import type { DiffReport } from '../../src/report/diff-types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASE = join(ROOT, 'samples/diff/base.otlp.jsonl');
const CANDIDATE = join(ROOT, 'samples/diff/candidate.otlp.jsonl');
let dir = '';
let report: DiffReport;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpath-diff-'));
  const r = await cpath(['diff', BASE, CANDIDATE, '--format', 'json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  report = parseReport(r.stdout);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the recorded runs with a slowed component', () => {
  it('names the slowed component first, as a hidden branch that became dominant', () => {
    const checkout = report.endpoints.find((e) => e.operation === 'GET /checkout');
    expect(checkout?.significant).toBe(true);
    expect(checkout?.pValue).toBeLessThan(0.001);
    const first = checkout?.changes[0];
    expect(first).toMatchObject({ service: 'cart', operation: 'cache.get', enteredPath: true, leftPath: false, swappedWith: { service: 'cart', operation: 'hash-session' } });
    expect(first?.deltaNs).toBeGreaterThan(8_000_000);
    expect(checkout?.changes[1]).toMatchObject({ service: 'cart', operation: 'hash-session', leftPath: true });
    expect(checkout?.summary).toMatch(/^frontend GET \/checkout p50 \+[\d.]+ ms \([\d.]+ -> [\d.]+ ms, p < 0\.001\): cart cache\.get \+[\d.]+ ms on the path \(now dominant, was hidden behind cart hash-session\)$/);
    // The components' deltas add up to the change of the mean latency (up to rounding per component).
    const sum = checkout?.changes.reduce((n, c) => n + c.deltaNs, 0) ?? 0;
    expect(Math.abs(sum - (checkout?.deltaNs.mean ?? 0))).toBeLessThanOrEqual(checkout?.changes.length ?? 0);
    expect(checkout?.structure).toEqual([]);
  });

  it('leaves the untouched endpoint alone', () => {
    const product = report.endpoints.find((e) => e.operation === 'GET /product');
    expect(product?.significant).toBe(false);
    expect(product?.changes.some((c) => c.enteredPath || c.leftPath)).toBe(false);
    expect(product?.summary).toContain('no significant change');
    // Cross-checked: scipy 1.17.1 mannwhitneyu(base, new, method='asymptotic') on the root
    // durations of `cpath analyze --format json` of each file: checkout U 233, p 2.4249633915012355e-12;
    // product U 219, p 0.6167746941014318.
    const checkout = report.endpoints.find((e) => e.operation === 'GET /checkout');
    expect(checkout?.u).toBe(233);
    expect((checkout?.pValue ?? 0) / 2.4249633915012355e-12).toBeCloseTo(1, 5);
    expect(product?.u).toBe(219);
    expect(product?.pValue).toBeCloseTo(0.6167746941014318, 6);
    expect(report.onlyInBase).toEqual([]);
    expect(report.onlyInNew).toEqual([]);
  });

  it('text output leads with one sentence per endpoint, then the tables', async () => {
    const r = await cpath(['diff', BASE, CANDIDATE]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    // The very first lines are the sentences.
    expect(lines[0]).toBe(report.endpoints[0]?.summary);
    expect(lines[1]).toBe(report.endpoints[1]?.summary);
    expect(lines[0]).toMatch(/^frontend GET \/checkout p50/);
    expect(r.stdout).toMatch(/cart cache\.get .* \(now dominant, was hidden behind cart hash-session\)\n/);
    expect(r.stdout).toContain('base diagnostics: none');
  });

  it('--fail-on-regression exits 3 past the threshold, 0 under it, and writes the output either way', async () => {
    const out = join(dir, 'regressed.txt');
    const r = await cpath(['diff', BASE, CANDIDATE, '--fail-on-regression', '5%', '-o', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/regression: frontend GET \/checkout median/);
    expect(readFileSync(out, 'utf8')).toContain('cart cache.get');
    expect((await cpath(['diff', BASE, CANDIDATE, '--fail-on-regression', '5ms', '-o', out])).code).toBe(3);
    expect((await cpath(['diff', BASE, CANDIDATE, '--fail-on-regression', '25%', '-o', out])).code).toBe(0);
    // The reverse direction is an improvement, never a regression.
    expect((await cpath(['diff', CANDIDATE, BASE, '--fail-on-regression', '0%', '-o', out])).code).toBe(0);
  });
});

describe('no change', () => {
  /** Two endpoints, none with a shift, a delta, a path change or a structure change. */
  function expectNoChange(rep: DiffReport): void {
    expect(rep.endpoints.length).toBe(2);
    for (const e of rep.endpoints) {
      expect(e.significant).toBe(false);
      expect(e.pValue).toBe(1);
      expect(e.deltaNs).toEqual({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
      expect(e.changes.every((c) => c.deltaNs === 0 && !c.enteredPath && !c.leftPath)).toBe(true);
      expect(e.structure).toEqual([]);
    }
  }

  it('identical inputs: nothing significant, every delta 0, exit 0 under --fail-on-regression', async () => {
    const r = await cpath(['diff', BASE, BASE, '--format', 'json', '--fail-on-regression', '0%']);
    expect(r.code).toBe(0);
    expectNoChange(parseReport(r.stdout));
  });

  it('a run against itself shifted by a constant clock offset: no change', async () => {
    // +1 h 0.123 s: a whole number of milliseconds, so every service's clock granularity (frontend
    // 1 ms, catalog 1 µs) looks the same; only the wall-clock times move.
    const offset = 3_600_123_000_000n;
    const shifted = join(dir, 'shifted.otlp.jsonl');
    let rewritten = 0;
    const text = readFileSync(BASE, 'utf8').replace(/"(startTimeUnixNano|endTimeUnixNano|timeUnixNano)":"(\d+)"/g, (_m, k: string, v: string) => {
      rewritten++;
      return `"${k}":"${BigInt(v) + offset}"`;
    });
    expect(rewritten).toBeGreaterThan(1000);
    writeFileSync(shifted, text);
    const r = await cpath(['diff', BASE, shifted, '--format', 'json']);
    expect(r.code).toBe(0);
    const rep = parseReport(r.stdout);
    expectNoChange(rep);
    expect(rep.input.new.granularity).toEqual(rep.input.base.granularity);
  });
});

describe('inputs and formats', () => {
  it('--split-at on one input gives the same diff as the two files', async () => {
    const both = join(dir, 'both.otlp.jsonl');
    writeFileSync(both, readFileSync(BASE, 'utf8') + readFileSync(CANDIDATE, 'utf8'));
    const r = await cpath(['diff', both, '--split-at', '2026-11-26T10:00:00Z', '--format', 'json']);
    expect(r.code).toBe(0);
    const rep = parseReport(r.stdout);
    expect(rep.endpoints).toEqual(report.endpoints);
    expect(rep.settings.splitAtUnixNano).toBe(String(BigInt(Date.UTC(2026, 10, 26, 10)) * 1_000_000n));
    expect(rep.input.base.tracesAnalysed).toBe(70);
    expect(rep.input.new.tracesAnalysed).toBe(70);
    expect(rep.input.base.window).toEqual({ untilUnixNano: rep.settings.splitAtUnixNano });
    // --since/--until narrow both sides: the first 30 minutes after the split hold all of new.
    const w = await cpath(['diff', both, '--split-at', '2026-11-26T10:00:00Z', '--since', '2026-11-26T09:00:30Z', '--until', '2026-11-26T10:30:00Z', '--format', 'json']);
    const narrowed = parseReport(w.stdout);
    expect(narrowed.input.base.tracesAnalysed).toBeLessThan(70);
    expect(narrowed.input.new.tracesAnalysed).toBe(70);
  });

  it('--format folded: differential folded stacks with two integer count columns', async () => {
    const r = await cpath(['diff', BASE, CANDIDATE, '--format', 'folded']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(/^[^;]+(;[^;]+)* \d+ \d+$/);
    const stacks = lines.map((l) => l.replace(/ \d+ \d+$/, ''));
    expect([...stacks].sort()).toEqual(stacks);
    const row = lines.find((l) => l.startsWith('frontend GET /checkout;frontend GET /cart;cart GET /cart;cart cache.get '));
    const [, b, n] = / (\d+) (\d+)$/.exec(row ?? '') ?? [];
    expect(Number(n) - Number(b)).toBeGreaterThan(8_000_000);
    // Per endpoint, the columns add up to its mean latency on each side (rounded per line).
    const checkout = report.endpoints.find((e) => e.operation === 'GET /checkout');
    const sums = lines.filter((l) => l.startsWith('frontend GET /checkout')).reduce(([x, y], l) => {
      const m = / (\d+) (\d+)$/.exec(l);
      return [x + Number(m?.[1]), y + Number(m?.[2])];
    }, [0, 0]);
    expect(Math.abs((sums[0] ?? 0) - (checkout?.base.meanNs ?? 0))).toBeLessThan(lines.length);
    expect(Math.abs((sums[1] ?? 0) - (checkout?.new.meanNs ?? 0))).toBeLessThan(lines.length);
  });

  it('a damaged input gets the same diagnostics as analyze, on its side only', async () => {
    const damaged = join(dir, 'damaged.otlp.jsonl');
    writeFileSync(damaged, `${readFileSync(CANDIDATE, 'utf8')}{"resourceSpans": [ not json\n`);
    const r = await cpath(['diff', BASE, damaged, '--format', 'json']);
    expect(r.code).toBe(0);
    const rep = parseReport(r.stdout);
    expect(rep.diagnostics.base).toEqual([]);
    expect(rep.diagnostics.new.map((d) => d.code)).toEqual(['line_unparsable']);
    expect(rep.diagnostics.new[0]?.example).toContain('damaged.otlp.jsonl:22');
  });

  it('usage errors exit 2 with a clear message; unusable inputs exit 1', async () => {
    const one = await cpath(['diff', BASE]);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/expected BASE NEW .*--split-at/);
    const bad = await cpath(['diff', BASE, CANDIDATE, '--fail-on-regression', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--fail-on-regression: "lots" is neither a percentage');
    const split = await cpath(['diff', BASE, CANDIDATE, '--split-at', '2026-11-26T10:00:00Z']);
    expect(split.code).toBe(2);
    expect(split.stderr).toContain('--split-at takes exactly one input');
    const when = await cpath(['diff', BASE, '--split-at', 'yesterday']);
    expect(when.code).toBe(2);
    expect((await cpath(['diff', BASE, CANDIDATE, '--format', 'xml'])).code).toBe(2);
    const missing = await cpath(['diff', BASE, join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(1);
    const empty = await cpath(['diff', BASE, '--split-at', '2030-01-01T00:00:00Z']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/new side: no traces starting at or after 2030-01-01/);
    const out = join(dir, 'never.txt');
    await cpath(['diff', BASE, join(dir, 'nope.jsonl'), '-o', out]);
    expect(existsSync(out)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// The JSON must match the declared types (src/report/diff-types.ts): every key, every type.

type Check = (v: unknown, at: string) => void;
const fail = (at: string, what: string, v: unknown): never => {
  throw new Error(`${at}: expected ${what}, got ${JSON.stringify(v)}`);
};
const num: Check = (v, at) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(at, 'a number', v);
};
const int: Check = (v, at) => {
  if (!Number.isSafeInteger(v)) fail(at, 'an integer', v);
};
const str: Check = (v, at) => {
  if (typeof v !== 'string') fail(at, 'a string', v);
};
const bool: Check = (v, at) => {
  if (typeof v !== 'boolean') fail(at, 'a boolean', v);
};
const decimal: Check = (v, at) => {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) fail(at, 'a decimal string', v);
};
const arr =
  (item: Check): Check =>
  (v, at) => {
    if (!Array.isArray(v)) return fail(at, 'an array', v);
    v.forEach((x: unknown, i) => item(x, `${at}[${i}]`));
  };
const obj =
  (required: Record<string, Check>, optional: Record<string, Check> = {}): Check =>
  (v, at) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(at, 'an object', v);
    const o = new Map(Object.entries(v));
    for (const [k, c] of Object.entries(required)) {
      if (!o.has(k)) fail(`${at}.${k}`, 'a value', undefined);
      c(o.get(k), `${at}.${k}`);
    }
    for (const [k, c] of Object.entries(optional)) if (o.has(k)) c(o.get(k), `${at}.${k}`);
    for (const k of o.keys()) if (!(k in required) && !(k in optional)) fail(`${at}.${k}`, 'no such key', o.get(k));
  };
const record =
  (value: Check): Check =>
  (v, at) => {
    if (typeof v !== 'object' || v === null) return fail(at, 'an object', v);
    for (const [k, x] of Object.entries(v)) value(x, `${at}.${k}`);
  };
const percentiles = obj({ p50: int, p90: int, p99: int, max: int });
const sideLatency = obj({ traces: int, latencyNs: percentiles, meanNs: int });
const named = obj({ service: str, operation: str });
const diagnostic = obj({ code: str, severity: str, count: int, message: str }, { example: str });
const sideInput = obj({ files: arr(str), formats: arr(str), spans: int, traces: int, tracesAnalysed: int, granularity: record(str) }, { window: obj({}, { sinceUnixNano: decimal, untilUnixNano: decimal }) });
const checkReport = obj({
  version: (v, at) => (v === 1 ? undefined : fail(at, '1', v)),
  generator: str,
  test: str,
  settings: obj({ alpha: num, minRelativeShift: num, skewAdjust: bool }, { overlapToleranceNs: int, splitAtUnixNano: decimal }),
  input: obj({ base: sideInput, new: sideInput }),
  diagnostics: obj({ base: arr(diagnostic), new: arr(diagnostic) }),
  endpoints: arr(
    obj({
      service: str,
      operation: str,
      summary: str,
      base: sideLatency,
      new: sideLatency,
      deltaNs: obj({ p50: int, p90: int, p99: int, max: int, mean: int }),
      significant: bool,
      test: (v, at) => (v === 'mann-whitney-u' ? undefined : fail(at, 'mann-whitney-u', v)),
      pValue: num,
      u: num,
      z: num,
      changes: arr(
        obj(
          { service: str, operation: str, meanPathNsBase: int, meanPathNsNew: int, deltaNs: int, onPathTracesBase: int, onPathTracesNew: int, enteredPath: bool, leftPath: bool },
          { swappedWith: named },
        ),
      ),
      structure: arr(obj({ service: str, operation: str, callsPerTraceBase: num, callsPerTraceNew: num })),
    }),
  ),
  onlyInBase: arr(obj({ service: str, operation: str, traces: int })),
  onlyInNew: arr(obj({ service: str, operation: str, traces: int })),
});

function assertDiffReport(v: unknown): asserts v is DiffReport {
  checkReport(v, 'report');
}

/** Parses and checks a report against the declared types; sorted-by-|delta| too. */
function parseReport(text: string): DiffReport {
  const r: unknown = JSON.parse(text);
  assertDiffReport(r);
  for (const e of r.endpoints) {
    for (let i = 1; i < e.changes.length; i++) expect(Math.abs(e.changes[i - 1]?.deltaNs ?? 0)).toBeGreaterThanOrEqual(Math.abs(e.changes[i]?.deltaNs ?? 0));
    expect(e.pValue).toBeGreaterThanOrEqual(0);
    expect(e.pValue).toBeLessThanOrEqual(1);
  }
  return r;
}
