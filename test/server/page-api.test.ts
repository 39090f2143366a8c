// What the live page asks `cpath serve` for: `/api/page` (the PageData of the HTML report, live),
// `/` (the page itself, with its headers), `/api` (the listing that `/` used to be), and trace
// search by attribute and by duration range on `/api/traces`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageData } from '../../src/report/page-types.js';
import { EndpointIndex } from '../../analysis/endpoint-index.js';
import type { TraceSummary } from '../../analysis/endpoints.js';
import { PageSnapshot, livePageData } from '../../src/server/page-api.js';
import type { TraceListEntry } from '../../src/store/span-store.js';
import { T0, getJson, postOtlp, protoRequest, rawRequest, spanIdFor, startTestServer, traceIdFor, until, type ProtoSpan, type TestServer } from '../helpers/serve-harness.js';

const PROTO = 'application/x-protobuf';
const MS = 1_000_000n;

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ traceIdleMs: 50 });
});
afterAll(async () => {
  await srv.stop();
});

/**
 * Trace `i` (salt 0xba): a frontend root "GET /a" (i even) or "GET /b" (i odd) lasting
 * (10 + i) ms, starting i seconds after T0, with a db child. Span attributes: the root has
 * `http.route` = its path and `user.tier` = gold (i % 3 === 0) or free; the child has
 * `db.system` = postgres (i % 4 === 0) or mysql, and `db.rows` = i % 5 as an int-valued string.
 */
function shopTrace(i: number): { frontend: ProtoSpan[]; db: ProtoSpan[] } {
  const traceId = traceIdFor(0xba, i);
  const start = T0 + BigInt(i) * 1_000n * MS;
  const path = i % 2 === 0 ? '/a' : '/b';
  const root: ProtoSpan = { traceId, spanId: spanIdFor(2 * i), name: `GET ${path}`, startNs: start, endNs: start + BigInt(10 + i) * MS, attributes: { 'http.route': path, 'user.tier': i % 3 === 0 ? 'gold' : 'free' } };
  const child: ProtoSpan = { traceId, spanId: spanIdFor(2 * i + 1), parentSpanId: root.spanId, name: 'SELECT', kind: 3, startNs: start + MS, endNs: start + 5n * MS, attributes: { 'db.system': i % 4 === 0 ? 'postgres' : 'mysql', 'db.rows': String(i % 5) } };
  return { frontend: [root], db: [child] };
}

const N = 24;
const ids = Array.from({ length: N }, (_, i) => traceIdFor(0xba, i));

/** Posts traces [from, to) in one request and waits until all of them are analysed. */
async function postShop(from: number, to: number): Promise<void> {
  const frontend: ProtoSpan[] = [];
  const db: ProtoSpan[] = [];
  for (let i = from; i < to; i++) {
    const t = shopTrace(i);
    frontend.push(...t.frontend);
    db.push(...t.db);
  }
  expect((await postOtlp(srv.otlp, protoRequest({ frontend, db }), PROTO)).status).toBe(200);
  await until(`traces ${from}..${to} analysed`, () => (srv.server.live.pending === 0 && srv.server.live.tracesKnown >= to ? true : undefined));
}

/** Trace ids of `/api/traces?QUERY` (every page followed). */
async function search(query: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const r = await getJson<{ traces: TraceListEntry[]; next?: string; error?: string }>(`${srv.api}/api/traces?${query}&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(r.status, `${query}: ${r.body.error ?? ''}`).toBe(200);
    out.push(...r.body.traces.map((t) => t.traceId));
    cursor = r.body.next;
    if (!cursor) return out;
  }
  throw new Error(`${query}: more than 100 pages`);
}

/** The expected ids, newest first (the list's order). */
const expectIds = (pred: (i: number) => boolean): string[] => ids.filter((_, i) => pred(i)).reverse();

describe('GET /api/page', () => {
  beforeAll(async () => {
    await postShop(0, N);
  });

  it('is a live PageData whose counts are what was posted', async () => {
    const r = await getJson<PageData>(`${srv.api}/api/page`);
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const p = r.body;
    expect(p.mode).toBe('live');
    expect(p.report.version).toBe(1);
    expect(p.report.generator).toMatch(/^cpath \d+\.\d+\.\d+/);
    expect(p.report.input).toMatchObject({ formats: ['cpath-store'], spans: 2 * N, traces: N, tracesAnalysed: N, settings: { skewAdjust: true, outliers: 'auto', top: 20 } });
    expect(p.report.input.files[0]).toMatch(/cpath\.sqlite$/);
    expect(Object.keys(p.report.input.granularity).sort()).toEqual(['db', 'frontend']);
    expect(Array.isArray(p.report.diagnostics)).toBe(true);
    // The same endpoints as /api/endpoints, a curve for each, and no full traces.
    const eps = await getJson<{ endpoints: PageData['report']['endpoints'] }>(`${srv.api}/api/endpoints`);
    expect(p.report.endpoints).toEqual(eps.body.endpoints);
    expect(p.report.endpoints.map((e) => `${e.service} ${e.operation}`).sort()).toEqual(['frontend GET /a', 'frontend GET /b']);
    expect(p.curves).toHaveLength(2);
    for (const c of p.curves) {
      expect(c.percentile.length).toBe(c.valueNs.length);
      expect(c.percentile.at(-1)).toBe(100);
    }
    expect(p.traces).toEqual([]);
    expect(Math.abs((p.takenAtMs ?? 0) - Date.now())).toBeLessThan(10_000);
    // One column entry per analysed trace, endpoints in the report's order, exact starts and durations.
    const s = p.summaries;
    expect(s.omitted).toBe(0);
    expect(s.traceId.length).toBe(N);
    expect(s.endpoint.length).toBe(N);
    expect(s.startOffsetNs.length).toBe(N);
    expect(s.durationNs.length).toBe(N);
    expect(s.endpoints.slice(0, 2)).toEqual(p.report.endpoints.map((e) => ({ service: e.service, operation: e.operation })));
    expect(s.baseUnixNano).toBe(T0.toString());
    for (let k = 0; k < N; k++) {
      const i = ids.indexOf(s.traceId[k] ?? '');
      expect(i).toBeGreaterThanOrEqual(0);
      expect(s.endpoints[s.endpoint[k] ?? -1]?.operation).toBe(i % 2 === 0 ? 'GET /a' : 'GET /b');
      expect(BigInt(s.baseUnixNano) + BigInt(s.startOffsetNs[k] ?? NaN)).toBe(T0 + BigInt(i) * 1_000n * MS);
      expect(s.durationNs[k]).toBe((10 + i) * 1e6);
    }
  });

  it('since/until keep the traces starting in [since, until)', async () => {
    const since = new Date(Number((T0 + 5_000n * MS) / MS)).toISOString();
    const until = new Date(Number((T0 + 15_000n * MS) / MS)).toISOString();
    const r = await getJson<PageData>(`${srv.api}/api/page?since=${since}&until=${until}`);
    expect(r.status).toBe(200);
    expect([...r.body.summaries.traceId].sort()).toEqual(ids.slice(5, 15).sort());
    expect(r.body.report.endpoints.reduce((n, e) => n + e.traces, 0)).toBe(10);
    expect(r.body.report.input.tracesAnalysed).toBe(10);
    // The store's counts stay those of the whole store.
    expect(r.body.report.input.traces).toBe(N);
    expect((await getJson(`${srv.api}/api/page?since=tomorrow`)).status).toBe(400);
  });

  it('with more traces than it draws, the heat maps show the newest and the statistics cover all', () => {
    const settings = { skewAdjust: true, outliers: { kind: 'auto' as const }, top: 20 };
    const page = livePageData(srv.server.live, srv.server.store, settings, undefined, undefined, Date.now(), 10);
    expect(page.summaries.omitted).toBe(N - 10);
    // The newest 10: traces 14..23 (trace i starts i seconds after T0).
    expect([...page.summaries.traceId].sort()).toEqual(ids.slice(N - 10).sort());
    // Exact over every analysed trace, not only the drawn ones: the same as /api/endpoints.
    expect(page.report.endpoints.reduce((n, e) => n + e.traces, 0)).toBe(N);
    expect(page.report.endpoints).toEqual(srv.server.live.endpoints());
    expect(page.report.input.tracesAnalysed).toBe(N);
    // A window over more than it draws: counted the same way.
    const since = T0 + 4_000n * MS;
    const windowed = livePageData(srv.server.live, srv.server.store, settings, since, undefined, Date.now(), 10);
    expect([windowed.summaries.omitted, windowed.report.input.tracesAnalysed, windowed.report.endpoints.reduce((n, e) => n + e.traces, 0)]).toEqual([N - 4 - 10, N - 4, N - 4]);
  });

  it('keeps the newest traces when there are too many, and counts the rest', () => {
    const mk = (i: number, startNs: bigint): TraceSummary => ({ traceId: String(i).padStart(4, '0'), service: 's', operation: 'o', startNs, durationNs: 1, components: new Map() });
    // Starts 256 ns apart or tied: the cut must still keep exactly `max`, the newest (ties: smallest id).
    const all = Array.from({ length: 1000 }, (_, i) => mk(i, T0 + BigInt(Math.floor(i / 3)) * 256n));
    const index = new EndpointIndex({ bucketNs: 1_000n });
    for (const t of all) index.set(t);
    const { picked, inWindow } = index.newest(100);
    expect(picked).toHaveLength(100);
    expect(inWindow).toBe(1000);
    // Trace i starts at floor(i / 3): 999 alone at 333, then threes down to 900..902 at 300.
    expect(picked.map((t) => t.traceId).sort()).toEqual(all.slice(900).map((t) => t.traceId));
    expect(index.newest(100, T0 + 300n * 256n).picked.every((t) => t.startNs >= T0 + 300n * 256n)).toBe(true);
    expect(index.newest(100, T0 + 300n * 256n).inWindow).toBe(100);
    const everything = index.newest(2000);
    expect([new Set(everything.picked).size, everything.picked.every((t) => all.includes(t)), everything.inWindow]).toEqual([1000, true, 1000]);
    // A tie at the cut: 999, then one of 996, 997, 998 (all at 332): the smallest id.
    expect(index.newest(2).picked.map((t) => t.traceId).sort()).toEqual(['0996', '0999']);
  });
});

describe('PageSnapshot', () => {
  it('serves one build for at least a second, then builds again', () => {
    const snap = new PageSnapshot();
    let builds = 0;
    const build = (): PageData => {
      builds++;
      return { mode: 'live', report: { version: 1, generator: 'test', input: { files: [], formats: [], spans: builds, traces: 0, tracesAnalysed: 0, settings: { skewAdjust: true, outliers: 'auto', top: 1 }, granularity: {} }, diagnostics: [], endpoints: [] }, summaries: { baseUnixNano: '0', endpoints: [], traceId: [], endpoint: [], startOffsetNs: [], durationNs: [] }, curves: [], traces: [] };
    };
    const first = snap.get(build, 10_000);
    expect(snap.get(build, 10_999)).toBe(first);
    expect(builds).toBe(1);
    const second = snap.get(build, 11_000);
    expect(builds).toBe(2);
    expect((JSON.parse(second) as PageData).report.input.spans).toBe(2);
  });
});

describe('GET / and GET /api', () => {
  it('/ is the live page: HTML, not cached, with the content security policy', async () => {
    const r = await rawRequest(`${srv.api}/`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['content-security-policy']).toBe("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'");
    const html = r.body.toString('utf8');
    expect(html.toLowerCase().startsWith('<!doctype html>')).toBe(true);
    // Live mode: no embedded data, the page fetches /api/page.
    expect(html).not.toContain('id="cpath-data"');
    const head = await rawRequest(`${srv.api}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('/api lists the endpoints', async () => {
    const r = await getJson<{ cpath: string; api: string[] }>(`${srv.api}/api`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body.api).toContain('/api/page?since=&until=');
    expect(r.body.api.some((a) => a.includes('attr=') && a.includes('maxDuration='))).toBe(true);
  });
});

describe('GET /api/traces by attribute and duration', () => {
  it('finds the traces with a span attribute equal to the value', async () => {
    expect(await search('attr=db.system=postgres')).toEqual(expectIds((i) => i % 4 === 0));
    expect(await search(`attr=${encodeURIComponent('http.route=/b')}`)).toEqual(expectIds((i) => i % 2 === 1));
  });

  it('finds nothing for an unknown value or key, and never a prefix', async () => {
    expect(await search('attr=db.system=oracle')).toEqual([]);
    expect(await search('attr=no.such.key=x')).toEqual([]);
    expect(await search('attr=db.system=postgre')).toEqual([]);
  });

  it('wants every attr to match (on different spans of the trace)', async () => {
    expect(await search('attr=db.system=postgres&attr=user.tier=gold')).toEqual(expectIds((i) => i % 4 === 0 && i % 3 === 0));
    expect(await search('attr=db.system=mysql&attr=db.rows=3')).toEqual(expectIds((i) => i % 4 !== 0 && i % 5 === 3));
  });

  it('matches resource attributes too', async () => {
    expect(await search('attr=service.name=db')).toEqual(expectIds(() => true));
    expect(await search('attr=service.name=nobody')).toEqual([]);
  });

  it('combines with service, operation, minDuration and maxDuration', async () => {
    expect(await search(`service=frontend&operation=${encodeURIComponent('GET /a')}&attr=user.tier=gold`)).toEqual(expectIds((i) => i % 2 === 0 && i % 3 === 0));
    expect(await search('service=db&attr=user.tier=gold')).toEqual([]);
    expect(await search('attr=user.tier=free&minDuration=20ms&maxDuration=25ms')).toEqual(expectIds((i) => i % 3 !== 0 && i >= 10 && i <= 15));
    // maxDuration alone, inclusive.
    expect(await search('maxDuration=12ms')).toEqual(expectIds((i) => i <= 2));
  });

  it('pages through matches with limit and next', async () => {
    const r = await getJson<{ traces: TraceListEntry[]; next?: string; scanned: number }>(`${srv.api}/api/traces?attr=db.system=mysql&limit=2`);
    expect(r.body.traces.map((t) => t.traceId)).toEqual(expectIds((i) => i % 4 !== 0).slice(0, 2));
    expect(typeof r.body.next).toBe('string');
    expect(r.body.scanned).toBeGreaterThanOrEqual(2);
  });
});
