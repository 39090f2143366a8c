// The report's tables: inputs and diagnostics, the critical-path breakdown, outliers, trace lists.
import { h } from './dom.js';
import { clock, count, dur, pct } from './format.js';
import type { AnalyzeReport, ReportEndpoint } from '../report/types.js';
import type { DiagnosticEntry } from '../model/diagnostics.js';

export function renderInputs(r: Omit<AnalyzeReport, 'traces'>): HTMLElement {
  const files = r.input.files.map((f, i) => h('li', {}, h('code', {}, f), ` (${r.input.formats[i] ?? '?'})`));
  const t = r.input.threads;
  return h(
    'div',
    { class: 'inputs' },
    h('ul', { class: 'files' }, ...files),
    h(
      'p',
      { class: 'counts' },
      `${count(r.input.spans)} spans, ${count(r.input.traces)} traces read, ${count(r.input.tracesAnalysed)} analysed, ${r.endpoints.length} endpoints`,
      t ? `; thread data: ${t.logs} event logs, ${t.threads} threads, clock anchors within ${dur(t.anchorSpreadNs)}` : '',
      `. Outlier rule: ${r.input.settings.outliers}; clock-skew adjustment ${r.input.settings.skewAdjust ? 'on' : 'off'}.`,
    ),
  );
}

export function renderDiagnostics(diagnostics: readonly DiagnosticEntry[], caption = 'Diagnostics: what was repaired, skipped or unusable in the input'): HTMLElement {
  if (diagnostics.length === 0) return h('p', { class: 'diagnostics clean' }, 'Diagnostics: none, the input was clean.');
  return h(
    'table',
    { class: 'diagnostics' },
    h('caption', {}, caption),
    h('tr', {}, h('th', {}, 'code'), h('th', {}, 'count'), h('th', {}, 'what happened'), h('th', {}, 'first example')),
    ...diagnostics.map((d) => h('tr', { 'data-code': d.code }, h('td', {}, h('code', {}, d.code)), h('td', { class: 'num' }, count(d.count)), h('td', {}, d.message), h('td', {}, d.example ?? ''))),
  );
}

export function renderBreakdown(e: ReportEndpoint): HTMLElement {
  const rows = e.criticalPath.map((c) =>
    h(
      'tr',
      { 'data-service': c.service, 'data-operation': c.operation },
      h('td', {}, h('span', { class: 'svc' }, c.service), ' ', c.operation, c.thread ? h('span', { class: 'note' }, ` ${c.thread} ${c.state ?? ''}`) : undefined),
      h('td', { class: 'num' }, h('span', { class: 'share-bar', style: `width:${Math.round(c.share * 80)}px` }), ' ', pct(c.share)),
      h('td', { class: 'num' }, dur(c.selfNs.p50)),
      h('td', { class: 'num' }, dur(c.selfNs.p99)),
      h('td', { class: 'num' }, `${c.onPathTraces}`),
      h('td', { class: 'num' }, c.errors > 0 ? `${c.errors}` : ''),
    ),
  );
  return h(
    'table',
    { class: 'breakdown' },
    h('caption', {}, 'Critical-path breakdown: share of the endpoint’s latency, and path time per trace where the component is on the path'),
    h('tr', {}, h('th', {}, 'service / operation'), h('th', {}, 'share'), h('th', {}, 'self p50'), h('th', {}, 'self p99'), h('th', {}, 'on path in'), h('th', {}, 'errors')),
    ...rows,
  );
}

export function renderOutliers(e: ReportEndpoint, open: (traceId: string) => void, embedded: (traceId: string) => boolean): HTMLElement {
  if (e.outliers.length === 0) return h('p', { class: 'outliers none' }, `No outliers at or above ${dur(e.outlierThresholdNs)}.`);
  return h(
    'table',
    { class: 'outliers' },
    h('caption', {}, `Outliers: ${e.outlierCount} traces at or above ${dur(e.outlierThresholdNs)}${e.outlierCount > e.outliers.length ? `, the slowest ${e.outliers.length} listed` : ''}`),
    h('tr', {}, h('th', {}, 'trace'), h('th', {}, 'duration'), h('th', {}, 'started (UTC)'), h('th', {}, 'dominant on the path'), h('th', {}, 'beyond a typical trace')),
    ...e.outliers.map((o) =>
      h(
        'tr',
        { 'data-trace-id': o.traceId },
        h('td', {}, traceLink(o.traceId, open, embedded)),
        h('td', { class: 'num' }, dur(o.durationNs)),
        h('td', {}, clock(o.startUnixNano)),
        h('td', {}, `${o.dominant.service} ${o.dominant.operation}${o.dominant.thread ? ` ${o.dominant.thread} ${o.dominant.state ?? ''}` : ''} ${dur(o.dominant.selfNs)}`),
        h('td', {}, o.excess.slice(0, 3).map((x) => `${x.service} ${x.operation} +${dur(x.ns)}`).join(', ')),
      ),
    ),
  );
}

export interface TraceRow {
  readonly traceId: string;
  readonly startUnixNano: string;
  readonly durationNs: number;
  readonly label: string;
}

export function renderTraceList(cls: string, caption: string, traces: readonly TraceRow[], open: (traceId: string) => void, embedded: (traceId: string) => boolean, limit = 500): HTMLElement {
  const shown = traces.slice(0, limit);
  return h(
    'table',
    { class: cls },
    h('caption', {}, caption, traces.length > limit ? ` (the first ${limit} shown)` : ''),
    h('tr', {}, h('th', {}, 'trace'), h('th', {}, 'duration'), h('th', {}, 'started (UTC)'), h('th', {}, 'endpoint')),
    ...shown.map((t) => h('tr', { 'data-trace-id': t.traceId }, h('td', {}, traceLink(t.traceId, open, embedded)), h('td', { class: 'num' }, dur(t.durationNs)), h('td', {}, clock(t.startUnixNano)), h('td', {}, t.label))),
  );
}

function traceLink(traceId: string, open: (traceId: string) => void, embedded: (traceId: string) => boolean): HTMLElement {
  return h('button', { type: 'button', class: `open-trace${embedded(traceId) ? '' : ' not-embedded'}`, 'data-trace-id': traceId, onclick: () => open(traceId) }, traceId);
}
