// The shared span store of `cpath serve --cluster` (issue 11): PostgreSQL 15 through `pg`.
// Analysers write the spans they consume from JetStream and the summaries of the traces they
// analyse; `cpath analyze --store postgres://...` reads the spans back.
//
// Everything lives in schema `cpath` of the database the URL names:
//   spans     (trace_id, span_id) bytea primary key: a resend (an exporter's retry, a JetStream
//             redelivery) is ignored by ON CONFLICT DO NOTHING
//   traces    one row per trace: time bounds, when its last batch arrived, `dirty` (spans arrived
//             after the last analysis) and the latest summary (endpoint, duration, components)
//   resources one row per distinct resource, keyed by a hash of its attributes, so every writer
//             computes the id itself (no round trip, no id sequence shared between nodes)
//   meta      the schema version
// Bulk writes: COPY (pg-copy-streams) into a temporary table, then one INSERT ... SELECT ... ON
// CONFLICT DO NOTHING. Measured in CPU time (client + server) on 100k spans, it took 1.2x less
// than INSERT ... SELECT FROM unnest(one array per column) and 3.8x less than multi-row VALUES
// (BENCHMARKS.md, "PostgreSQL span writes").
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { StoredTrace } from './span-store.js';
import { KINDS, STATUSES, StoreError, decodeAttributes, decodeLinks, encodeAttributes } from './span-store.js';
import type { ResourceInfo, ResourceInterner, SpanInput, SpanLinkRef } from '../model/span.js';
import type { ImportContext } from '../../collectors/format.js';
import { redactUrl } from './store-url.js';

const SCHEMA_VERSION = 1;
/** Spans per COPY into the staging table (and INSERT from it): bounds the staging table. */
const WRITE_CHUNK = 10_000;
/** Spans per read query (keyset pages in (trace_id, span_id) order). */
const READ_PAGE = 10_000;
const MAX_NS = 9223372036854775807n;

/** What one `append` did. */
export interface PgAppendResult {
  /** Spans stored now (resends not counted). */
  readonly spansAdded: number;
  /** Trace ids the batch touched (now dirty), sorted. */
  readonly traces: readonly string[];
}

export class PgStore {
  private readonly resourceIds = new WeakMap<ResourceInfo, string>();
  /** Resource ids known to be stored by this process. */
  private readonly storedResources = new Set<string>();

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
   * bounds widened, `last_seen_ns = receivedNs`, dirty). Resends are ignored. Rows are written
   * in key order, so two writers touching the same traces cannot deadlock.
   */
  async append(spans: readonly SpanInput[], receivedNs: bigint): Promise<PgAppendResult> {
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
    await this.transaction(async (c) => {
      if (newResources.size > 0) {
        const ids = [...newResources.keys()].sort();
        await c.query('INSERT INTO cpath.resources (id, attrs) SELECT decode(i, $3), a FROM unnest($1::text[], $2::text[]) AS u(i, a) ON CONFLICT (id) DO NOTHING', [
          ids,
          ids.map((i) => newResources.get(i)),
          'hex',
        ]);
      }
      for (let i = 0; i < sorted.length; i += WRITE_CHUNK) added += await insertSpans(c, sorted.slice(i, i + WRITE_CHUNK), (r) => this.resourceId(r));
      const ids = [...perTrace.keys()];
      await c.query(
        `INSERT INTO cpath.traces (trace_id, first_start_ns, last_end_ns, last_seen_ns, dirty)
         SELECT decode(t, 'hex'), f, l, $4, true FROM unnest($1::text[], $2::int8[], $3::int8[]) AS u(t, f, l)
         ON CONFLICT (trace_id) DO UPDATE SET
           first_start_ns = LEAST(cpath.traces.first_start_ns, EXCLUDED.first_start_ns),
           last_end_ns = GREATEST(cpath.traces.last_end_ns, EXCLUDED.last_end_ns),
           last_seen_ns = EXCLUDED.last_seen_ns, dirty = true`,
        [ids, ids.map((t) => perTrace.get(t)?.first), ids.map((t) => perTrace.get(t)?.last), receivedNs],
      );
    });
    for (const id of newResources.keys()) this.storedResources.add(id);
    return { spansAdded: added, traces: [...perTrace.keys()] };
  }

  /** Records the latest analysis of each trace; they are clean until more spans arrive. */
  async saveSummaries(traces: readonly StoredTrace[]): Promise<void> {
    if (traces.length === 0) return;
    const list = [...traces].sort((a, b) => (a.summary.traceId < b.summary.traceId ? -1 : 1));
    await this.pool.query(
      `UPDATE cpath.traces t SET dirty = false, service = u.s, operation = u.o, start_ns = u.st, duration_ns = u.d, spans = u.n, errors = u.e, components = u.c::jsonb
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int4[], $7::int4[], $8::text[]) AS u(id, s, o, st, d, n, e, c)
       WHERE t.trace_id = decode(u.id, 'hex')`,
      [
        list.map((t) => t.summary.traceId),
        list.map((t) => t.summary.service),
        list.map((t) => t.summary.operation),
        list.map((t) => t.summary.startNs),
        list.map((t) => Math.round(t.summary.durationNs)),
        list.map((t) => t.spans),
        list.map((t) => t.errors),
        list.map((t) => JSON.stringify([...t.summary.components.values()].map((c) => [c.service, c.operation, c.ns, c.errors]))),
      ],
    );
  }

  /** Counts, for tests and /metrics. */
  async counts(): Promise<{ spans: number; traces: number; dirty: number }> {
    const r = await this.pool.query<{ spans: string; traces: string; dirty: string }>(
      'SELECT (SELECT count(*) FROM cpath.spans) AS spans, (SELECT count(*) FROM cpath.traces) AS traces, (SELECT count(*) FROM cpath.traces WHERE dirty) AS dirty',
    );
    const row = r.rows[0];
    return { spans: Number(row?.spans ?? 0), traces: Number(row?.traces ?? 0), dirty: Number(row?.dirty ?? 0) };
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
        `SELECT s.trace_id, s.span_id, s.parent_id, s.parent_ref, s.name, s.kind, s.start_ns, s.end_ns, s.status, s.status_msg, s.resource_id, s.attrs, s.links
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

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
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
 * that skips resends (COPY alone cannot). Returns the rows inserted.
 */
async function insertSpans(c: pg.PoolClient, spans: readonly SpanInput[], resourceId: (r: ResourceInfo) => string): Promise<number> {
  // One staging table per connection, emptied at every commit (not dropped: creating a table per
  // transaction would churn the catalog at the rate of commits).
  await c.query('CREATE TEMP TABLE IF NOT EXISTS cpath_stage (LIKE cpath.spans) ON COMMIT DELETE ROWS');
  const chunks = function* (): Generator<string> {
    let buf = '';
    for (const s of spans) {
      buf += copyRow(s, resourceId(s.resource));
      if (buf.length >= 1 << 20) {
        yield buf;
        buf = '';
      }
    }
    if (buf !== '') yield buf;
  };
  await pipeline(Readable.from(chunks()), c.query(copyFrom('COPY cpath_stage FROM STDIN')));
  const r = await c.query('INSERT INTO cpath.spans SELECT * FROM cpath_stage ON CONFLICT (trace_id, span_id) DO NOTHING');
  await c.query('TRUNCATE cpath_stage');
  return r.rowCount ?? 0;
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

export const PG_SCHEMA = `
  CREATE SCHEMA IF NOT EXISTS cpath;
  CREATE TABLE IF NOT EXISTS cpath.meta (key text PRIMARY KEY, value text NOT NULL);
  CREATE TABLE IF NOT EXISTS cpath.resources (id bytea PRIMARY KEY, attrs text NOT NULL);
  CREATE TABLE IF NOT EXISTS cpath.spans (
    trace_id bytea NOT NULL, span_id bytea NOT NULL, parent_id bytea, parent_ref int2 NOT NULL,
    name text NOT NULL, kind int2 NOT NULL, start_ns int8 NOT NULL, end_ns int8 NOT NULL,
    status int2 NOT NULL, status_msg text, resource_id bytea NOT NULL, attrs text, links text,
    PRIMARY KEY (trace_id, span_id)
  );
  CREATE TABLE IF NOT EXISTS cpath.traces (
    trace_id bytea PRIMARY KEY, first_start_ns int8 NOT NULL, last_end_ns int8 NOT NULL,
    last_seen_ns int8 NOT NULL, dirty boolean NOT NULL,
    service text, operation text, start_ns int8, duration_ns int8, spans int4, errors int4, components jsonb
  );
  CREATE INDEX IF NOT EXISTS traces_start ON cpath.traces (start_ns);
  CREATE INDEX IF NOT EXISTS traces_seen ON cpath.traces (last_seen_ns);
  CREATE INDEX IF NOT EXISTS traces_dirty ON cpath.traces (trace_id) WHERE dirty;
`;

async function createSchema(c: pg.PoolClient, shown: string): Promise<void> {
  try {
    await c.query('BEGIN');
    // Nodes starting together: one creates, the others wait here and find it done.
    await c.query("SELECT pg_advisory_xact_lock(hashtext('cpath schema'))");
    await c.query(PG_SCHEMA);
    await c.query("INSERT INTO cpath.meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO NOTHING", [String(SCHEMA_VERSION)]);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw new StoreError(`cannot create the cpath schema in PostgreSQL at ${shown}: ${pgMessage(e)}`);
  }
}

async function checkVersion(c: pg.PoolClient, shown: string): Promise<void> {
  let version: string | undefined;
  try {
    const r = await c.query<{ value: string }>("SELECT value FROM cpath.meta WHERE key = 'schema_version'");
    version = r.rows[0]?.value;
  } catch (e) {
    if (typeof e === 'object' && e !== null && 'code' in e && e.code === '42P01') throw new StoreError(`PostgreSQL at ${shown} holds no cpath store (no table cpath.meta)`);
    throw new StoreError(`PostgreSQL at ${shown}: ${pgMessage(e)}`);
  }
  if (version !== String(SCHEMA_VERSION)) throw new StoreError(`PostgreSQL at ${shown}: cpath store schema version ${version ?? 'missing'}, this cpath reads version ${SCHEMA_VERSION}`);
}

/** A driver or server error as one line (pg's AggregateError for "every address refused" has an empty message). */
export function pgMessage(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return pgMessage(e.errors[0]);
  const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const msg = e instanceof Error ? e.message : String(e);
  return (msg !== '' ? msg : (code ?? 'unknown error')).split('\n')[0] ?? '';
}
