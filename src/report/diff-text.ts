// The terminal report of `cpath diff`: one sentence per endpoint to paste into a ticket, then a
// table per endpoint (percentiles side by side, the critical-path changes, structure changes),
// the endpoints found on one side only, and each side's diagnostics.
import type { ComponentChange, EndpointDiff } from '../../analysis/diff.js';
import { formatDuration } from '../model/time.js';
import type { DiffComponentChange, DiffEndpoint, DiffReport, DiffSideInput } from './diff-types.js';
import { renderDiagnostics } from './text.js';

const TOP_CHANGES = 8;
const TOP_STRUCTURE = 6;

/**
 * "frontend GET /checkout p50 +5.12 ms (41.3 -> 46.4 ms, p < 0.001): cart cache.get +9.87 ms on
 * the path (now dominant, was hidden behind cart hash-session)".
 */
export function endpointSentence(e: EndpointDiff, alpha: number): string {
  const d = e.new.latencyNs.p50 - e.base.latencyNs.p50;
  const head = `${e.service} ${e.operation} p50 ${signed(d)} (${pair(e.base.latencyNs.p50, e.new.latencyNs.p50)}, ${pText(e.test.pValue)})`;
  const top = e.changes[0];
  if (!e.significant) {
    const reason = e.test.pValue < alpha ? ' (the medians moved less than the noise floor)' : '';
    return `${head}: no significant change${reason}${top && top.deltaNs !== 0 ? `; largest on the path: ${top.service} ${top.operation} ${signed(top.deltaNs)}` : ''}`;
  }
  if (!top || top.deltaNs === 0) return `${head}: no component's mean path time changed`;
  const parts = [changeText(top)];
  // A second component when it moved at least half as much, unless it is the first one's swap partner (already named).
  const second = e.changes.find((c, i) => i > 0 && !isPartner(top, c));
  if (second && 2 * Math.abs(second.deltaNs) >= Math.abs(top.deltaNs)) parts.push(changeText(second));
  return `${head}: ${parts.join(', ')}`;
}

function isPartner(a: ComponentChange, b: ComponentChange): boolean {
  return a.swappedWith !== undefined && a.swappedWith.service === b.service && a.swappedWith.operation === b.operation;
}

function changeText(c: ComponentChange | DiffComponentChange): string {
  return `${c.service} ${c.operation} ${signed(c.deltaNs)} on the path${pathNote(c)}`;
}

/** Why a component moved on or off the path. */
function pathNote(c: ComponentChange | DiffComponentChange): string {
  const other = c.swappedWith ? `${c.swappedWith.service} ${c.swappedWith.operation}` : undefined;
  if (c.enteredPath) return other ? ` (now dominant, was hidden behind ${other})` : ' (entered the path)';
  if (c.leftPath) return other ? ` (left the path, now hidden behind ${other})` : ' (left the path)';
  return '';
}

export function renderDiffText(r: DiffReport): string {
  const lines: string[] = [];
  // The sentences lead, ready to paste into a ticket; what was compared comes after them.
  for (const e of r.endpoints) lines.push(e.summary);
  if (r.endpoints.length === 0) lines.push('No endpoint has traces on both sides.');
  lines.push('');
  lines.push(`cpath diff: base ${sideText(r.input.base)}`);
  lines.push(`            new  ${sideText(r.input.new)}`);
  lines.push(`shift test: Mann-Whitney U on the root durations, two-sided; significant when p < ${r.settings.alpha} and the medians differ by at least ${(r.settings.minRelativeShift * 100).toFixed(0)}%`);
  if (!r.settings.skewAdjust) lines.push('clock-skew adjustment: off');
  if (r.settings.overlapToleranceNs !== undefined) lines.push(`overlap tolerance: ${formatDuration(r.settings.overlapToleranceNs)} for every span`);
  for (const e of r.endpoints) {
    lines.push('');
    lines.push(...renderEndpoint(e));
  }
  if (r.onlyInBase.length > 0 || r.onlyInNew.length > 0) lines.push('');
  for (const o of r.onlyInBase) lines.push(`only in base: ${o.service} ${o.operation}  (${o.traces} traces)`);
  for (const o of r.onlyInNew) lines.push(`only in new:  ${o.service} ${o.operation}  (${o.traces} traces)`);
  const same = JSON.stringify(r.diagnostics.base) === JSON.stringify(r.diagnostics.new) && r.settings.splitAtUnixNano !== undefined;
  lines.push('');
  if (same) lines.push(...prefixed('(both sides, one input) ', renderDiagnostics(r.diagnostics.base)));
  else {
    lines.push(...prefixed('base ', renderDiagnostics(r.diagnostics.base)));
    lines.push(...prefixed('new  ', renderDiagnostics(r.diagnostics.new)));
  }
  return `${lines.join('\n')}\n`;
}

function prefixed(prefix: string, block: string[]): string[] {
  return block.map((l, i) => (i === 0 ? `${prefix}${l}` : l));
}

function sideText(s: DiffSideInput): string {
  const w = s.window;
  const window = w ? `, starting${w.sinceUnixNano !== undefined ? ` from ${iso(w.sinceUnixNano)}` : ''}${w.untilUnixNano !== undefined ? ` before ${iso(w.untilUnixNano)}` : ''}` : '';
  return `${s.files.join(', ')} (${[...new Set(s.formats)].join(', ')}; ${s.tracesAnalysed.toLocaleString('en-US')} traces${window})`;
}

function renderEndpoint(e: DiffEndpoint): string[] {
  const out: string[] = [];
  out.push(`${e.service}  ${e.operation}   base ${e.base.traces} traces, new ${e.new.traces} traces`);
  out.push(`  ${'latency'.padEnd(12)}${'base'.padStart(10)} ${'new'.padStart(10)} ${'delta'.padStart(11)}`);
  const row = (label: string, b: number, n: number): string => `    ${label.padEnd(10)}${formatDuration(b).padStart(10)} ${formatDuration(n).padStart(10)} ${signed(n - b).padStart(11)}`;
  out.push(row('p50', e.base.latencyNs.p50, e.new.latencyNs.p50));
  out.push(row('p90', e.base.latencyNs.p90, e.new.latencyNs.p90));
  out.push(row('p99', e.base.latencyNs.p99, e.new.latencyNs.p99));
  out.push(row('max', e.base.latencyNs.max, e.new.latencyNs.max));
  out.push(row('mean', e.base.meanNs, e.new.meanNs));
  out.push(`  shift: ${e.significant ? 'significant' : 'not significant'} (Mann-Whitney U ${e.u}, z ${e.z.toFixed(2)}, ${pText(e.pValue)})`);
  const moved = e.changes.filter((c) => c.deltaNs !== 0 || c.enteredPath || c.leftPath);
  if (moved.length === 0) out.push('  critical path: no component\'s mean path time changed');
  else {
    const width = Math.max(28, ...moved.slice(0, TOP_CHANGES).map((c) => `${c.service} ${c.operation}`.length));
    out.push(`  ${'critical path, mean per trace'.padEnd(width + 2)}${'base'.padStart(10)} ${'new'.padStart(10)} ${'delta'.padStart(11)}   on path (base/new)`);
    for (const c of moved.slice(0, TOP_CHANGES)) {
      const name = `${c.service} ${c.operation}`.padEnd(width);
      out.push(`    ${name}${formatDuration(c.meanPathNsBase).padStart(10)} ${formatDuration(c.meanPathNsNew).padStart(10)} ${signed(c.deltaNs).padStart(11)}   ${`${c.onPathTracesBase}/${c.onPathTracesNew}`.padEnd(9)}${pathNote(c)}`.trimEnd());
    }
    if (moved.length > TOP_CHANGES) out.push(`    … ${moved.length - TOP_CHANGES} more with smaller changes (--format json lists all)`);
  }
  if (e.structure.length === 0) out.push('  structure: the same operations, the same calls per trace');
  else {
    out.push(`  ${'structure, spans per trace'.padEnd(30)}${'base'.padStart(10)} ${'new'.padStart(10)}`);
    for (const s of e.structure.slice(0, TOP_STRUCTURE)) {
      const what = s.callsPerTraceBase === 0 ? '  appeared' : s.callsPerTraceNew === 0 ? '  disappeared' : '';
      out.push(`    ${`${s.service} ${s.operation}`.padEnd(28)}${calls(s.callsPerTraceBase).padStart(10)} ${calls(s.callsPerTraceNew).padStart(10)}${what}`);
    }
    if (e.structure.length > TOP_STRUCTURE) out.push(`    … ${e.structure.length - TOP_STRUCTURE} more (--format json lists all)`);
  }
  return out;
}

function calls(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/** A duration with its sign: +5.12 ms, -816 µs, +0 ns. */
function signed(ns: number): string {
  return ns < 0 ? formatDuration(ns) : `+${formatDuration(ns)}`;
}

/** "41.3 -> 46.4 ms" when both have the same unit, else "816 µs -> 1.20 ms". */
function pair(a: number, b: number): string {
  const fa = formatDuration(a);
  const fb = formatDuration(b);
  const ua = fa.slice(fa.lastIndexOf(' '));
  return ua === fb.slice(fb.lastIndexOf(' ')) ? `${fa.slice(0, fa.lastIndexOf(' '))} -> ${fb}` : `${fa} -> ${fb}`;
}

function pText(p: number): string {
  if (p < 0.001) return 'p < 0.001';
  if (p >= 0.995) return 'p = 1';
  return `p = ${Number(p.toPrecision(2))}`;
}

function iso(unixNano: string): string {
  return new Date(Number(BigInt(unixNano) / 1_000_000n)).toISOString();
}
