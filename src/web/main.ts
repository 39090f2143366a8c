// The page script of the HTML report and of `cpath serve`'s live page. The report embeds its
// data (`<script type="application/json" id="cpath-data">`); the live page polls `/api/page`.
import 'uplot/dist/uPlot.min.css';
import './page.css';
import { h, fill } from './dom.js';
import { count, dur } from './format.js';
import { renderHeatmap } from './heatmap.js';
import { destroyCurves, renderCurve } from './curve.js';
import { renderFlame } from './flame.js';
import { renderWaterfall } from './waterfall.js';
import { renderBreakdown, renderDiagnostics, renderInputs, renderOutliers, renderTraceList, type TraceRow } from './tables.js';
import { renderDiff } from './diff.js';
import type { DiffPageData, PageData } from '../report/page-types.js';
import type { ReportTraceDetail } from '../report/types.js';

/** Live mode: poll at least this often... */
const POLL_MS = 2000;
/** ...but spend at most a tenth of the time fetching and drawing, so big snapshots poll less often. */
const POLL_SHARE = 0.1;
let pollMs = POLL_MS;

interface State {
  data: PageData;
  embedded: Map<string, ReportTraceDetail>;
  /** Live mode: what holds updates back (an open heat-map selection or search result), so a list being read does not vanish. */
  holds: Set<string>;
}

let state: State | undefined;
const traceView = h('section', { id: 'trace-view', hidden: true });
const endpointsBox = h('div', { class: 'endpoints' });
const headBox = h('header', {});
const status = h('div', { class: 'live-status' });
/** Live mode: outside what polls redraw, so typing and reading there is never interrupted. */
const searchBox = h('div', {});

function isPageData(v: unknown): v is PageData {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (o['mode'] === 'report' || o['mode'] === 'live') && typeof o['report'] === 'object' && typeof o['summaries'] === 'object' && Array.isArray(o['curves']) && Array.isArray(o['traces']);
}

function isDiffPageData(v: unknown): v is DiffPageData {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o['mode'] === 'diff' && typeof o['diff'] === 'object' && Array.isArray(o['flames']);
}

function boot(): void {
  document.body.append(headBox, searchBox, status, traceView, endpointsBox);
  const el = document.getElementById('cpath-data');
  if (el?.textContent) {
    const parsed: unknown = JSON.parse(el.textContent);
    if (isDiffPageData(parsed)) {
      fill(endpointsBox, ...renderDiff(parsed));
      document.body.dataset['ready'] = '1';
      return;
    }
    if (!isPageData(parsed)) throw new Error('the embedded report data is not in the expected shape');
    show(parsed);
    document.body.dataset['ready'] = '1';
  } else {
    fill(searchBox, searchForm());
    void poll();
  }
}

function show(data: PageData): void {
  const embedded = new Map<string, ReportTraceDetail>();
  for (const t of data.traces) embedded.set(t.traceId, t);
  state = { data, embedded, holds: state?.holds ?? new Set() };
  document.title = data.mode === 'live' ? 'cpath live' : `cpath report: ${data.report.input.files.join(', ')}`;
  fill(
    headBox,
    h('h1', {}, data.mode === 'live' ? 'cpath live' : 'cpath report'),
    h('p', { class: 'generator' }, `${data.report.generator}${data.takenAtMs !== undefined ? `, updated ${new Date(data.takenAtMs).toISOString().slice(11, 19)} UTC` : ''}`),
    renderInputs(data.report),
    renderDiagnostics(data.report.diagnostics),
    h('nav', {}, 'Endpoints: ', ...data.report.endpoints.map((e, i) => h('a', { href: `#endpoint-${i}` }, `${e.service} ${e.operation} (${e.traces})`))),
  );
  destroyCurves();
  fill(endpointsBox, ...data.report.endpoints.map((_, i) => renderEndpoint(data, i)));
}

function renderEndpoint(data: PageData, i: number): HTMLElement {
  const e = data.report.endpoints[i];
  if (!e) return h('div', {});
  const sm = data.summaries;
  const epIndex = sm.endpoints.findIndex((x) => x.service === e.service && x.operation === e.operation);
  const members: number[] = [];
  for (let k = 0; k < sm.traceId.length; k++) if (sm.endpoint[k] === epIndex) members.push(k);
  const selection = h('div', { class: 'selection-box' });
  const onSelect = (picked: number[], caption: string): void => {
    const base = BigInt(sm.baseUnixNano);
    const rows: TraceRow[] = picked
      .map((k) => ({ traceId: sm.traceId[k] ?? '', startUnixNano: (base + BigInt(sm.startOffsetNs[k] ?? 0)).toString(), durationNs: sm.durationNs[k] ?? 0, label: `${e.service} ${e.operation}` }))
      .sort((a, b) => b.durationNs - a.durationNs);
    fill(selection, renderTraceList('selection', `Selected: ${caption}, slowest first`, rows, openTrace, isAvailable), h('button', { type: 'button', class: 'clear-selection', onclick: () => { fill(selection); release(`selection ${i}`); } }, 'clear selection'));
    hold(`selection ${i}`);
  };
  const mapBox = h('div', { class: 'heatmap-holder' });
  let clipped = false;
  const drawMap = (): void => fill(mapBox, renderHeatmap({ summaries: sm, members, ...(clipped ? { topNs: e.latencyNs.p99 } : {}), onSelect }));
  drawMap();
  const clipToggle = h('label', { class: 'clip' }, h('input', { type: 'checkbox', onchange: (ev: Event) => { clipped = (ev.target as HTMLInputElement).checked; drawMap(); } }), ' clip at p99 (', dur(e.latencyNs.p99), ')');
  const curve = data.curves[i];
  const flame = data.flames?.[i];
  const typical = e.typicalTraceId;
  return h(
    'section',
    { class: 'endpoint', id: `endpoint-${i}`, 'data-service': e.service, 'data-operation': e.operation, 'data-traces': e.traces },
    h('h2', {}, h('span', { class: 'svc' }, e.service), ' ', e.operation),
    h('p', { class: 'latency' }, `${count(e.traces)} traces · p50 ${dur(e.latencyNs.p50)} · p90 ${dur(e.latencyNs.p90)} · p99 ${dur(e.latencyNs.p99)} · p99.9 ${dur(e.latencyNs.p999)} · max ${dur(e.latencyNs.max)}`),
    h('div', { class: 'charts' }, h('div', {}, h('h3', {}, 'Latency heat map'), clipToggle, mapBox), curve ? h('div', {}, h('h3', {}, 'Percentiles'), renderCurve(curve, e.latencyNs.max)) : undefined),
    selection,
    renderBreakdown(e),
    flame ? h('div', {}, h('h3', {}, 'Critical-path flame graph (by call path)'), renderFlame(flame)) : undefined,
    renderOutliers(e, openTrace, isAvailable),
    typical ? h('p', { class: 'typical' }, 'Typical trace (the median): ', h('button', { type: 'button', class: 'open-trace typical-trace', 'data-trace-id': typical, onclick: () => openTrace(typical) }, typical)) : undefined,
  );
}

function isAvailable(traceId: string): boolean {
  return state?.data.mode === 'live' || (state?.embedded.has(traceId) ?? false);
}

async function openTrace(traceId: string): Promise<void> {
  if (!state) return;
  let detail = state.embedded.get(traceId);
  traceView.hidden = false;
  traceView.dataset['traceId'] = traceId;
  if (!detail && state.data.mode === 'live') {
    fill(traceView, h('p', {}, `Loading trace ${traceId}…`));
    try {
      const res = await fetch(`/api/traces/${encodeURIComponent(traceId)}`);
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      const body: unknown = await res.json();
      // A stored trace with no analysable root (a parent cycle) comes with its problems instead.
      if (typeof body === 'object' && body !== null && 'analysed' in body && body.analysed === false && 'diagnostics' in body && Array.isArray(body.diagnostics)) {
        const why = body.diagnostics.map((d: unknown) => (typeof d === 'object' && d !== null && 'example' in d && typeof d.example === 'string' ? d.example : 'unknown problem'));
        fill(traceView, closeButton(), h('p', { class: 'error' }, `Trace ${traceId} is stored but has no root to analyse: ${why.join('; ')}`));
        return;
      }
      if (typeof body !== 'object' || body === null || !('spans' in body) || !('criticalPath' in body)) throw new Error('unexpected reply');
      detail = body as ReportTraceDetail;
    } catch (e) {
      fill(traceView, closeButton(), h('p', { class: 'error' }, `Trace ${traceId} could not be loaded: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
  }
  if (!detail) {
    fill(traceView, closeButton(), h('p', { class: 'not-embedded' }, `Trace ${traceId} is not embedded in this report (it holds outliers, typical traces and --embed-traces more). See it with: cpath analyze INPUT --trace ${traceId}, or on cpath serve's live page.`));
  } else {
    fill(traceView, closeButton(), h('h2', {}, 'Trace'), renderWaterfall(detail));
  }
  traceView.scrollIntoView({ block: 'start' });
}

function closeButton(): HTMLElement {
  return h('button', { type: 'button', class: 'close-trace', onclick: () => { traceView.hidden = true; delete traceView.dataset['traceId']; } }, 'close ✕');
}

function hold(why: string): void {
  state?.holds.add(why);
}

function release(why: string): void {
  state?.holds.delete(why);
}

// Live mode.

async function poll(): Promise<void> {
  try {
    if (!state || state.holds.size === 0) {
      const t0 = performance.now();
      const res = await fetch('/api/page', { headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`/api/page: ${res.status} ${res.statusText}`);
      const body: unknown = await res.json();
      if (!isPageData(body)) throw new Error('/api/page: unexpected reply');
      show(body);
      pollMs = Math.max(POLL_MS, (performance.now() - t0) / POLL_SHARE);
      fill(status, body.summaries.omitted ? `Showing the newest traces; ${count(body.summaries.omitted)} older ones are left out of the heat maps.` : '');
      document.body.dataset['ready'] = '1';
    } else {
      fill(status, 'Updates paused while a heat-map selection or search result is open: clear it to resume.');
    }
  } catch (e) {
    fill(status, h('span', { class: 'error' }, `cannot reach cpath serve: ${e instanceof Error ? e.message : String(e)}; retrying`));
  }
  setTimeout(() => void poll(), pollMs);
}

function searchForm(): HTMLElement {
  const results = h('div', { class: 'search-box' });
  const form = h(
    'form',
    { class: 'search' },
    h('label', {}, 'service ', h('input', { name: 'service', size: 12 })),
    h('label', {}, ' operation ', h('input', { name: 'operation', size: 16 })),
    h('label', {}, ' duration from ', h('input', { name: 'minDuration', size: 7, placeholder: '100ms' })),
    h('label', {}, ' to ', h('input', { name: 'maxDuration', size: 7, placeholder: '2s' })),
    h('label', {}, ' attribute ', h('input', { name: 'attr', size: 20, placeholder: 'http.route=/cart' })),
    ' ',
    h('button', { type: 'submit' }, 'search traces'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const name of ['service', 'operation', 'minDuration', 'maxDuration', 'attr']) {
      const v = (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? '';
      if (v !== '') q.set(name, v);
    }
    q.set('limit', '100');
    void search(q, results);
  });
  return h('div', { class: 'search-area' }, h('h3', {}, 'Trace search'), form, results);
}

interface SearchRow {
  traceId: string;
  startUnixNano: string;
  durationNs: number;
  service: string;
  operation: string;
}

function isSearchRow(v: unknown): v is SearchRow {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['traceId'] === 'string' && typeof o['startUnixNano'] === 'string' && typeof o['durationNs'] === 'number' && typeof o['service'] === 'string' && typeof o['operation'] === 'string';
}

/**
 * Runs a search; `next` continues it. An attribute search scans for at most a second per
 * request, so fewer rows than asked plus a `next` cursor means "not finished", not "no more".
 */
async function search(q: URLSearchParams, out: HTMLElement, earlier: TraceRow[] = []): Promise<void> {
  hold('search');
  try {
    const res = await fetch(`/api/traces?${q.toString()}`);
    const body: unknown = await res.json();
    if (!res.ok) throw new Error(typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : `${res.status}`);
    const o = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const list = Array.isArray(o['traces']) ? o['traces'].filter(isSearchRow) : [];
    const next = typeof o['next'] === 'string' ? o['next'] : undefined;
    const rows: TraceRow[] = [...earlier, ...list.map((t) => ({ traceId: t.traceId, startUnixNano: t.startUnixNano, durationNs: t.durationNs, label: `${t.service} ${t.operation}` }))];
    const more = next !== undefined
      ? h('button', { type: 'button', class: 'search-more', onclick: () => { const q2 = new URLSearchParams(q); q2.set('cursor', next); void search(q2, out, rows); } }, 'search further (older traces)')
      : undefined;
    fill(
      out,
      renderTraceList('search-results', `${rows.length} traces, newest first${next !== undefined ? '; older traces not searched yet' : ', every stored trace searched'}`, rows, openTrace, isAvailable, 2000),
      more,
      ' ',
      h('button', { type: 'button', onclick: () => { fill(out); release('search'); } }, 'clear results'),
    );
    return;
  } catch (e) {
    fill(out, h('p', { class: 'error' }, `search failed: ${e instanceof Error ? e.message : String(e)}`));
  }
  release('search');
}

// Exposed for tests and curious users: the data the page was drawn from.
(window as unknown as { cpath: () => PageData | undefined }).cpath = () => state?.data;

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
