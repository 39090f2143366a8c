// The shared span store of `cpath serve --cluster` (issue 11): PostgreSQL 15 through `pg`.
// Analysers write the spans they consume from JetStream and the analyses of the traces they
// own; the API role and `cpath analyze --store postgres://...` read them back. The tables are in
// pg-schema.ts.
//
// Bulk writes: COPY (pg-copy-streams) into a temporary table, then one INSERT ... SELECT ... ON
// CONFLICT DO NOTHING. Measured in CPU time (client + server) on 100k spans, it took 1.2x less
// than INSERT ... SELECT FROM unnest(one array per column) and 3.8x less than multi-row VALUES
// (BENCHMARKS.md, "PostgreSQL span writes").
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { StoredTrace, TraceCursor, TraceListEntry, TraceQuery, UnanalysableTrace } from './span-store.js';
import { KINDS, STATUSES, StoreError, decodeAttributes, decodeLinks, encodeAttributes } from './span-store.js';
import type { Attributes, ResourceInfo, ResourceInterner, SpanInput, SpanLinkRef } from '../model/span.js';
import type { ImportContext } from '../../collectors/format.js';
import { redactUrl } from './store-url.js';
import { checkVersion, createSchema, pgMessage } from './pg-schema.js';
import { partitionOf } from '../model/partition.js';
import { componentKey, type ComponentTime, type TraceSummary } from '../../analysis/endpoints.js';
import type { DiagnosticEntry } from '../model/diagnostics.js';

export { pgMessage };

/** Spans per COPY into the staging table (and INSERT from it): bounds the staging table. */
const WRITE_CHUNK = 10_000;
/** Spans per read query (keyset pages in (trace_id, span_id) order). */
const READ_PAGE = 10_000;
const MAX_NS = 9223372036854775807n;
const DAY_NS = 86_400_000_000_000n;
/** Bytes of COPY data per write. */
const COPY_CHUNK = 1 << 20;

/** What one `append` did. */
export interface PgAppendResult {
  /** Spans stored now (resends not counted). */
  readonly spansAdded: number;
  /** Trace ids the batch touched (now dirty), sorted. */
  readonly traces: readonly string[];
  /** Each touched trace's row version after this batch. */
  readonly versions: ReadonlyMap<string, bigint>;
  /** Traces this batch created (it holds all their stored spans so far). */
  readonly created: ReadonlySet<string>;
}

/** One trace's analysis as an analyser saves it, with the version of the trace row it read. */
export type PgAnalysis = { readonly version: bigint; readonly problems: readonly DiagnosticEntry[] } & (
  | { readonly kind: 'analysed'; readonly trace: StoredTrace }
  | { readonly kind: 'unanalysable'; readonly trace: UnanalysableTrace }
);

/** What the API role learns from `changesSince`. */
export type PgChange =
  | {
      readonly kind: 'analysed';
      readonly traceId: string;
      readonly seq: bigint;
      readonly summary: TraceSummary;
      /** This trace's own problems (summed over traces by the API's diagnostics). */
      readonly problems: readonly DiagnosticEntry[];
    }
  | { readonly kind: 'unanalysable'; readonly traceId: string; readonly seq: bigint; readonly problems: readonly DiagnosticEntry[] }
  | { readonly kind: 'deleted'; readonly traceId: string; readonly seq: bigint };

const SPAN_COLUMNS = 's.trace_id, s.span_id, s.parent_id, s.parent_ref, s.name, s.kind, s.start_ns, s.end_ns, s.status, s.status_msg, s.resource_id, s.attrs, s.links';

export class PgStore {
  private readonly resourceIds = new WeakMap<ResourceInfo, string>();
  /** Resource ids known to be stored by this process. */
  private readonly storedResources = new Set<string>();
  /** Resources read back, by id. */
  private readonly resourcesRead = new Map<string, Attributes>();

  private constructor(
    private readonly pool: pg.Pool,
    /** The URL without its password. */
    readonly url: string,
  ) {}

  /**
   * Connects and creates the schema if it is missing (`create`), or checks it is there (a
   * reader). Unreachable server, refused login, missing rights, another schema version: a
   * StoreError of one line naming the URL.
   */
  static async open(url: string, o: { readonly create: boolean; readonly maxConnections?: number }): Promise<PgStore> {
    const shown = redactUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: o.maxConnections ?? 4, connectionTimeoutMillis: 10_000 });
    // An idle connection the server drops (a restart) must not crash the process: the pool
    // discards it and the next query opens a new one.
    pool.on('error', () => {});
    const store = new PgStore(pool, shown);
    try {
      const client = await pool.connect().catch((e: unknown) => {
        throw new StoreError(`cannot reach PostgreSQL at ${shown}: ${pgMessage(e)}`);
      });
      try {
        if (o.create) await createSchema(client, shown);
        await checkVersion(client, shown);
      } finally {
        client.release();
      }
      return store;
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e instanceof StoreError ? e : new StoreError(`PostgreSQL at ${shown}: ${pgMessage(e)}`);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Stores a batch of spans in one transaction, with their resources and trace rows (time
   * bounds widened, `last_seen_ns = receivedNs`, version bumped, dirty) and the partition's
   * counts. Resends are ignored. Rows are written in key order, so two writers touching the same
   * traces cannot deadlock. `partitions`: P of the span stream (each trace row records its
   * partition, so that the partition's next owner finds its unanalysed traces).
   */
  async append(spans: readonly SpanInput[], receivedNs: bigint, partitions = 1): Promise<PgAppendResult> {
    const sorted = [...spans].sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0));
    const newResources = new Map<string, string>();
    const perTrace = new Map<string, { first: bigint; last: bigint }>();
    for (const s of sorted) {
      const id = this.resourceId(s.resource);
      if (!this.storedResources.has(id)) newResources.set(id, encodeAttributes(s.resource.attributes) ?? '{}');
      const t = perTrace.get(s.traceId);
      if (t === undefined) perTrace.set(s.traceId, { first: s.startNs, last: s.endNs });
      else {
        if (s.startNs < t.first) t.first = s.startNs;
        if (s.endNs > t.last) t.last = s.endNs;
      }
    }
    let added = 0;
    const versions = new Map<string, bigint>();
    const created = new Set<string>();
    await this.transaction(async (c) => {
      if (newResources.size > 0) {
        const ids = [...newResources.keys()].sort();
        await c.query('INSERT INTO cpath.resources (id, attrs) SELECT decode(i, $3), a FROM unnest($1::text[], $2::text[]) AS u(i, a) ON CONFLICT (id) DO NOTHING', [
          ids,
          ids.map((i) => newResources.get(i)),
          'hex',
        ]);
      }
      const addedPer = new Map<string, number>();
      for (let i = 0; i < sorted.length; i += WRITE_CHUNK) added += await insertSpans(c, sorted.slice(i, i + WRITE_CHUNK), (r) => this.resourceId(r), addedPer, i + WRITE_CHUNK >= sorted.length);
      const ids = [...perTrace.keys()];
      const parts = ids.map((t) => partitionOf(t, partitions));
      const up = await c.query<{ t: string; p: number; v: string; fresh: boolean }>(
        `
           INSERT INTO cpath.traces (trace_id, partition, first_start_ns, last_end_ns, last_seen_ns, version, dirty)
           SELECT decode(t, 'hex'), p, f, l, $5, 1, true FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int4[]) AS u(t, f, l, p)
           ON CONFLICT (trace_id) DO UPDATE SET
             first_start_ns = LEAST(cpath.traces.first_start_ns, EXCLUDED.first_start_ns),
             last_end_ns = GREATEST(cpath.traces.last_end_ns, EXCLUDED.last_end_ns),
             last_seen_ns = EXCLUDED.last_seen_ns, version = cpath.traces.version + 1, dirty = true
           RETURNING encode(trace_id, 'hex') AS t, partition AS p, version AS v, (xmax = 0) AS fresh`,
        [ids, ids.map((t) => perTrace.get(t)?.first), ids.map((t) => perTrace.get(t)?.last), parts, receivedNs],
      );
      // Counts per partition: new traces from the upsert, new spans split by partition.
      const spansPer = new Map<number, number>();
      for (const [t, n] of addedPer) {
        const p = partitionOf(t, partitions);
        spansPer.set(p, (spansPer.get(p) ?? 0) + n);
      }
      const tracesPer = new Map<number, number>();
      for (const r of up.rows) {
        versions.set(r.t, BigInt(r.v));
        if (!r.fresh) continue;
        created.add(r.t);
        tracesPer.set(r.p, (tracesPer.get(r.p) ?? 0) + 1);
      }
      const touched = [...new Set([...spansPer.keys(), ...tracesPer.keys()])].sort((a, b) => a - b);
      if (touched.length > 0) {
        await c.query(
          `INSERT INTO cpath.counts (partition, spans, traces) SELECT * FROM unnest($1::int4[], $2::int8[], $3::int8[])
           ON CONFLICT (partition) DO UPDATE SET spans = cpath.counts.spans + EXCLUDED.spans, traces = cpath.counts.traces + EXCLUDED.traces`,
          [touched, touched.map((p) => spansPer.get(p) ?? 0), touched.map((p) => tracesPer.get(p) ?? 0)],
        );
      }
    });
    for (const id of newResources.keys()) this.storedResources.add(id);
    return { spansAdded: added, traces: [...perTrace.keys()], versions, created };
  }

  /**
   * Records the latest analysis of each trace. A trace is clean afterwards only if no batch
   * touched it since the analysis read it (its version is unchanged); else it stays dirty and
   * is analysed again. Each row gets a new change_seq and this transaction's id, which the API
   * role follows.
   */
  async saveAnalyses(list: readonly PgAnalysis[]): Promise<void> {
    if (list.length === 0) return;
    const sorted = [...list].sort((a, b) => (analysedId(a) < analysedId(b) ? -1 : 1));
    const row = (a: PgAnalysis): { service: string; operation: string; startNs: bigint; durationNs: number; components: string | undefined } =>
      a.kind === 'analysed'
        ? { ...a.trace.summary, components: JSON.stringify([...a.trace.summary.components.values()].map((c) => [c.service, c.operation, c.ns, c.errors])) }
        : { ...a.trace, components: undefined };
    const rows = sorted.map(row);
    await this.pool.query(
      `UPDATE cpath.traces t SET dirty = (t.version <> u.v), analysed = u.a, service = u.s, operation = u.o, start_ns = u.st, duration_ns = u.d,
         spans = u.n, errors = u.e, components = u.c::jsonb, problems = u.p::jsonb, change_seq = nextval('cpath.change_seq'), change_xid = pg_current_xact_id()
       FROM unnest($1::text[], $2::int8[], $3::bool[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::int4[], $9::int4[], $10::text[], $11::text[]) AS u(id, v, a, s, o, st, d, n, e, c, p)
       WHERE t.trace_id = decode(u.id, 'hex')`,
      [
        sorted.map(analysedId),
        sorted.map((a) => a.version),
        sorted.map((a) => a.kind === 'analysed'),
        rows.map((r) => r.service),
        rows.map((r) => r.operation),
        rows.map((r) => r.startNs),
        rows.map((r) => Math.round(r.durationNs)),
        sorted.map((a) => a.trace.spans),
        sorted.map((a) => a.trace.errors),
        rows.map((r) => r.components ?? null),
        sorted.map((a) => (a.problems.length > 0 ? JSON.stringify(a.problems) : null)),
      ],
    );
  }

  /** Traces of these partitions with spans newer than their analysis (a new owner analyses them). */
  async dirtyTraces(partitions: readonly number[]): Promise<string[]> {
    const r = await this.pool.query<{ t: string }>("SELECT encode(trace_id, 'hex') AS t FROM cpath.traces WHERE dirty AND partition = ANY($1::int4[])", [partitions]);
    return r.rows.map((x) => x.t);
  }

  /**
   * One trace's spans and the version of its row, read in that order: a batch committed in
   * between makes the version seen older than the spans read, so the trace stays dirty (never
   * the other way round).
   */
  async traceSpans(traceId: string, resources: ResourceInterner): Promise<{ version: bigint; spans: SpanInput[] }> {
    return (await this.tracesSpans([traceId], resources)).get(traceId) ?? { version: 0n, spans: [] };
  }

  /** `traceSpans` of several traces in two queries (versions first, then spans, for the same reason). */
  async tracesSpans(traceIds: readonly string[], resources: ResourceInterner): Promise<Map<string, { version: bigint; spans: SpanInput[] }>> {
    const out = new Map<string, { version: bigint; spans: SpanInput[] }>();
    if (traceIds.length === 0) return out;
    const v = await this.pool.query<{ t: string; version: string }>("SELECT encode(trace_id, 'hex') AS t, version FROM cpath.traces WHERE trace_id = ANY(SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x)", [traceIds]);
    for (const r of v.rows) out.set(r.t, { version: BigInt(r.version), spans: [] });
    const r = await this.pool.query<SpanRow>(`SELECT ${SPAN_COLUMNS} FROM cpath.spans s WHERE s.trace_id = ANY(SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x) ORDER BY s.trace_id, s.span_id`, [traceIds]);
    for (const row of r.rows) {
      const e = out.get(row.trace_id.toString('hex'));
      if (e) e.spans.push(toSpan(row, await this.resource(row.resource_id, resources), resources, this.url));
    }
    return out;
  }

  /** The resource of a stored id, read once per process. */
  private async resource(id: Buffer, resources: ResourceInterner): Promise<ResourceInfo> {
    const hex = id.toString('hex');
    const hit = this.resourcesRead.get(hex);
    if (hit !== undefined) return resources.intern(hit);
    const r = await this.pool.query<{ attrs: string }>('SELECT attrs FROM cpath.resources WHERE id = $1', [id]);
    const text = r.rows[0]?.attrs;
    if (text === undefined) throw new StoreError(`${this.url}: a span names resource ${hex}, which is not stored`);
    const attrs = decodeAttributes(text);
    this.resourcesRead.set(hex, attrs);
    return resources.intern(attrs);
  }

  /**
   * Folds start-time granularities into the shared table (the smallest seen wins: 0 < 1 µs <
   * 1 ms), and returns every resource's, so that each analyser and the API see the same.
   */
  async mergeGranularity(seen: ReadonlyMap<ResourceInfo, number>, resources: ResourceInterner): Promise<Map<ResourceInfo, number>> {
    const ids = [...seen.keys()].map((r) => this.resourceId(r));
    if (ids.length > 0) {
      await this.pool.query(
        "UPDATE cpath.resources r SET granularity = LEAST(COALESCE(r.granularity, u.g), u.g) FROM unnest($1::text[], $2::int4[]) AS u(i, g) WHERE r.id = decode(u.i, 'hex') AND (r.granularity IS NULL OR r.granularity > u.g)",
        [ids, [...seen.values()]],
      );
    }
    const out = new Map<ResourceInfo, number>();
    const r = await this.pool.query<{ attrs: string; granularity: number }>('SELECT attrs, granularity FROM cpath.resources WHERE granularity IS NOT NULL');
    for (const row of r.rows) out.set(resources.intern(decodeAttributes(row.attrs)), row.granularity);
    return out;
  }

  /**
   * Analyses changed and traces deleted since `fromXid` (every transaction with a smaller id had
   * ended when the previous call read), and the next `fromXid`: the oldest transaction still
   * running now. A change may come twice; `seq` orders the changes of one trace.
   */
  async changesSince(fromXid: string | undefined, resources: ResourceInterner): Promise<{ nextXid: string; changes: PgChange[] }> {
    return this.transactionRR(async (c) => {
      const x = await c.query<{ x: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS x');
      const nextXid = x.rows[0]?.x ?? '0';
      const from = fromXid ?? '0';
      const rows = await c.query<ChangeRow>(
        `SELECT encode(trace_id, 'hex') AS t, change_seq AS seq, analysed, service, operation, start_ns, duration_ns, spans, errors, components::text AS components, problems::text AS problems
         FROM cpath.traces WHERE change_xid >= $1::xid8`,
        [from],
      );
      const dels = await c.query<{ t: string; seq: string }>("SELECT encode(trace_id, 'hex') AS t, change_seq AS seq FROM cpath.deletions WHERE change_xid >= $1::xid8", [from]);
      const changes: PgChange[] = rows.rows.map((r) => toChange(r, resources));
      for (const d of dels.rows) changes.push({ kind: 'deleted', traceId: d.t, seq: BigInt(d.seq) });
      changes.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
      return { nextXid, changes };
    });
  }

  /** Counts, for tests and /metrics. */
  async counts(): Promise<{ spans: number; traces: number; dirty: number }> {
    const r = await this.pool.query<{ spans: string; traces: string; dirty: string }>(
      'SELECT (SELECT count(*) FROM cpath.spans) AS spans, (SELECT count(*) FROM cpath.traces) AS traces, (SELECT count(*) FROM cpath.traces WHERE dirty) AS dirty',
    );
    const row = r.rows[0];
    return { spans: Number(row?.spans ?? 0), traces: Number(row?.traces ?? 0), dirty: Number(row?.dirty ?? 0) };
  }

  /** Spans and traces stored, from the per-partition counts (no table scan). */
  async storedCounts(): Promise<{ spans: number; traces: number }> {
    const r = await this.pool.query<{ spans: string | null; traces: string | null }>('SELECT sum(spans) AS spans, sum(traces) AS traces FROM cpath.counts');
    return { spans: Number(r.rows[0]?.spans ?? 0), traces: Number(r.rows[0]?.traces ?? 0) };
  }

  /** Analysed traces, newest first, for `GET /api/traces` (the SQLite store's listTraces, in SQL). */
  async listTraces(q: TraceQuery): Promise<{ traces: TraceListEntry[]; next?: TraceCursor }> {
    const where: string[] = ['service IS NOT NULL'];
    const args: (string | bigint | number)[] = [];
    const arg = (v: string | bigint | number): string => `$${args.push(v)}`;
    if (q.service !== undefined) where.push(`service = ${arg(q.service)}`);
    if (q.operation !== undefined) where.push(`operation = ${arg(q.operation)}`);
    if (q.minDurationNs !== undefined) where.push(`duration_ns >= ${arg(BigInt(Math.ceil(q.minDurationNs)))}`);
    if (q.maxDurationNs !== undefined) where.push(`duration_ns <= ${arg(BigInt(Math.floor(q.maxDurationNs)))}`);
    if (q.sinceNs !== undefined) where.push(`start_ns >= ${arg(q.sinceNs)}`);
    if (q.untilNs !== undefined) where.push(`start_ns < ${arg(q.untilNs)}`);
    if (q.cursor) where.push(`(start_ns, trace_id) < (${arg(q.cursor.startNs)}, decode(${arg(q.cursor.traceId)}, 'hex'))`);
    const r = await this.pool.query<ListRow>(
      `SELECT encode(trace_id, 'hex') AS t, service, operation, start_ns, duration_ns, spans, errors, problems::text AS problems, analysed
       FROM cpath.traces WHERE ${where.join(' AND ')} ORDER BY start_ns DESC, trace_id DESC LIMIT ${arg(q.limit + 1)}`,
      args,
    );
    const page = r.rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const traces = page.map((row): TraceListEntry => ({
      traceId: row.t,
      service: row.service,
      operation: row.operation,
      startUnixNano: row.start_ns,
      durationNs: Number(row.duration_ns),
      spans: row.spans,
      errors: row.errors,
      ...(row.analysed === false ? { diagnostics: parseProblems(row.problems) } : {}),
    }));
    return { traces, ...(r.rows.length > q.limit && last ? { next: { startNs: BigInt(last.start_ns), traceId: last.t } } : {}) };
  }

  /** Up to `limit` trace ids whose last batch arrived before `cutoffNs` (or simply the oldest), oldest first. */
  async oldestTraces(limit: number, cutoffNs?: bigint): Promise<string[]> {
    const r = await this.pool.query<{ t: string }>(
      `SELECT encode(trace_id, 'hex') AS t FROM cpath.traces ${cutoffNs !== undefined ? 'WHERE last_seen_ns < $2' : ''} ORDER BY last_seen_ns LIMIT $1`,
      cutoffNs !== undefined ? [limit, cutoffNs] : [limit],
    );
    return r.rows.map((x) => x.t);
  }

  /**
   * Deletes whole traces (retention) in one transaction, keeps the counts, and logs each
   * deletion for the API role. Returns the traces deleted.
   */
  async deleteTraces(ids: readonly string[], partitions: number, nowNs: bigint): Promise<number> {
    const sorted = [...ids].sort();
    return this.transaction(async (c) => {
      const spans = await c.query<{ t: string; n: string }>(
        "WITH d AS (DELETE FROM cpath.spans WHERE trace_id = ANY(SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x) RETURNING trace_id) SELECT encode(trace_id, 'hex') AS t, count(*) AS n FROM d GROUP BY trace_id",
        [sorted],
      );
      const gone = await c.query<{ t: string }>(
        "DELETE FROM cpath.traces WHERE trace_id = ANY(SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x) RETURNING encode(trace_id, 'hex') AS t",
        [sorted],
      );
      await c.query(
        "INSERT INTO cpath.deletions (trace_id, change_seq, change_xid, at_ns) SELECT decode(x, 'hex'), nextval('cpath.change_seq'), pg_current_xact_id(), $2 FROM unnest($1::text[]) AS x",
        [gone.rows.map((r) => r.t), nowNs],
      );
      const per = new Map<number, { spans: number; traces: number }>();
      const at = (t: string): { spans: number; traces: number } => {
        const p = partitionOf(t, partitions);
        let e = per.get(p);
        if (e === undefined) per.set(p, (e = { spans: 0, traces: 0 }));
        return e;
      };
      for (const r of spans.rows) at(r.t).spans += Number(r.n);
      for (const r of gone.rows) at(r.t).traces++;
      const ps = [...per.keys()].sort((a, b) => a - b);
      if (ps.length > 0) {
        await c.query('UPDATE cpath.counts k SET spans = k.spans - u.s, traces = k.traces - u.t FROM unnest($1::int4[], $2::int8[], $3::int8[]) AS u(p, s, t) WHERE k.partition = u.p', [
          ps,
          ps.map((p) => per.get(p)?.spans ?? 0),
          ps.map((p) => per.get(p)?.traces ?? 0),
        ]);
      }
      // An API node follows changes every second: a deletion a day old has been seen by every one running.
      await c.query('DELETE FROM cpath.deletions WHERE at_ns < $1', [nowNs - DAY_NS]);
      return gone.rows.length;
    });
  }

  /**
   * Bytes the store's live rows take, the measure --max-store limits: each table's size with its
   * indexes, times its share of live rows (deleted rows' space is reused, not given back).
   */
  async usedBytes(): Promise<number> {
    const r = await this.pool.query<{ n: string }>(
      `SELECT sum(pg_total_relation_size(s.relid) * CASE WHEN s.n_live_tup + s.n_dead_tup = 0 THEN 1 ELSE s.n_live_tup::float8 / (s.n_live_tup + s.n_dead_tup) END) AS n
       FROM pg_stat_user_tables s WHERE s.schemaname = 'cpath'`,
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * Spans of the traces that may start in [sinceNs, untilNs) (the bounds test of the SQLite
   * store), grouped by trace, in pages of READ_PAGE by key.
   */
  async *iterateSpans(resources: ResourceInterner, sinceNs?: bigint, untilNs?: bigint): AsyncGenerator<SpanInput> {
    const byId = new Map<string, ResourceInfo>();
    const res = await this.pool.query<{ id: Buffer; attrs: string }>('SELECT id, attrs FROM cpath.resources');
    for (const r of res.rows) byId.set(r.id.toString('hex'), resources.intern(decodeAttributes(r.attrs)));
    let after: [Buffer, Buffer] | undefined;
    for (;;) {
      const page = await this.pool.query<SpanRow>(
        `SELECT ${SPAN_COLUMNS}
         FROM cpath.spans s JOIN cpath.traces t ON t.trace_id = s.trace_id
         WHERE t.last_end_ns >= $1 AND t.first_start_ns < $2 ${after ? 'AND (s.trace_id, s.span_id) > ($4, $5)' : ''}
         ORDER BY s.trace_id, s.span_id LIMIT $3`,
        [sinceNs ?? 0n, untilNs ?? MAX_NS, READ_PAGE, ...(after ?? [])],
      );
      for (const r of page.rows) {
        const resource = byId.get(r.resource_id.toString('hex'));
        if (resource === undefined) throw new StoreError(`${this.url}: span ${r.span_id.toString('hex')} names resource ${r.resource_id.toString('hex')}, which is not stored`);
        yield toSpan(r, resource, resources, this.url);
      }
      const last = page.rows[page.rows.length - 1];
      if (last === undefined || page.rows.length < READ_PAGE) return;
      after = [last.trace_id, last.span_id];
    }
  }

  /** Several reads that see one snapshot. */
  private transactionRR<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.transaction(fn, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  private resourceId(r: ResourceInfo): string {
    const hit = this.resourceIds.get(r);
    if (hit !== undefined) return hit;
    // sha256 of the attributes as stored, cut to 16 bytes: the same id on every node
    const id = createHash('sha256')
      .update(encodeAttributes(r.attributes) ?? '{}')
      .digest()
      .subarray(0, 16)
      .toString('hex');
    this.resourceIds.set(r, id);
    return id;
  }

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const c = await this.pool.connect();
    // A checked-out client has no listener of the pool's: without one, the socket error of a
    // server that restarts mid-transaction (ECONNRESET) is an unhandled 'error' event that ends
    // the process. The failed query rejects anyway; pg-pool drops the dead client on release.
    const onError = (): void => {};
    c.on('error', onError);
    try {
      await c.query(begin);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      // A staging table created in this transaction went with it.
      staged.delete(c);
      throw e;
    } finally {
      c.removeListener('error', onError);
      c.release();
    }
  }
}

/** `cpath analyze --store postgres://...`: emits every stored span of the traces that may start in [sinceNs, untilNs). Returns the count. */
export async function readPgStore(url: string, ctx: Pick<ImportContext, 'resources' | 'emit'>, sinceNs?: bigint, untilNs?: bigint): Promise<number> {
  const store = await PgStore.open(url, { create: false, maxConnections: 1 });
  let n = 0;
  try {
    for await (const s of store.iterateSpans(ctx.resources, sinceNs, untilNs)) {
      ctx.emit(s);
      n++;
    }
  } catch (e) {
    throw e instanceof StoreError ? e : new StoreError(`PostgreSQL at ${store.url}: ${pgMessage(e)}`);
  } finally {
    await store.close();
  }
  return n;
}

/** Rows as `pg` returns them: bytea as Buffer, int8 as a decimal string, int2 as a number. */
interface SpanRow {
  trace_id: Buffer;
  span_id: Buffer;
  parent_id: Buffer | null;
  parent_ref: number;
  name: string;
  kind: number;
  start_ns: string;
  end_ns: string;
  status: number;
  status_msg: string | null;
  resource_id: Buffer;
  attrs: string | null;
  links: string | null;
}

function toSpan(r: SpanRow, resource: ResourceInfo, resources: ResourceInterner, url: string): SpanInput {
  const links: SpanLinkRef[] | undefined = r.links !== null ? decodeLinks(r.links) : undefined;
  const traceId = resources.string(r.trace_id.toString('hex'));
  return {
    traceId,
    spanId: r.span_id.toString('hex'),
    ...(r.parent_id !== null ? { parentSpanId: r.parent_id.toString('hex') } : {}),
    ...(r.parent_ref === 1 ? { parentRef: 'follows-from' as const } : {}),
    name: resources.string(r.name),
    kind: KINDS[r.kind] ?? 'unspecified',
    startNs: BigInt(r.start_ns),
    endNs: BigInt(r.end_ns),
    status: STATUSES[r.status] ?? 'unset',
    ...(r.status_msg !== null ? { statusMessage: r.status_msg } : {}),
    attributes: r.attrs !== null ? decodeAttributes(r.attrs) : {},
    resource,
    ...(links && links.length > 0 ? { links } : {}),
    source: { file: `${url} trace ${traceId}` },
  };
}

/**
 * Spans (sorted by key) into cpath.spans: COPY into a temporary table, then one INSERT ... SELECT
 * that skips resends (COPY alone cannot). Returns the rows inserted; adds them per trace to `addedPer`.
 */
/** Connections whose session has the staging table (a temporary table lives as long as its session). */
const staged = new WeakSet<pg.PoolClient>();

async function insertSpans(c: pg.PoolClient, spans: readonly SpanInput[], resourceId: (r: ResourceInfo) => string, addedPer: Map<string, number>, last: boolean): Promise<number> {
  // One staging table per connection, emptied at every commit (not dropped: creating a table per
  // transaction would churn the catalog at the rate of commits).
  if (!staged.has(c)) {
    await c.query('CREATE TEMP TABLE IF NOT EXISTS cpath_stage (LIKE cpath.spans) ON COMMIT DELETE ROWS');
    staged.add(c);
  }
  // Rows are written as bytes into 1 MiB buffers: joining them into one long string first made
  // the string's conversion to bytes a tenth of the analyser's CPU (a rope of thousands of rows).
  const chunks = function* (): Generator<Buffer> {
    let buf = Buffer.allocUnsafe(COPY_CHUNK);
    let at = 0;
    for (const s of spans) {
      const row = copyRow(s, resourceId(s.resource));
      if (at + row.length * 3 > COPY_CHUNK) {
        if (at > 0) yield buf.subarray(0, at);
        buf = Buffer.allocUnsafe(Math.max(COPY_CHUNK, row.length * 3));
        at = 0;
      }
      at += buf.write(row, at);
    }
    if (at > 0) yield buf.subarray(0, at);
  };
  await pipeline(Readable.from(chunks()), c.query(copyFrom('COPY cpath_stage FROM STDIN')));
  // Spans stored now, per trace (resends excluded): the partition counts.
  const r = await c.query<{ t: string; n: string }>(
    "WITH ins AS (INSERT INTO cpath.spans SELECT * FROM cpath_stage ON CONFLICT (trace_id, span_id) DO NOTHING RETURNING trace_id) SELECT encode(trace_id, 'hex') AS t, count(*) AS n FROM ins GROUP BY trace_id",
  );
  // Emptied at commit; only a second chunk in the same transaction needs it emptied now.
  if (!last) await c.query('TRUNCATE cpath_stage');
  let added = 0;
  for (const row of r.rows) {
    const n = Number(row.n);
    addedPer.set(row.t, (addedPer.get(row.t) ?? 0) + n);
    added += n;
  }
  return added;
}

/**
 * One span as a line of COPY's text format, in cpath.spans' column order: tab-separated, `\N`
 * for NULL, backslash, tab, newline and CR escaped, bytea as `\\x` + hex.
 */
export function copyRow(s: SpanInput, resourceId: string): string {
  const links = s.links && s.links.length > 0 ? JSON.stringify(s.links.map((l) => [l.traceId, l.spanId])) : undefined;
  const attrs = encodeAttributes(s.attributes);
  return `\\\\x${s.traceId}\t\\\\x${s.spanId}\t${s.parentSpanId !== undefined ? `\\\\x${s.parentSpanId}` : '\\N'}\t${s.parentRef === 'follows-from' ? 1 : 0}\t${copyText(s.name)}\t${KINDS.indexOf(s.kind)}\t${s.startNs}\t${s.endNs}\t${STATUSES.indexOf(s.status)}\t${s.statusMessage !== undefined ? copyText(s.statusMessage) : '\\N'}\t\\\\x${resourceId}\t${attrs !== undefined ? copyText(attrs) : '\\N'}\t${links !== undefined ? copyText(links) : '\\N'}\n`;
}

/** Text for COPY: PostgreSQL text cannot hold NUL, so a NUL (possible in a span name) becomes U+FFFD. */
function copyText(t: string): string {
  return /[\\\t\n\r\0]/.test(t) ? t.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\uFFFD') : t;
}

interface ListRow {
  t: string;
  service: string;
  operation: string;
  start_ns: string;
  duration_ns: string;
  spans: number;
  errors: number;
  problems: string | null;
  analysed: boolean | null;
}

interface ChangeRow extends Omit<ListRow, 't'> {
  t: string;
  seq: string;
  components: string | null;
}

function toChange(r: ChangeRow, resources: ResourceInterner): PgChange {
  const traceId = resources.string(r.t);
  const seq = BigInt(r.seq);
  const problems = parseProblems(r.problems);
  if (r.analysed !== true) return { kind: 'unanalysable', traceId, seq, problems };
  const components = new Map<string, ComponentTime>();
  for (const c of parseJsonArray(r.components)) {
    if (!Array.isArray(c)) continue;
    const [service, operation, ns, errors] = c as unknown[];
    if (typeof service !== 'string' || typeof operation !== 'string' || typeof ns !== 'number' || typeof errors !== 'number') continue;
    components.set(componentKey(service, operation), { service: resources.string(service), operation: resources.string(operation), ns, errors });
  }
  return {
    kind: 'analysed',
    traceId,
    seq,
    summary: { traceId, service: resources.string(r.service), operation: resources.string(r.operation), startNs: BigInt(r.start_ns), durationNs: Number(r.duration_ns), components },
    problems,
  };
}

function parseJsonArray(text: string | null): unknown[] {
  if (text === null) return [];
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** Problems as saved (DiagnosticEntry objects, written by this code); anything else is left out. */
function parseProblems(text: string | null): DiagnosticEntry[] {
  const out: DiagnosticEntry[] = [];
  for (const e of parseJsonArray(text)) {
    if (typeof e !== 'object' || e === null) continue;
    const { code, severity, count, message, example } = e as Record<string, unknown>;
    if (typeof code !== 'string' || typeof severity !== 'string' || typeof count !== 'number' || typeof message !== 'string') continue;
    out.push({ ...(e as DiagnosticEntry), ...(typeof example === 'string' ? { example } : {}) });
  }
  return out;
}

function analysedId(a: PgAnalysis): string {
  return a.kind === 'analysed' ? a.trace.summary.traceId : a.trace.traceId;
}
