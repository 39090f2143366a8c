// The terminal report: per endpoint the percentiles, the top path components with shares, the
// outliers with their blame; then the diagnostics. Everything else is in --format json.
import type { DiagnosticEntry } from '../model/diagnostics.js';
import { formatDuration, formatUnixNano } from '../model/time.js';
import type { AnalyzeReport, ReportEndpoint } from './types.js';

const TOP_COMPONENTS = 8;
const TOP_OUTLIERS = 5;

export function renderText(r: AnalyzeReport): string {
  const lines: string[] = [];
  const inp = r.input;
  const filtered = inp.tracesAnalysed !== inp.traces ? ` (${inp.tracesAnalysed} after filters)` : '';
  lines.push(`cpath: ${plural(inp.files.length, 'input')} (${[...new Set(inp.formats)].join(', ')}), ${fmtInt(inp.spans)} spans, ${fmtInt(inp.traces)} traces${filtered}, ${plural(r.endpoints.length, 'endpoint')}`);
  const gran = Object.entries(inp.granularity).filter(([, g]) => g !== 'none');
  if (inp.settings.overlapToleranceNs !== undefined) lines.push(`overlap tolerance: ${formatDuration(inp.settings.overlapToleranceNs)} for every span`);
  else if (gran.length > 0) lines.push(`start-time granularity tolerated: ${gran.map(([s, g]) => `${s} ${g}`).join(', ')}`);
  if (!inp.settings.skewAdjust) lines.push('clock-skew adjustment: off');
  for (const e of r.endpoints) {
    lines.push('');
    lines.push(...renderEndpoint(e));
  }
  if (r.endpoints.length === 0) lines.push('', 'No traces to analyse.');
  lines.push('');
  lines.push(...renderDiagnostics(r.diagnostics));
  return `${lines.join('\n')}\n`;
}

function renderEndpoint(e: ReportEndpoint): string[] {
  const out: string[] = [];
  const l = e.latencyNs;
  out.push(`${e.service}  ${e.operation}   ${plural(e.traces, 'trace')}`);
  out.push(`  latency   p50 ${formatDuration(l.p50)}   p90 ${formatDuration(l.p90)}   p99 ${formatDuration(l.p99)}   p99.9 ${formatDuration(l.p999)}   max ${formatDuration(l.max)}`);
  out.push('  critical path          share   self p50    self p99    on path  component');
  for (const c of e.criticalPath.slice(0, TOP_COMPONENTS)) {
    const err = c.errors > 0 ? `  (${plural(c.errors, 'error')})` : '';
    out.push(`    ${bar(c.share)} ${pct(c.share).padStart(6)}  ${formatDuration(c.selfNs.p50).padStart(9)}  ${formatDuration(c.selfNs.p99).padStart(9)}  ${String(c.onPathTraces).padStart(8)}  ${c.service} ${c.operation}${err}`);
  }
  if (e.criticalPath.length > TOP_COMPONENTS) out.push(`    … ${e.criticalPath.length - TOP_COMPONENTS} more components (--format json lists all)`);
  if (e.outliers.length === 0) {
    out.push(`  outliers  none at or above ${formatDuration(e.outlierThresholdNs)}`);
  } else {
    const shown = e.outliers.length < e.outlierCount ? ` (the slowest ${e.outliers.length} listed; --top raises it)` : '';
    out.push(`  outliers  ${e.outlierCount} at or above ${formatDuration(e.outlierThresholdNs)}${shown}, slowest first:`);
    for (const o of e.outliers.slice(0, TOP_OUTLIERS)) {
      const ex = o.excess
        .slice(0, 3)
        .map((x) => `${x.service} ${x.operation} +${formatDuration(x.ns)}`)
        .join(', ');
      out.push(`    ${o.traceId}  ${formatDuration(o.durationNs).padStart(9)}  at ${formatUnixNano(BigInt(o.startUnixNano)).slice(11, 23)}  dominant: ${o.dominant.service} ${o.dominant.operation} ${formatDuration(o.dominant.selfNs)}`);
      if (ex) out.push(`      beyond a typical trace: ${ex}`);
    }
    if (e.outliers.length > TOP_OUTLIERS) out.push(`    … ${e.outliers.length - TOP_OUTLIERS} more (--format json lists all; --trace ID shows one)`);
  }
  return out;
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
