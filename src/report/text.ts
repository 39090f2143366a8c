// The terminal report: per endpoint the percentiles, the top path components with shares, the
// outliers with their blame; then the diagnostics. Everything else is in --format json.
import type { DiagnosticEntry } from '../model/diagnostics.js';
import { formatDuration, formatUnixMs } from '../model/time.js';
import type { AnalyzeReport, ReportComponent, ReportEndpoint, ReportSection } from './types.js';

const TOP_COMPONENTS = 8;
const TOP_OUTLIERS = 5;

/** `chains`: critical paths of thread-only traces (typical and outliers), shown as wait chains. */
export function renderText(r: AnalyzeReport, chains?: ReadonlyMap<string, readonly ReportSection[]>): string {
  const lines: string[] = [];
  const inp = r.input;
  const filtered = inp.tracesAnalysed !== inp.traces ? ` (${inp.tracesAnalysed} after filters)` : '';
  lines.push(`cpath: ${plural(inp.files.length, 'input')} (${[...new Set(inp.formats)].join(', ')}), ${fmtInt(inp.spans)} spans, ${fmtInt(inp.traces)} traces${filtered}, ${plural(r.endpoints.length, 'endpoint')}`);
  const gran = Object.entries(inp.granularity).filter(([, g]) => g !== 'none');
  if (inp.settings.overlapToleranceNs !== undefined) lines.push(`overlap tolerance: ${formatDuration(inp.settings.overlapToleranceNs)} for every span`);
  else if (gran.length > 0) lines.push(`start-time granularity tolerated: ${gran.map(([s, g]) => `${s} ${g}`).join(', ')}`);
  if (!inp.settings.skewAdjust) lines.push('clock-skew adjustment: off');
  if (inp.threads) {
    const t = inp.threads;
    lines.push(`threads: ${plural(t.logs, 'event log')}, ${plural(t.threads, 'thread')}, clock anchors agree within ${formatDuration(t.anchorSpreadNs)}${inp.spans > 0 ? ' (span times add their own granularity: 1 ms for the OpenTelemetry JS SDK)' : ''}`);
  }
  for (const e of r.endpoints) {
    lines.push('');
    lines.push(...renderEndpoint(e, chains));
  }
  if (r.endpoints.length === 0) lines.push('', 'No traces to analyse.');
  lines.push('');
  lines.push(...renderDiagnostics(r.diagnostics));
  return `${lines.join('\n')}\n`;
}

function renderEndpoint(e: ReportEndpoint, chains?: ReadonlyMap<string, readonly ReportSection[]>): string[] {
  const out: string[] = [];
  const l = e.latencyNs;
  out.push(`${e.service}  ${e.operation}   ${plural(e.traces, 'trace')}`);
  out.push(`  latency   p50 ${formatDuration(l.p50)}   p90 ${formatDuration(l.p90)}   p99 ${formatDuration(l.p99)}   p99.9 ${formatDuration(l.p999)}   max ${formatDuration(l.max)}`);
  out.push('  critical path          share   self p50    self p99    on path  component');
  for (const c of e.criticalPath.slice(0, TOP_COMPONENTS)) {
    const err = c.errors > 0 ? `  (${plural(c.errors, 'error')})` : '';
    out.push(`    ${bar(c.share)} ${pct(c.share).padStart(6)}  ${formatDuration(c.selfNs.p50).padStart(9)}  ${formatDuration(c.selfNs.p99).padStart(9)}  ${String(c.onPathTraces).padStart(8)}  ${componentLabel(c)}${err}`);
  }
  if (e.criticalPath.length > TOP_COMPONENTS) out.push(`    … ${e.criticalPath.length - TOP_COMPONENTS} more components (--format json lists all)`);
  if (e.waits && e.waits.length > 0) {
    out.push(`  waits on the path: ${e.waits
      .slice(0, 5)
      .map((w) => `${w.reason}${w.waker !== undefined ? ` (woken by ${w.waker})` : ''} ${pct(w.share)}`)
      .join(', ')}`);
  }
  const typical = e.typicalTraceId !== undefined ? chains?.get(e.typicalTraceId) : undefined;
  if (typical) out.push(`  typical   ${chainText(e.operation, typical)}`);
  if (e.outliers.length === 0) {
    out.push(`  outliers  none at or above ${formatDuration(e.outlierThresholdNs)}`);
  } else {
    const shown = e.outliers.length < e.outlierCount ? ` (the slowest ${e.outliers.length} listed; --top raises it)` : '';
    out.push(`  outliers  ${e.outlierCount} at or above ${formatDuration(e.outlierThresholdNs)}${shown}, slowest first:`);
    for (const o of e.outliers.slice(0, TOP_OUTLIERS)) {
      const ex = o.excess
        .slice(0, 3)
        .map((x) => `${componentLabel(x)} +${formatDuration(x.ns)}`)
        .join(', ');
      out.push(`    ${o.traceId}  ${formatDuration(o.durationNs).padStart(9)}  at ${formatUnixMs(BigInt(o.startUnixNano))}  dominant: ${componentLabel(o.dominant)} ${formatDuration(o.dominant.selfNs)}`);
      if (ex) out.push(`      beyond a typical trace: ${ex}`);
      const chain = chains?.get(o.traceId);
      if (chain) out.push(`      ${chainText(e.operation, chain)}`);
    }
    if (e.outliers.length > TOP_OUTLIERS) out.push(`    … ${e.outliers.length - TOP_OUTLIERS} more (--format json lists all; --trace ID shows one)`);
  }
  return out;
}

/** `db-pool query blocked` for thread components, `service operation` for spans. */
function componentLabel(c: Pick<ReportComponent, 'service' | 'operation' | 'thread' | 'state'>): string {
  if (c.thread === undefined) return `${c.service} ${c.operation}`;
  return `${c.thread}${c.operation !== '-' ? ` ${c.operation}` : ''} ${c.state ?? ''}`;
}

/**
 * A thread-level path read backwards from the end, the way the walk found it, e.g.
 * `serve_order 48 ms: db-pool encode_row running 9 ms <- db-pool query blocked (network) 31 ms <- ...`.
 * Consecutive sections of one thread, state and function are merged; at most 8 links shown.
 */
function chainText(root: string, path: readonly ReportSection[]): string {
  let total = 0;
  for (const s of path) total += s.durationNs;
  // Links under 1% of the path (scheduler noise between the real steps) are left out of the
  // line, so that the steps around them merge; --format json has every section.
  const links: { label: string; ns: number }[] = [];
  let omitted = 0;
  for (let i = path.length - 1; i >= 0; i--) {
    const s = path[i];
    if (!s) continue;
    if (s.durationNs < total * 0.01) {
      omitted += s.durationNs;
      continue;
    }
    const reason = s.wait && s.wait.reason !== 'wakeup' ? ` (${s.wait.reason})` : '';
    const where = `${s.thread?.comm ?? s.service}${s.function !== undefined ? ` ${s.function}` : ''} ${s.state ?? ''}${reason}`;
    // Span inputs: which span, then where its time went.
    const label = s.spanId !== undefined ? `${s.operation} [${where}]` : where;
    const last = links[links.length - 1];
    if (last && last.label === label) last.ns += s.durationNs;
    else links.push({ label, ns: s.durationNs });
  }
  const shown = links.slice(0, 8).map((l) => `${l.label} ${formatDuration(l.ns)}`);
  const more = links.length > 8 ? ` <- … ${links.length - 8} more` : '';
  const small = omitted > 0 ? ` (+${formatDuration(omitted)} in short steps)` : '';
  return `${root} ${formatDuration(total)}: ${shown.join(' <- ')}${more}${small}`;
}

export function renderDiagnostics(d: readonly DiagnosticEntry[]): string[] {
  if (d.length === 0) return ['diagnostics: none (the input was clean)'];
  const out = ['diagnostics:'];
  for (const e of d) {
    out.push(`  ${e.severity.padEnd(9)} ${e.code} ×${fmtInt(e.count)}: ${e.message}`);
    if (e.example) out.push(`            e.g. ${e.example}`);
  }
  return out;
}

function bar(share: number): string {
  const w = 10;
  const n = Math.round(Math.min(1, Math.max(0, share)) * w);
  return `${'█'.repeat(n)}${'·'.repeat(w - n)}`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function plural(n: number, word: string): string {
  return `${fmtInt(n)} ${word}${n === 1 ? '' : 's'}`;
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}
