// The tables of the cluster's shared store (schema `cpath` of the database the URL names), and
// their creation and version check. Every node may start at once: creation is serialised by an
// advisory lock, and every statement is IF NOT EXISTS.
//
//   spans       (trace_id, span_id) bytea primary key: a resend (an exporter's retry, a
//               JetStream redelivery) is ignored by ON CONFLICT DO NOTHING
//   traces      one row per trace: its partition, time bounds, when its last batch arrived,
//               `version` (bumped by every batch that touched it), `dirty` (spans newer than its
//               analysis), and its latest analysis: the summary (endpoint, duration, components),
//               or `problems` when it had no analysable root. `change_seq`/`change_xid` say when
//               the analysis last changed: the API role follows them (pg-changes.ts).
//   deletions   traces retention removed, with the same change_seq/change_xid, so that the API
//               role forgets them
//   resources   one row per distinct resource, keyed by a hash of its attributes (every writer
//               computes the id itself), with the start-time granularity seen in its spans
//   counts      spans and traces stored, one row per partition (its one writer keeps it current:
//               no row every writer fights over)
//   meta        the schema version
import type pg from 'pg';
import { StoreError } from './span-store.js';

export const SCHEMA_VERSION = 2;

export const PG_SCHEMA = `
  CREATE SCHEMA IF NOT EXISTS cpath;
  CREATE TABLE IF NOT EXISTS cpath.meta (key text PRIMARY KEY, value text NOT NULL);
  CREATE SEQUENCE IF NOT EXISTS cpath.change_seq;
  CREATE TABLE IF NOT EXISTS cpath.resources (id bytea PRIMARY KEY, attrs text NOT NULL, granularity int4);
  CREATE TABLE IF NOT EXISTS cpath.spans (
    trace_id bytea NOT NULL, span_id bytea NOT NULL, parent_id bytea, parent_ref int2 NOT NULL,
    name text NOT NULL, kind int2 NOT NULL, start_ns int8 NOT NULL, end_ns int8 NOT NULL,
    status int2 NOT NULL, status_msg text, resource_id bytea NOT NULL, attrs text, links text,
    PRIMARY KEY (trace_id, span_id)
  );
  CREATE TABLE IF NOT EXISTS cpath.traces (
    trace_id bytea PRIMARY KEY, partition int4 NOT NULL, first_start_ns int8 NOT NULL, last_end_ns int8 NOT NULL,
    last_seen_ns int8 NOT NULL, version int8 NOT NULL, dirty boolean NOT NULL,
    change_seq int8, change_xid xid8, analysed boolean,
    service text, operation text, start_ns int8, duration_ns int8, spans int4, errors int4, components jsonb, problems jsonb
  );
  CREATE INDEX IF NOT EXISTS traces_start ON cpath.traces (start_ns);
  CREATE INDEX IF NOT EXISTS traces_seen ON cpath.traces (last_seen_ns);
  CREATE INDEX IF NOT EXISTS traces_dirty ON cpath.traces (partition) WHERE dirty;
  CREATE INDEX IF NOT EXISTS traces_change ON cpath.traces (change_xid);
  CREATE TABLE IF NOT EXISTS cpath.deletions (trace_id bytea NOT NULL, change_seq int8 NOT NULL, change_xid xid8 NOT NULL, at_ns int8 NOT NULL);
  CREATE INDEX IF NOT EXISTS deletions_change ON cpath.deletions (change_xid);
  CREATE TABLE IF NOT EXISTS cpath.counts (partition int4 PRIMARY KEY, spans int8 NOT NULL, traces int8 NOT NULL);
`;

export async function createSchema(c: pg.PoolClient, shown: string): Promise<void> {
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

export async function checkVersion(c: pg.PoolClient, shown: string): Promise<void> {
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
