// The API role's view of the cluster: it follows, in PostgreSQL, every analysis the analysers
// save and every trace retention deletes (PgStore.changesSince), keeps the summaries in memory
// as the single node does, and answers the query API and the live page from them. Trace lists,
// trace details and attribute searches read PostgreSQL directly.
import { EndpointIndex } from '../../analysis/endpoint-index.js';
import type { OutlierPolicy } from '../../analysis/endpoints.js';
import { ComponentKeys } from '../../analysis/trace-summary.js';
import { Diagnostics, type DiagnosticEntry } from '../model/diagnostics.js';
import { ResourceInterner, stringifyAttr, type ResourceInfo, type SpanInput } from '../model/span.js';
import { TraceSetBuilder } from '../model/trace-builder.js';
import type { PageData } from '../report/page-types.js';
import { traceDetail } from '../report/trace-detail.js';
import { toReportEndpoint } from '../report/trace-json.js';
import type { ReportEndpoint } from '../report/types.js';
import type { PgChange, PgStore } from '../store/pg-store.js';
import type { AttrMatch, TraceCursor, TraceListEntry, TraceQuery } from '../store/span-store.js';
import { pageData, SEARCH_BUDGET_MS } from './page-api.js';
import type { QuerySource, TracePage } from './query-source.js';

export interface ClusterQueryOptions {
  readonly skewAdjust: boolean;
  readonly outliers: OutlierPolicy;
  readonly top: number;
  /** How often the changes are read, ms. */
  readonly followMs: number;
  readonly log: (line: string) => void;
}

export class ClusterQuery implements QuerySource {
  private readonly resources = new ResourceInterner();
  private readonly keys = new ComponentKeys();
  /** Every analysed trace's summary, filed by endpoint and time bucket (exact statistics without re-aggregating). */
  private readonly index = new EndpointIndex();
  /** Per trace, the seq of the change applied last (a change read twice, or late, is not applied again). */
  private readonly applied = new Map<string, bigint>();
  private readonly problems = new Map<string, readonly DiagnosticEntry[]>();
  private nextXid: string | undefined;
  /** Clock granularity per resource, as the analysers shared it. */
  private granularity = new Map<ResourceInfo, number>();
  private counts = { spans: 0, traces: 0 };
  private cached: { version: number; endpoints: ReportEndpoint[] } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Set once the first full read is done; false while PostgreSQL cannot be read. */
  healthy = false;

  constructor(
    private readonly store: PgStore,
    private readonly o: ClusterQueryOptions,
  ) {}

  /** Reads everything analysed so far, then follows the changes. */
  async start(): Promise<void> {
    await this.follow();
    // The first statistics request would build every block at once (seconds for a million traces).
    while (!this.index.prepare(2_000)) await new Promise((r) => setImmediate(r));
    const loop = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void this.follow()
          .catch((e: unknown) => {
            if (this.healthy) this.o.log(`reading analyses from PostgreSQL failed (${e instanceof Error ? e.message : String(e)}); retrying`);
            this.healthy = false;
          })
          .finally(loop);
      }, this.o.followMs);
      this.timer.unref();
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  get tracesKnown(): number {
    return this.index.size;
  }

  /** One round: the changes since the last one, applied in order, and the stored counts. */
  async follow(): Promise<void> {
    const { nextXid, changes } = await this.store.changesSince(this.nextXid, this.resources);
    for (const c of changes) this.apply(c);
    this.nextXid = nextXid;
    this.counts = await this.store.storedCounts();
    this.granularity = await this.store.mergeGranularity(new Map(), this.resources);
    this.healthy = true;
  }

  private apply(c: PgChange): void {
    const last = this.applied.get(c.traceId);
    if (last !== undefined && last >= c.seq) return;
    this.applied.set(c.traceId, c.seq);
    if (c.kind === 'analysed') this.index.set(c.summary);
    else this.index.delete(c.traceId);
    if (c.kind !== 'deleted' && c.problems.length > 0) this.problems.set(c.traceId, c.problems);
    else this.problems.delete(c.traceId);
  }

  endpoints(sinceNs?: bigint, untilNs?: bigint): ReportEndpoint[] {
    const allTime = sinceNs === undefined && untilNs === undefined;
    const version = this.index.version;
    if (allTime && this.cached?.version === version) return this.cached.endpoints;
    const endpoints = this.index.endpoints(this.o.outliers, this.o.top, sinceNs, untilNs).map(toReportEndpoint);
    if (allTime) this.cached = { version, endpoints };
    return endpoints;
  }

  diagnostics(): DiagnosticEntry[] {
    const d = new Diagnostics();
    for (const list of this.problems.values()) for (const e of list) d.add(e.code, e.example, e.count);
    return d.entries();
  }

  page(sinceNs?: bigint, untilNs?: bigint, now = Date.now()): PageData {
    const src = { storeName: this.store.url, summaries: this.index, granularity: this.granularity, endpoints: (s?: bigint, u?: bigint) => this.endpoints(s, u), diagnostics: () => this.diagnostics(), counts: () => this.counts };
    return pageData(src, { skewAdjust: this.o.skewAdjust, outliers: this.o.outliers, top: this.o.top }, sinceNs, untilNs, now);
  }

  async trace(traceId: string): Promise<ReturnType<typeof traceDetail> | undefined> {
    const { spans } = await this.store.traceSpans(traceId, this.resources);
    if (spans.length === 0) return undefined;
    // The build's problems (a parent cycle) are the detail's too.
    const diag = new Diagnostics();
    const trace = buildTrace(spans, diag);
    if (!trace) return undefined;
    return traceDetail(trace, { skewAdjust: this.o.skewAdjust, granularity: this.granularity, keys: this.keys, diag });
  }

  listTraces(q: TraceQuery): Promise<TracePage> {
    return this.store.listTraces(q);
  }

  /** Pages of the trace list, each trace's spans tested, until `q.limit` matches or the time budget is spent. */
  async searchTraces(q: TraceQuery, attrs: readonly AttrMatch[], cancelled: () => boolean): Promise<TracePage & { scanned: number }> {
    const end = Date.now() + SEARCH_BUDGET_MS;
    const traces: TraceListEntry[] = [];
    let cursor: TraceCursor | undefined = q.cursor;
    let scanned = 0;
    for (;;) {
      const page = await this.store.listTraces({ ...q, limit: 64, ...(cursor ? { cursor } : {}) });
      // The page's spans in one read, not one per trace.
      const read = await this.store.tracesSpans(page.traces.map((t) => t.traceId), this.resources);
      for (const t of page.traces) {
        scanned++;
        cursor = { startNs: BigInt(t.startUnixNano), traceId: t.traceId };
        const spans = read.get(t.traceId)?.spans ?? [];
        if (attrs.every((a) => spans.some((s) => matches(s, a)))) traces.push(t);
        if (traces.length >= q.limit) return { traces, scanned, next: cursor };
        if (Date.now() >= end) return { traces, scanned, next: cursor };
      }
      if (!page.next || cancelled()) return { traces, scanned };
    }
  }
}

/** `attr=key=value` against one span: its own attribute, else its resource's, as text (like --where). */
function matches(s: SpanInput, a: AttrMatch): boolean {
  const v = s.attributes[a.key] ?? s.resource.attributes[a.key];
  return v !== undefined && stringifyAttr(v) === a.value;
}

function buildTrace(spans: readonly SpanInput[], diag: Diagnostics): ReturnType<TraceSetBuilder['build']>['traces'][number] | undefined {
  const b = new TraceSetBuilder(diag);
  for (const s of spans) b.add(s);
  return b.build().traces[0];
}
