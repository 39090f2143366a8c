// `cpath export` on samples/shop.otlp.jsonl (130 traces, 1534 spans; samples/README.md): each
// format's shape, the round trips through cpath's own importers, and the CLI end to end (run
// from dist/: `npm test` runs tsc before vitest).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFiles } from '../../src/pipeline/analyze.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../src/export/index.js';
import { exportFiles } from '../../src/pipeline/export.js';
import { frameName } from '../../analysis/analysed-trace.js';
import { cpath } from '../helpers/cli.js';
import { anyValue } from '../../src/export/otlp.js';
import { SPEEDSCOPE_SCHEMA } from '../../src/export/speedscope.js';
import type { AnalyzeReport } from '../../src/report/types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const JSONL = join(ROOT, 'samples/shop.otlp.jsonl');
let dir = '';
let base: AnalyzeReport;

async function analyze(file: string): Promise<AnalyzeReport> {
  const { report } = await analyzeFiles({ files: [file], skewAdjust: true, filter: {}, outliers: { kind: 'auto' }, top: 5 });
  return report;
}

async function exportText(to: ExportFormat, endpoint?: string): Promise<string> {
  let text = '';
  await exportFiles({ files: [JSONL], to, ...(endpoint !== undefined ? { endpoint } : {}) }, (t) => {
    text += t;
  });
  return text;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpath-export-'));
  base = await analyze(JSONL);
  expect(base.input.traces).toBe(130);
  expect(base.input.spans).toBe(1534);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('folded', () => {
  it('has one sorted line per call path, integer ns summing to the trace durations', async () => {
    const text = await exportText('folded');
    const lines = text.trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(/^[^;]+(;[^;]+)* \d+$/);
    const stacks = lines.map((l) => l.slice(0, l.lastIndexOf(' ')));
    expect(new Set(stacks).size).toBe(stacks.length);
    expect([...stacks].sort()).toEqual(stacks);
    const total = lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(total).toBe(base.traces.reduce((n, t) => n + t.durationNs, 0));
    expect(stacks).toContain('frontend GET /checkout;frontend POST /inventory/reserve;inventory POST /inventory/reserve;inventory db.query');
    // Every stack starts at an endpoint's root.
    const roots = new Set(base.endpoints.map((e) => `${e.service} ${e.operation}`));
    for (const s of stacks) expect(roots.has(s.split(';')[0] ?? '')).toBe(true);
  });

  it('--endpoint keeps one endpoint', async () => {
    const lines = (await exportText('folded', 'frontend GET /product')).trimEnd().split('\n');
    for (const l of lines) expect(l.startsWith('frontend GET /product')).toBe(true);
    const total = lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(total).toBe(base.traces.filter((t) => t.operation === 'GET /product').reduce((n, t) => n + t.durationNs, 0));
  });
});

describe('speedscope', () => {
  it("has the schema's required fields, one sampled profile per endpoint in ns", async () => {
    const f = JSON.parse(await exportText('speedscope')) as Record<string, unknown>;
    expect(f['$schema']).toBe(SPEEDSCOPE_SCHEMA);
    expect(typeof f['exporter']).toBe('string');
    const shared = f['shared'] as { frames: unknown[] };
    expect(Array.isArray(shared.frames)).toBe(true);
    for (const fr of shared.frames) expect(typeof (fr as { name: unknown }).name).toBe('string');
    const profiles = f['profiles'] as Record<string, unknown>[];
    expect(profiles.map((p) => p['name']).sort()).toEqual(base.endpoints.map((e) => `${e.service} ${e.operation}`).sort());
    for (const p of profiles) {
      expect(p['type']).toBe('sampled');
      expect(p['unit']).toBe('nanoseconds');
      expect(typeof p['name']).toBe('string');
      const samples = p['samples'] as number[][];
      const weights = p['weights'] as number[];
      expect(samples.length).toBe(weights.length);
      for (const s of samples) for (const i of s) expect(Number.isInteger(i) && i >= 0 && i < shared.frames.length).toBe(true);
      expect(p['startValue']).toBe(0);
      const e = base.endpoints.find((x) => `${x.service} ${x.operation}` === p['name']);
      const sum = base.traces.filter((t) => `${t.endpoint.service} ${t.endpoint.operation}` === p['name']).reduce((n, t) => n + t.durationNs, 0);
      expect(e).toBeDefined();
      expect(p['endValue']).toBe(sum);
      expect(weights.reduce((n, w) => n + w, 0)).toBe(sum);
    }
  });
});

/** What must survive a round trip: per endpoint, trace count and latency percentiles. */
const endpointFacts = (r: AnalyzeReport): unknown[] => r.endpoints.map((e) => ({ service: e.service, operation: e.operation, traces: e.traces, latencyNs: e.latencyNs }));

describe('otlp', () => {
  it('round-trips through the OTLP importer to the same spans and analysis', async () => {
    const text = await exportText('otlp');
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBe(130);
    for (const l of lines) {
      const req = JSON.parse(l) as { resourceSpans: { scopeSpans: { spans: { startTimeUnixNano: unknown; spanId: string }[] }[] }[] };
      const span = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
      expect(span?.startTimeUnixNano).toMatch(/^\d+$/);
      expect(span?.spanId).toMatch(/^[0-9a-f]{16}$/);
    }
    const file = join(dir, 'shop.export.jsonl');
    writeFileSync(file, text);
    const back = await analyze(file);
    expect(back.input.formats).toEqual(['otlp-json']);
    expect(back.input.spans).toBe(1534);
    expect(back.input.traces).toBe(130);
    expect(endpointFacts(back)).toEqual(endpointFacts(base));
    expect(back.endpoints.map((e) => e.criticalPath)).toEqual(base.endpoints.map((e) => e.criticalPath));
    expect(back.traces.map((t) => [t.traceId, t.criticalPath])).toEqual(base.traces.map((t) => [t.traceId, t.criticalPath]));
  });

  it('turns a Jaeger input into OTLP with the same analysis', async () => {
    const jaeger = join(ROOT, 'samples/shop.jaeger.json');
    let text = '';
    await exportFiles({ files: [jaeger], to: 'otlp' }, (t) => {
      text += t;
    });
    const file = join(dir, 'from-jaeger.jsonl');
    writeFileSync(file, text);
    const want = await analyze(jaeger);
    const back = await analyze(file);
    expect(back.input.spans).toBe(want.input.spans);
    expect(endpointFacts(back)).toEqual(endpointFacts(want));
    expect(back.traces.map((t) => t.criticalPath)).toEqual(want.traces.map((t) => t.criticalPath));
  });
});

describe('pieces', () => {
  it('frame names lose ; and newlines', () => {
    expect(frameName('svc;a', 'GET /x;y\nz')).toBe('svc:a GET /x:y z');
  });

  it('OTLP AnyValue keeps types', () => {
    expect(anyValue(3)).toEqual({ intValue: '3' });
    expect(anyValue(2.5)).toEqual({ doubleValue: 2.5 });
    expect(anyValue(12345678901234567890n)).toEqual({ intValue: '12345678901234567890' });
    expect(anyValue(['a', true])).toEqual({ arrayValue: { values: [{ stringValue: 'a' }, { boolValue: true }] } });
    expect(anyValue({ k: 'v' })).toEqual({ kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } });
  });
});

/** Per trace: critical-path time per component (service operation), ns. */
function pathTotals(r: AnalyzeReport): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const t of r.traces) {
    const m = new Map<string, number>();
    for (const s of t.criticalPath) m.set(`${s.service} ${s.operation}`, (m.get(`${s.service} ${s.operation}`) ?? 0) + s.durationNs);
    out.set(t.traceId, m);
  }
  return out;
}

describe('jaeger', () => {
  it('has the Jaeger UI shape, in microseconds', async () => {
    const doc = JSON.parse(await exportText('jaeger')) as { data: { traceID: string; spans: Record<string, unknown>[]; processes: Record<string, { serviceName: string; tags: unknown[] }> }[] };
    expect(doc.data.length).toBe(130);
    expect(doc.data.reduce((n, t) => n + t.spans.length, 0)).toBe(1534);
    for (const t of doc.data) {
      for (const s of t.spans) {
        expect(s['traceID']).toBe(t.traceID);
        expect(Number.isInteger(s['startTime']) && Number.isInteger(s['duration'])).toBe(true);
        expect(s['logs']).toEqual([]);
        expect(s['warnings']).toBeNull();
        expect(t.processes[s['processID'] as string]?.serviceName).toBeTypeOf('string');
      }
    }
  });

  it('round-trips through the Jaeger importer within µs truncation', async () => {
    const file = join(dir, 'shop.export.json');
    writeFileSync(file, await exportText('jaeger'));
    const back = await analyze(file);
    expect(back.input.formats).toEqual(['jaeger']);
    expect(back.input.spans).toBe(1534);
    expect(back.input.traces).toBe(130);
    expect(back.endpoints.map((e) => [e.service, e.operation, e.traces])).toEqual(base.endpoints.map((e) => [e.service, e.operation, e.traces]));
    for (const [i, e] of back.endpoints.entries()) {
      const b = base.endpoints[i];
      for (const k of ['p50', 'p90', 'p99', 'p999', 'max'] as const) expect(Math.abs(e.latencyNs[k] - (b?.latencyNs[k] ?? 0))).toBeLessThan(1000);
    }
    const want = pathTotals(base);
    const got = pathTotals(back);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    let worst = 0;
    for (const [id, m] of want) {
      const g = got.get(id);
      for (const [k, ns] of m) worst = Math.max(worst, Math.abs((g?.get(k) ?? 0) - ns));
    }
    // Every span edge moves by less than 1 µs.
    expect(worst).toBeLessThan(4000);
  });
});

/** Parses one .hgrm (HdrHistogram outputPercentileDistribution): rows and footer. */
function parseHgrm(text: string): { rows: { value: number; percentile: number; count: number }[]; max: number; total: number } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  expect(lines[0]?.trim().split(/\s+/)).toEqual(['Value', 'Percentile', 'TotalCount', '1/(1-Percentile)']);
  const rows = lines.filter((l) => !l.startsWith('#') && !l.includes('Value')).map((l) => {
    const f = l.trim().split(/\s+/).map(Number);
    expect(f.length === 4 || f.length === 3).toBe(true);
    for (const x of f) expect(Number.isFinite(x)).toBe(true);
    return { value: f[0] ?? NaN, percentile: f[1] ?? NaN, count: f[2] ?? NaN };
  });
  const m = /#\[Max\s+=\s+([\d.]+), Total count\s+=\s+(\d+)\]/.exec(text);
  expect(m).not.toBeNull();
  expect(text).toMatch(/#\[Mean\s+=\s+[\d.]+, StdDeviation\s+=\s+[\d.]+\]/);
  expect(text).toMatch(/#\[Buckets\s+=\s+\d+, SubBuckets\s+=\s+\d+\]/);
  return { rows, max: Number(m?.[1]), total: Number(m?.[2]) };
}

describe('hgrm', () => {
  it("is one endpoint's latency distribution in ns with --endpoint", async () => {
    const h = parseHgrm(await exportText('hgrm', 'frontend GET /checkout'));
    const e = base.endpoints.find((x) => x.operation === 'GET /checkout');
    expect(h.total).toBe(100);
    expect(h.rows.at(-1)?.count).toBe(100);
    expect(h.rows.at(-1)?.percentile).toBe(1);
    for (let i = 1; i < h.rows.length; i++) {
      expect(h.rows[i]?.percentile).toBeGreaterThanOrEqual(h.rows[i - 1]?.percentile ?? 0);
      expect(h.rows[i]?.value).toBeGreaterThanOrEqual(h.rows[i - 1]?.value ?? 0);
    }
    // 3 significant digits.
    expect(Math.abs(h.max - (e?.latencyNs.max ?? 0)) / h.max).toBeLessThan(1e-3);
  });

  it('writes every endpoint, each under a comment line, without --endpoint', async () => {
    const text = await exportText('hgrm');
    const parts = text.split(/^# endpoint: .*\n/m).filter((p) => p.trim() !== '');
    expect(parts.length).toBe(2);
    expect(parts.map((p) => parseHgrm(p).total)).toEqual([100, 30]);
  });
});

interface TraceEvent {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  id?: number;
  bp?: string;
  args?: Record<string, unknown>;
}

describe('perfetto (Chrome Trace Event JSON)', () => {
  it('has named per-service processes, properly nested lanes, and the critical path on its own track', async () => {
    const doc = JSON.parse(await exportText('perfetto')) as { traceEvents: TraceEvent[] };
    const ev = doc.traceEvents;
    const names = new Map(ev.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => [e.pid, e.args?.['name']]));
    expect([...names.values()].sort()).toEqual(['cart', 'catalog', 'critical path', 'frontend', 'inventory', 'payment', 'worker']);
    const complete = ev.filter((e) => e.ph === 'X');
    const cp = [...names].find(([, n]) => n === 'critical path')?.[0];
    expect(complete.filter((e) => e.pid !== cp).length).toBe(1534);
    // Events on one pid/tid nest or follow each other (times compared in exact ns).
    const tracks = new Map<string, [number, number][]>();
    for (const e of complete) {
      expect(e.dur).toBeGreaterThanOrEqual(0);
      const k = `${e.pid}/${e.tid}`;
      const list = tracks.get(k) ?? [];
      const start = Math.round((e.ts ?? NaN) * 1000);
      list.push([start, start + Math.round((e.dur ?? NaN) * 1000)]);
      tracks.set(k, list);
    }
    for (const list of tracks.values()) {
      list.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
      const stack: number[] = [];
      for (const [s0, e0] of list) {
        while (stack.length > 0 && (stack.at(-1) ?? 0) <= s0) stack.pop();
        if (stack.length > 0) expect(e0).toBeLessThanOrEqual(stack.at(-1) ?? 0);
        stack.push(e0);
      }
    }
    // The critical-path track: one event per trace covering its root, and sections summing to it.
    const path = complete.filter((e) => e.pid === cp);
    const roots = path.filter((e) => e.args?.['rootSpanId'] !== undefined);
    expect(roots.length).toBe(130);
    const total = base.traces.reduce((n, t) => n + t.durationNs, 0);
    expect(roots.reduce((n, e) => n + Number(e.args?.['durationNs']), 0)).toBe(total);
    expect(path.filter((e) => e.args?.['rootSpanId'] === undefined).reduce((n, e) => n + Number(e.args?.['durationNs']), 0)).toBe(total);
    // Flows come in start/finish pairs.
    const starts = ev.filter((e) => e.ph === 's').map((e) => e.id);
    const ends = ev.filter((e) => e.ph === 'f' && e.bp === 'e').map((e) => e.id);
    expect(starts.length).toBeGreaterThan(0);
    expect(ends).toEqual(starts);
  });

  it('with --threads: thread tracks with their states, and each wakeup a flow from a running waker to the wakee becoming runnable', async () => {
    const NP = join(ROOT, 'samples/threads/node-pool.otlp.jsonl');
    const LOG = join(ROOT, 'samples/threads/node-pool.events.log.gz');
    let text = '';
    await exportFiles({ files: [NP], threads: [LOG], to: 'perfetto' }, (t) => {
      text += t;
    });
    let plainText = '';
    await exportFiles({ files: [NP], to: 'perfetto' }, (t) => {
      plainText += t;
    });
    const ev = (JSON.parse(text) as { traceEvents: TraceEvent[] }).traceEvents;
    const plain = (JSON.parse(plainText) as { traceEvents: TraceEvent[] }).traceEvents;
    const isThread = (e: TraceEvent): boolean => e.pid >= 1_000_000;
    // The span and critical-path tracks are the same as without thread data.
    expect(ev.filter((e) => !isThread(e) && e.ph === 'X').length).toBe(plain.filter((e) => e.ph === 'X').length);
    expect(plain.some(isThread)).toBe(false);
    const names = ev.filter((e) => isThread(e) && e.ph === 'M' && e.name === 'process_name').map((e) => e.args?.['name']);
    expect(names).toEqual([expect.stringMatching(/^node \(pid \d+\)$/)]);
    // Per thread track: states that never overlap (exact ns), so the track nests.
    const ns = (us: number | undefined): number => Math.round((us ?? NaN) * 1000);
    const states = new Map<string, { s: number; e: number; name: string }[]>();
    for (const e of ev.filter((x) => isThread(x) && x.ph === 'X')) {
      expect(['running', 'runnable', 'sleeping', 'blocked']).toContain(e.name);
      const k = `${e.pid}/${e.tid}`;
      const list = states.get(k) ?? [];
      list.push({ s: ns(e.ts), e: ns(e.ts) + ns(e.dur), name: e.name });
      states.set(k, list);
    }
    expect(states.size).toBeGreaterThan(2);
    for (const list of states.values()) {
      list.sort((a, b) => a.s - b.s);
      for (let i = 1; i < list.length; i++) expect(list[i]?.s).toBeGreaterThanOrEqual(list[i - 1]?.e ?? 0);
    }
    const at = (e: TraceEvent): { s: number; e: number; name: string } | undefined => states.get(`${e.pid}/${e.tid}`)?.find((x) => x.s <= ns(e.ts) && ns(e.ts) < x.e);
    const starts = ev.filter((e) => e.ph === 's' && e.name === 'wakeup');
    const finishes = new Map(ev.filter((e) => e.ph === 'f' && e.name === 'wakeup').map((e) => [e.id, e]));
    expect(starts.length).toBeGreaterThan(10);
    for (const s0 of starts) {
      const f = finishes.get(s0.id);
      expect(f).toBeDefined();
      if (!f) continue;
      expect(ns(f.ts)).toBe(ns(s0.ts));
      expect(at(s0)?.name).toBe('running');
      // The wakee's runnable slice starts at the wakeup: the flow binds to it.
      expect(at(f)).toMatchObject({ s: ns(f.ts), name: 'runnable' });
    }
  });
});

describe('cpath export (CLI)', () => {
  it('writes -o FILE and exits 0', async () => {
    const file = join(dir, 'shop.folded');
    const r = await cpath(['export', 'samples/shop.otlp.jsonl', '--to', 'folded', '-o', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(file, 'utf8')).toBe(await exportText('folded'));
  });

  it('writes every format with -o', async () => {
    for (const to of EXPORT_FORMATS) {
      const file = join(dir, `cli.${to}`);
      const r = await cpath(['export', 'samples/shop.otlp.jsonl', '--to', to, '-o', file, '--endpoint', 'frontend GET /product']);
      expect(r.stderr, to).toBe('');
      expect(r.code, to).toBe(0);
      expect(readFileSync(file, 'utf8').length, to).toBeGreaterThan(0);
    }
  });

  it('a missing --to exits 2', async () => {
    const r = await cpath(['export', 'samples/shop.otlp.jsonl']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--to/);
  });

  it('a bad --to exits 2 without a stack trace', async () => {
    const r = await cpath(['export', 'samples/shop.otlp.jsonl', '--to', 'pprof']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--to/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unknown --endpoint exits 1 naming the endpoints', async () => {
    const r = await cpath(['export', 'samples/shop.otlp.jsonl', '--to', 'folded', '--endpoint', 'frontend GET /nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/frontend GET \/checkout/);
  });

  it('writes speedscope to stdout', async () => {
    const r = await cpath(['export', 'samples/shop.otlp.jsonl', '--to', 'speedscope']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { profiles: unknown[] }).profiles.length).toBe(2);
  });
});
