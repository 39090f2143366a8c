// A tiny language for trace shapes in tests, one span per line, children indented:
//
//   C 1/100                  name start/duration (in the unit given, default µs)
//     D 20/20 kind=client host=h1 svc=front
//     E 50/10 ref=follows
//
// Options: kind=, host=, svc= (service; default "svc"), ref=follows, parent=NAME (explicit
// parent, may be a name not in the trace), status=error.
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner, kindFromName, type SpanInput } from '../../src/model/span.js';
import { TraceSetBuilder, type Trace } from '../../src/model/trace-builder.js';
import { analyzeTrace, type TraceAnalysis } from '../../analysis/trace-analysis.js';
import { detectGranularity } from '../../analysis/granularity.js';

export const BASE_NS = 1_700_000_000_000_000_000n;

const UNIT: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6 };

export function spanId(name: string): string {
  return Buffer.from(name.padEnd(8, '_').slice(0, 8), 'latin1').toString('hex');
}

export const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

export function spansFrom(text: string, unit: 'ns' | 'us' | 'ms' = 'us', traceId = TRACE_ID): SpanInput[] {
  const resources = new ResourceInterner();
  const out: SpanInput[] = [];
  const stack: { indent: number; id: string }[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    const [name, times, ...opts] = line.trim().split(/\s+/);
    if (!name || !times) throw new Error(`bad line ${line}`);
    const [s, d] = times.split('/').map(Number);
    if (s === undefined || d === undefined) throw new Error(`bad times ${line}`);
    const o = Object.fromEntries(opts.map((x) => x.split('=') as [string, string]));
    while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? 0) >= indent) stack.pop();
    const parentSpanId = o['parent'] !== undefined ? spanId(o['parent']) : stack[stack.length - 1]?.id;
    const svc = o['svc'] ?? 'svc';
    const resource = resources.intern({ 'service.name': svc, ...(o['host'] ? { 'host.name': o['host'] } : {}) });
    const mult = UNIT[unit] ?? 1;
    const startNs = BASE_NS + BigInt(Math.round(s * mult));
    const id = spanId(name);
    out.push({
      traceId,
      spanId: id,
      ...(parentSpanId !== undefined ? { parentSpanId } : {}),
      ...(o['ref'] === 'follows' ? { parentRef: 'follows-from' as const } : {}),
      name,
      kind: (o['kind'] ? kindFromName(o['kind']) : undefined) ?? 'internal',
      startNs,
      endNs: startNs + BigInt(Math.round(d * mult)),
      status: o['status'] === 'error' ? 'error' : 'unset',
      attributes: {},
      resource,
      source: { file: 'dsl', line: out.length + 1 },
    });
    stack.push({ indent, id });
  }
  return out;
}

export function buildTrace(spans: readonly SpanInput[], diag = new Diagnostics()): Trace {
  const b = new TraceSetBuilder(diag);
  for (const s of spans) b.add(s);
  const t = b.build().traces[0];
  if (!t) throw new Error('no trace');
  return t;
}

export interface DslOptions {
  unit?: 'ns' | 'us' | 'ms';
  skewAdjust?: boolean;
  overlapToleranceNs?: number;
  diag?: Diagnostics;
}

export function analyzeDsl(text: string, o: DslOptions = {}): { trace: Trace; analysis: TraceAnalysis; diag: Diagnostics } {
  const diag = o.diag ?? new Diagnostics();
  const trace = buildTrace(spansFrom(text, o.unit ?? 'us'), diag);
  const analysis = analyzeTrace(
    trace,
    { skewAdjust: o.skewAdjust ?? true, granularity: detectGranularity([trace]), ...(o.overlapToleranceNs !== undefined ? { overlapToleranceNs: o.overlapToleranceNs } : {}) },
    diag,
  );
  if (!analysis) throw new Error('no root');
  return { trace, analysis, diag };
}

/** Sections as `NAME start-end` in the given unit, relative to BASE_NS, e.g. `C 1-20, D 20-40`. */
export function describePath(trace: Trace, path: TraceAnalysis['path'], unit: 'ns' | 'us' | 'ms' = 'us'): string {
  const mult = UNIT[unit] ?? 1;
  const off = Number(trace.baseNs - BASE_NS);
  const fmt = (v: number): string => String(Math.round(((v + off) / mult) * 1000) / 1000);
  return path.map((s) => `${trace.spans[s.span]?.name ?? '?'} ${fmt(s.start)}-${fmt(s.end)}`).join(', ');
}
