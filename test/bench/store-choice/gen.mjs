// Deterministic workload: 50,000 traces x 10 spans = 500,000 spans.
// Spans of each group of 200 traces (2000 spans = 4 batches) are shuffled,
// so each trace is spread over ~4 batches (~190 distinct traces per batch).
export const TOTAL = 500_000, BATCH = 500, PER_TRACE = 10, WINDOW = 2000;
export const BASE = 1_700_000_000_000_000_000n;
export const TRACE_GAP = 1_000_000n; // 1 ms between trace starts
function mulberry32(a) { return function () { a |= 0; a = a + 0x6D2B79F5 | 0; let t = Math.imul(a ^ a >>> 15, 1 | a); t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t; return ((t ^ t >>> 14) >>> 0); }; }
export const rnd = mulberry32(42);
const h8 = () => rnd().toString(16).padStart(8, '0');
export const NAMES = ['GET /api/items', 'POST /api/orders', 'db.query', 'cache.get', 'http.client', 'render', 'auth.check', 'queue.publish'];
export function generate() {
  const nTraces = TOTAL / PER_TRACE;
  const traceIds = new Array(nTraces);
  const spans = [];
  for (let t = 0; t < nTraces; t++) {
    const tid = h8() + h8() + h8() + h8();
    traceIds[t] = tid;
    const tstart = BASE + BigInt(t) * TRACE_GAP;
    let root = null;
    for (let s = 0; s < PER_TRACE; s++) {
      const sid = h8() + h8();
      const st = tstart + BigInt(s * 1000 + (rnd() % 1000));
      const en = st + BigInt(10_000 + rnd() % 5_000_000);
      const attrs = JSON.stringify({ 'http.method': 'GET', 'http.route': `/api/v1/items/${rnd() % 100000}`, 'http.status_code': 200, 'net.peer.name': `svc-${rnd() % 50}.internal`, 'thread.id': rnd() % 1000000, 'x': 'abcdefghij' });
      spans.push({ trace_id: tid, span_id: sid, parent_id: s === 0 ? null : root, name: NAMES[rnd() % NAMES.length], resource_id: rnd() % 20, kind: rnd() % 5, start_ns: st, end_ns: en, status: rnd() % 3, attrs });
      if (s === 0) root = sid;
    }
  }
  for (let w = 0; w < spans.length; w += WINDOW) { // Fisher-Yates within window
    for (let i = Math.min(w + WINDOW, spans.length) - 1; i > w; i--) { const j = w + (rnd() % (i - w + 1)); const x = spans[i]; spans[i] = spans[j]; spans[j] = x; }
  }
  return { spans, traceIds };
}
export function aggregate(batch) { // per-trace upsert rows for one batch
  const m = new Map();
  for (const s of batch) {
    const a = m.get(s.trace_id);
    if (!a) m.set(s.trace_id, { trace_id: s.trace_id, start_ns: s.start_ns, last_seen_ns: s.end_ns, span_count: 1 });
    else { if (s.start_ns < a.start_ns) a.start_ns = s.start_ns; if (s.end_ns > a.last_seen_ns) a.last_seen_ns = s.end_ns; a.span_count++; }
  }
  return [...m.values()];
}
// queries: deterministic random choices
export function pointIds(traceIds, n) { const r = mulberry32(7); return Array.from({ length: n }, () => traceIds[r() % traceIds.length]); }
export function ranges(n) { // window = 5% of total time span, random position
  const r = mulberry32(9); const nT = TOTAL / PER_TRACE; const w = Math.floor(nT * 0.05);
  return Array.from({ length: n }, () => { const lo = r() % (nT - w); return [BASE + BigInt(lo) * TRACE_GAP, BASE + BigInt(lo + w) * TRACE_GAP]; });
}
