// `cpath diff --format html`: the sentences, per endpoint the percentiles side by side, the
// critical-path changes that explain the shift, structure changes, and the differential flame
// graph (new run vs base run).
import { h } from './dom.js';
import { count, dur } from './format.js';
import { renderFlame } from './flame.js';
import { renderDiagnostics } from './tables.js';
import type { DiffPageData } from '../report/page-types.js';
import type { DiffEndpoint, DiffSideInput } from '../report/diff-types.js';
import type { DiagnosticEntry } from '../model/diagnostics.js';

const signed = (ns: number): string => `${ns > 0 ? '+' : ''}${dur(ns)}`;

export function renderDiff(d: DiffPageData): HTMLElement[] {
  const r = d.diff;
  const side = (name: string, s: DiffSideInput, diag: DiagnosticEntry[]): HTMLElement =>
    h(
      'div',
      { class: `side ${name}` },
      h('h3', {}, `${name}: ${s.files.join(', ') || '(store)'}`),
      h('p', { class: 'counts' }, `${count(s.spans)} spans, ${count(s.tracesAnalysed)} traces analysed`),
      renderDiagnostics(diag, `Diagnostics of the ${name} run`),
    );
  const head = h(
    'header',
    {},
    h('h1', {}, 'cpath diff'),
    h('p', { class: 'generator' }, `${r.generator}; significance: ${r.test}, p < ${r.settings.alpha} and a median shift of at least ${r.settings.minRelativeShift * 100}%`),
    h('div', { class: 'sides' }, side('base', r.input.base, r.diagnostics.base), side('new', r.input.new, r.diagnostics.new)),
    h('ul', { class: 'sentences' }, ...r.endpoints.map((e) => h('li', {}, e.summary))),
    onlyTable('Endpoints only in the base run', r.onlyInBase),
    onlyTable('Endpoints only in the new run', r.onlyInNew),
  );
  return [head, ...r.endpoints.map((e, i) => endpoint(e, d.flames[i]))];
}

function onlyTable(caption: string, rows: readonly { service: string; operation: string; traces: number }[]): HTMLElement | undefined {
  if (rows.length === 0) return undefined;
  return h('table', { class: 'only' }, h('caption', {}, caption), ...rows.map((x) => h('tr', {}, h('td', {}, `${x.service} ${x.operation}`), h('td', { class: 'num' }, `${x.traces} traces`))));
}

function endpoint(e: DiffEndpoint, flame: DiffPageData['flames'][number] | undefined): HTMLElement {
  const keys = ['p50', 'p90', 'p99', 'max'] as const;
  return h(
    'section',
    { class: 'endpoint diff', 'data-service': e.service, 'data-operation': e.operation },
    h('h2', {}, h('span', { class: 'svc' }, e.service), ' ', e.operation),
    h('p', { class: 'summary' }, e.summary),
    h(
      'table',
      { class: 'latency' },
      h('caption', {}, `Latency: ${e.base.traces} base traces, ${e.new.traces} new; ${e.significant ? 'a significant shift' : 'no significant shift'} (U ${e.u}, p ${e.pValue < 0.001 ? '< 0.001' : `= ${e.pValue.toPrecision(2)}`})`),
      h('tr', {}, h('th', {}, ''), ...keys.map((k) => h('th', {}, k)), h('th', {}, 'mean')),
      h('tr', {}, h('td', {}, 'base'), ...keys.map((k) => h('td', { class: 'num' }, dur(e.base.latencyNs[k]))), h('td', { class: 'num' }, dur(e.base.meanNs))),
      h('tr', {}, h('td', {}, 'new'), ...keys.map((k) => h('td', { class: 'num' }, dur(e.new.latencyNs[k]))), h('td', { class: 'num' }, dur(e.new.meanNs))),
      h('tr', {}, h('td', {}, 'delta'), ...keys.map((k) => h('td', { class: 'num' }, signed(e.deltaNs[k]))), h('td', { class: 'num' }, signed(e.deltaNs.mean))),
    ),
    h(
      'table',
      { class: 'changes' },
      h('caption', {}, 'Critical-path changes: mean path time per trace (zeros included); the deltas add up to the change of the mean latency'),
      h('tr', {}, h('th', {}, 'service / operation'), h('th', {}, 'base'), h('th', {}, 'new'), h('th', {}, 'delta'), h('th', {}, 'on path (base/new)'), h('th', {}, '')),
      ...e.changes.map((c) =>
        h(
          'tr',
          { 'data-service': c.service, 'data-operation': c.operation },
          h('td', {}, h('span', { class: 'svc' }, c.service), ' ', c.operation),
          h('td', { class: 'num' }, dur(c.meanPathNsBase)),
          h('td', { class: 'num' }, dur(c.meanPathNsNew)),
          h('td', { class: `num ${c.deltaNs > 0 ? 'worse' : c.deltaNs < 0 ? 'better' : ''}` }, signed(c.deltaNs)),
          h('td', { class: 'num' }, `${c.onPathTracesBase}/${c.onPathTracesNew}`),
          h('td', {}, c.enteredPath ? `entered the path${c.swappedWith ? `, was hidden behind ${c.swappedWith.service} ${c.swappedWith.operation}` : ''}` : c.leftPath ? `left the path${c.swappedWith ? `, now hidden behind ${c.swappedWith.service} ${c.swappedWith.operation}` : ''}` : ''),
        ),
      ),
    ),
    e.structure.length > 0
      ? h('table', { class: 'structure' }, h('caption', {}, 'Structure: calls per trace that changed'), h('tr', {}, h('th', {}, 'service / operation'), h('th', {}, 'base'), h('th', {}, 'new')), ...e.structure.map((s) => h('tr', {}, h('td', {}, `${s.service} ${s.operation}`), h('td', { class: 'num' }, s.callsPerTraceBase.toFixed(2)), h('td', { class: 'num' }, s.callsPerTraceNew.toFixed(2)))))
      : h('p', {}, 'Structure: no operation appeared, disappeared or changed its calls per trace.'),
    flame ? h('div', {}, h('h3', {}, 'Differential flame graph of critical-path time'), renderFlame(flame)) : undefined,
  );
}
