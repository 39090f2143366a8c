// The embedded span store of `cpath serve` (SQLite through better-sqlite3; ARCHITECTURE.md says
// why): spans clustered by trace, one row per trace with its latest analysis, resources once.
// Synchronous by design: a transaction commits before the receiver acknowledges.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { ComponentTime, TraceSummary } from '../../analysis/endpoints.js';
import type { TraceOutline } from '../../analysis/trace-outline.js';
import { componentKey } from '../../analysis/endpoints.js';
import { DIAGNOSTIC_CODES, type DiagnosticEntry } from '../model/diagnostics.js';
import { stringifyAttr, type Attributes, type ResourceInfo, type ResourceInterner, type SpanInput, type SpanKind, type SpanLinkRef, type StatusCode } from '../model/span.js';

const SCHEMA_VERSION = 2;
/** Versions this cpath opens: 1 (before traces.problems) is migrated when opened for writing. */
const READABLE_VERSIONS = [1, 2];
export const STORE_FILE = 'cpath.sqlite';

export type FsyncMode = 'always' | 'batch';

/** One accepted request's spans. */
export interface StoredBatch {
  readonly spans: readonly SpanInput[];
  /** When cpath received it, Unix ns (retention by age counts from here). */
  readonly receivedNs: bigint;
}

/** A stored trace's latest analysis plus what the trace list shows. */
export interface StoredTrace {
  readonly summary: TraceSummary;
  readonly spans: number;
  readonly errors: number;
}

/** One row of `GET /api/traces`. */
export interface TraceListEntry {
  traceId: string;
  service: string;
  operation: string;
  startUnixNano: string;
  durationNs: number;
  spans: number;
  errors: number;
  /** Only on a trace that could not be analysed (no root: a parent cycle): why. It counts in no statistics. */
  diagnostics?: DiagnosticEntry[];
}

/** A stored trace with no analysable root, listed with its problems instead of an analysis. */
export interface UnanalysableTrace extends TraceOutline {
  readonly traceId: string;
  readonly diagnostics: readonly DiagnosticEntry[];
}

export interface TraceQuery {
  readonly service?: string;
  readonly operation?: string;
  readonly minDurationNs?: number;
  readonly maxDurationNs?: number;
  readonly sinceNs?: bigint;
  readonly untilNs?: bigint;
  readonly limit: number;
  /** From a previous page's `next`. */
  readonly cursor?: { readonly startNs: bigint; readonly traceId: string };
}

/** `key=value` of `GET /api/traces?attr=`: some span's attribute, or its resource's, equals `value` as text. */
export interface AttrMatch {
  readonly key: string;
  readonly value: string;
}

/** A position in the newest-first trace order (`(start, trace id)` descending). */
export interface TraceCursor {
  readonly startNs: bigint;
  readonly traceId: string;
}

export const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const STATUSES: readonly StatusCode[] = ['unset', 'ok', 'error'];

/** Rows as better-sqlite3 returns them with safe integers on: every INTEGER is a bigint. */
interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_id: string | null;
  parent_ref: bigint;
  name: string;
  kind: bigint;
  start_ns: bigint;
  end_ns: bigint;
  status: bigint;
  status_msg: string | null;
  resource_id: bigint;
  attrs: string | null;
  links: string | null;
}

type ListRow = Omit<TraceRow, 'components'>;

function toListEntry(r: ListRow): TraceListEntry {
  const diagnostics = r.problems !== null ? decodeProblems(r.problems) : undefined;
  return {
    traceId: r.trace_id,
    service: r.service,
    operation: r.operation,
    startUnixNano: String(r.start_ns),
    durationNs: Number(r.duration_ns),
    spans: Number(r.spans),
    errors: Number(r.errors),
    ...(diagnostics ? { diagnostics } : {}),
  };
}

function decodeProblems(text: string): DiagnosticEntry[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((e): e is DiagnosticEntry => typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' && e.code in DIAGNOSTIC_CODES) : [];
  } catch {
    return [];
  }
}

interface TraceRow {
  trace_id: string;
  service: string;
  operation: string;
  start_ns: bigint;
  duration_ns: bigint;
  spans: bigint;
  errors: bigint;
  components: string;
  /** JSON DiagnosticEntry[] of an unanalysable trace; NULL for an analysed one. */
  problems: string | null;
}

export class SpanStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly resourceIds = new Map<ResourceInfo, number>();
  private readonly resourcesById = new Map<number, ResourceInfo>();
  private readonly stmt;
  private readonly reads;
  /** The writer's running counts, once `counts()` has counted. */
  private counted: { traces: number; spans: number } | undefined;

  private constructor(file: string, db: Database.Database, readonly readonly: boolean) {
    this.file = file;
    this.db = db;
    db.defaultSafeIntegers(true);
    this.stmt = readonly ? undefined : this.prepareWrites();
    this.reads = {
      spansOfTrace: db.prepare('SELECT * FROM spans WHERE trace_id = ? ORDER BY rowid'),
      resourceKey: db.prepare('SELECT key FROM resources WHERE id = ?').pluck(),
    };
  }

  /**
   * Checkpoints the WAL into the database every `intervalMs` from a worker thread with its own
   * connection (a passive checkpoint runs beside the writer). Returns the stop function.
   */
  startCheckpointer(intervalMs: number): () => Promise<void> {
    const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { file: this.file, intervalMs, walLimit: WAL_LIMIT_BYTES } });
    worker.unref();
    // A failing checkpointer is not fatal: the writer's own autocheckpoint takes over.
    worker.on('error', () => {});
    return async () => {
      await worker.terminate();
    };
  }

  /** Runs `fn` in one transaction (one commit for many writes). */
  batch<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Opens (creating) the store in directory `dir`. */
  static open(dir: string, fsync: FsyncMode): SpanStore {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, STORE_FILE);
    try {
      return SpanStore.openWritable(file, fsync);
    } catch (e) {
      throw damagedStore(file, e);
    }
  }

  private static openWritable(file: string, fsync: FsyncMode): SpanStore {
    const db = new Database(file);
    // auto_vacuum only takes effect before the first table exists: retention can then give
    // pages back to the file system.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives the process being killed; FULL also fsyncs every commit.
    db.pragma(`synchronous = ${fsync === 'always' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
    // The key index grows with every span and inserts land all over it: a 2 MB default page
    // cache made most of them read pages back from the OS (measured in BENCHMARKS.md).
    db.pragma('cache_size = -131072');
    // Checkpoints run on a worker thread (startCheckpointer): on the event loop they stalled
    // every request behind them. The writer checkpoints itself only if the WAL runs away past
    // WAL_LIMIT_BYTES (the thread's checkpoints could not keep up, or commits starved its
    // TRUNCATE); by then the thread has copied most of it, so this copies the rest.
    db.pragma(`wal_autocheckpoint = ${Math.round(WAL_LIMIT_BYTES / Number(db.pragma('page_size', { simple: true })))}`);
    // After a checkpoint resets the WAL, the file is cut back to this size (else it keeps its peak).
    db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version === 0) createSchema(db);
    else if (version === 1) db.exec(`ALTER TABLE traces ADD COLUMN problems TEXT; PRAGMA user_version = ${SCHEMA_VERSION};`);
    else if (version !== SCHEMA_VERSION) throw new StoreError(`${file}: store schema version ${version}, this cpath reads version ${SCHEMA_VERSION}`);
    return new SpanStore(file, db, false);
  }

  /** Opens an existing store read-only (`cpath analyze --store`); a running server may keep writing. */
  static openReadOnly(dir: string): SpanStore {
    const file = join(dir, STORE_FILE);
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
    } catch (e) {
      throw new StoreError(`${file}: cannot open the store (${e instanceof Error ? e.message : String(e)})`);
    }
    let version: number;
    try {
      version = Number(db.pragma('user_version', { simple: true }));
    } catch (e) {
      db.close();
      throw damagedStore(file, e);
    }
    if (!READABLE_VERSIONS.includes(version)) throw new StoreError(`${file}: not a cpath store of schema version ${SCHEMA_VERSION} (found ${version})`);
    return new SpanStore(file, db, true);
  }

  private prepareWrites() {
    const db = this.db;
    return {
      insertSpan: db.prepare(
        `INSERT OR IGNORE INTO spans (trace_id, span_id, parent_id, parent_ref, name, kind, start_ns, end_ns, status, status_msg, resource_id, attrs, links)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // Insert and update apart (not one upsert): the insert's change count says whether the
      // trace is new, which keeps the trace count exact without counting rows.
      insertTrace: db.prepare('INSERT INTO traces (trace_id, first_start_ns, last_end_ns, last_seen_ns, dirty) VALUES (?, ?, ?, ?, 1) ON CONFLICT (trace_id) DO NOTHING'),
      updateTrace: db.prepare(
        `UPDATE traces SET first_start_ns = min(first_start_ns, ?), last_end_ns = max(last_end_ns, ?), last_seen_ns = ?, dirty = 1 WHERE trace_id = ?`,
      ),
      insertResource: db.prepare('INSERT OR IGNORE INTO resources (key) VALUES (?)'),
      resourceId: db.prepare('SELECT id FROM resources WHERE key = ?').pluck(),
      saveSummary: db.prepare(
        `UPDATE traces SET dirty = 0, service = ?, operation = ?, start_ns = ?, duration_ns = ?, spans = ?, errors = ?, components = ?, problems = ? WHERE trace_id = ?`,
      ),
      deleteSpans: db.prepare('DELETE FROM spans WHERE trace_id = ?'),
      deleteTrace: db.prepare('DELETE FROM traces WHERE trace_id = ?'),
    };
  }

  private writes() {
    if (!this.stmt) throw new StoreError(`${this.file}: opened read-only`);
    return this.stmt;
  }

  /**
   * Commits the batches in one transaction (group commit). Returns the ids of the traces they
   * touched. Throws when the database refuses the write (disk full...): nothing is committed.
   */
  append(batches: readonly StoredBatch[]): Set<string> {
    const w = this.writes();
    const touched = new Set<string>();
    let spansAdded = 0;
    let tracesAdded = 0;
    this.db.transaction(() => {
      for (const b of batches) {
        const perTrace = new Map<string, { first: bigint; last: bigint }>();
        for (const s of b.spans) {
          spansAdded += w.insertSpan.run(
            s.traceId,
            s.spanId,
            s.parentSpanId ?? null,
            s.parentRef === 'follows-from' ? 1 : 0,
            s.name,
            KINDS.indexOf(s.kind),
            s.startNs,
            s.endNs,
            STATUSES.indexOf(s.status),
            s.statusMessage ?? null,
            this.resourceId(s.resource),
            encodeAttributes(s.attributes),
            s.links && s.links.length > 0 ? JSON.stringify(s.links.map((l) => [l.traceId, l.spanId])) : null,
          ).changes;
          const t = perTrace.get(s.traceId);
          if (!t) perTrace.set(s.traceId, { first: s.startNs, last: s.endNs });
          else {
            if (s.startNs < t.first) t.first = s.startNs;
            if (s.endNs > t.last) t.last = s.endNs;
          }
        }
        for (const [id, t] of perTrace) {
          if (w.insertTrace.run(id, t.first, t.last, b.receivedNs).changes > 0) tracesAdded++;
          else w.updateTrace.run(t.first, t.last, b.receivedNs, id);
          touched.add(id);
        }
      }
    })();
    if (this.counted) {
      this.counted.spans += spansAdded;
      this.counted.traces += tracesAdded;
    }
    return touched;
  }

  private resourceId(r: ResourceInfo): number {
    const hit = this.resourceIds.get(r);
    if (hit !== undefined) return hit;
    const w = this.writes();
    const key = encodeAttributes(r.attributes) ?? '{}';
    w.insertResource.run(key);
    const id = Number(w.resourceId.get(key));
    this.resourceIds.set(r, id);
    return id;
  }

  private resourceById(id: number, resources: ResourceInterner): ResourceInfo {
    const hit = this.resourcesById.get(id);
    if (hit) return hit;
    const key = this.reads.resourceKey.get(id);
    const r = resources.intern(typeof key === 'string' ? decodeAttributes(key) : {});
    this.resourcesById.set(id, r);
    this.resourceIds.set(r, id);
    return r;
  }

  /** Every stored span of one trace, in storage order. */
  spansOfTrace(traceId: string, resources: ResourceInterner): SpanInput[] {
    const rows = this.reads.spansOfTrace.all(traceId) as SpanRow[];
    return rows.map((r) => this.toSpan(r, resources));
  }

  /**
   * Spans of the traces that may start in [sinceNs, untilNs), grouped by trace: a trace whose
   * primary root starts at or after `since` has a span ending then or later, and one starting
   * before `until`. The exact filter is the analysis's.
   */
  *iterateSpans(resources: ResourceInterner, sinceNs?: bigint, untilNs?: bigint): Generator<SpanInput> {
    const stmt = this.db.prepare(
      `SELECT s.* FROM traces t JOIN spans s ON s.trace_id = t.trace_id
       WHERE t.last_end_ns >= ? AND t.first_start_ns < ? ORDER BY t.trace_id, s.rowid`,
    );
    try {
      for (const r of stmt.iterate(sinceNs ?? 0n, untilNs ?? 9223372036854775807n) as IterableIterator<SpanRow>) yield this.toSpan(r, resources);
    } catch (e) {
      throw damagedStore(this.file, e);
    }
  }

  /**
   * SQLite's integrity check (`cpath store check`): an empty list when the file is sound, else
   * SQLite's findings (at most `max`).
   */
  integrityProblems(max = 100): string[] {
    const rows = this.db.prepare(`PRAGMA integrity_check(${Math.max(1, Math.floor(max))})`).pluck().all();
    const problems = rows.map(String);
    return problems.length === 1 && problems[0] === 'ok' ? [] : problems;
  }

  private toSpan(r: SpanRow, resources: ResourceInterner): SpanInput {
    const links: SpanLinkRef[] | undefined = r.links ? decodeLinks(r.links) : undefined;
    return {
      traceId: resources.string(r.trace_id),
      spanId: r.span_id,
      ...(r.parent_id !== null ? { parentSpanId: r.parent_id } : {}),
      ...(r.parent_ref === 1n ? { parentRef: 'follows-from' as const } : {}),
      name: resources.string(r.name),
      kind: KINDS[Number(r.kind)] ?? 'unspecified',
      startNs: BigInt(r.start_ns),
      endNs: BigInt(r.end_ns),
      status: STATUSES[Number(r.status)] ?? 'unset',
      ...(r.status_msg !== null ? { statusMessage: r.status_msg } : {}),
      attributes: r.attrs ? decodeAttributes(r.attrs) : {},
      resource: this.resourceById(Number(r.resource_id), resources),
      ...(links && links.length > 0 ? { links } : {}),
      source: { file: `${this.file} trace ${r.trace_id}` },
    };
  }

  /** Records a trace's analysis; it is clean until more spans arrive. */
  saveAnalysis(t: StoredTrace): void {
    const s = t.summary;
    const comps = [...s.components.values()].map((c) => [c.service, c.operation, c.ns, c.errors]);
    this.writes().saveSummary.run(s.service, s.operation, s.startNs, BigInt(Math.round(s.durationNs)), t.spans, t.errors, JSON.stringify(comps), null, s.traceId);
  }

  /** A trace with no analysable root: clean, listed with its problems, and in no statistics. */
  saveUnanalysable(t: UnanalysableTrace): void {
    this.writes().saveSummary.run(t.service, t.operation, t.startNs, BigInt(Math.round(t.durationNs)), t.spans, t.errors, '[]', JSON.stringify(t.diagnostics), t.traceId);
  }

  /** Every stored analysis, to rebuild the live aggregates at start. */
  *summaries(): Generator<StoredTrace> {
    const rows = this.db.prepare('SELECT trace_id, service, operation, start_ns, duration_ns, spans, errors, components FROM traces WHERE service IS NOT NULL AND problems IS NULL').iterate() as IterableIterator<TraceRow>;
    for (const r of rows) yield toStoredTrace(r);
  }

  /** Traces with spans newer than their analysis (a restart analyses them again). */
  dirtyTraces(): string[] {
    return this.db.prepare('SELECT trace_id FROM traces WHERE dirty = 1').pluck().all() as string[];
  }

  /** Analysed traces, newest first, for `GET /api/traces`. */
  listTraces(q: TraceQuery): { traces: TraceListEntry[]; next?: TraceCursor } {
    const rows = this.candidates(q, q.limit + 1);
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { traces: page.map(toListEntry), ...(more && last ? { next: { startNs: BigInt(last.start_ns), traceId: last.trace_id } } : {}) };
  }

  /** Analysed traces matching `q`'s filters after `q.cursor`, newest first, at most `limit` rows. */
  private candidates(q: TraceQuery, limit: number): ListRow[] {
    const where: string[] = ['service IS NOT NULL'];
    const args: (string | bigint | number)[] = [];
    if (q.service !== undefined) where.push('service = ?') && args.push(q.service);
    if (q.operation !== undefined) where.push('operation = ?') && args.push(q.operation);
    if (q.minDurationNs !== undefined) where.push('duration_ns >= ?') && args.push(BigInt(Math.ceil(q.minDurationNs)));
    if (q.maxDurationNs !== undefined) where.push('duration_ns <= ?') && args.push(BigInt(Math.floor(q.maxDurationNs)));
    if (q.sinceNs !== undefined) where.push('start_ns >= ?') && args.push(q.sinceNs);
    if (q.untilNs !== undefined) where.push('start_ns < ?') && args.push(q.untilNs);
    // `start_ns <= ?` alone is what the index can seek to; without it every page scanned from the newest trace.
    if (q.cursor) where.push('start_ns <= ? AND (start_ns < ? OR trace_id < ?)') && args.push(q.cursor.startNs, q.cursor.startNs, q.cursor.traceId);
    return this.db
      .prepare(`SELECT trace_id, service, operation, start_ns, duration_ns, spans, errors, problems FROM traces WHERE ${where.join(' AND ')} ORDER BY start_ns DESC, trace_id DESC LIMIT ?`)
      .all(...args, limit) as ListRow[];
  }

  /**
   * `GET /api/traces?attr=`: walks the traces `listTraces` would list, newest first from
   * `q.cursor`, yielding each one examined with whether every `attrs` pair matches some span
   * of it (its own attribute, else its resource's, compared as text like `--where`). The caller
   * decides when to stop and may pause between steps: no statement stays open across a yield.
   * Cost: the spans of every examined trace are read through the key index; SQL's instr() on
   * the stored JSON skips spans that cannot match before any JSON is parsed.
   */
  *searchTraces(q: TraceQuery, attrs: readonly AttrMatch[]): Generator<{ readonly at: TraceCursor; readonly match?: TraceListEntry }, void, void> {
    const matchers = attrs.map((a) => this.attrMatcher(a));
    let cursor = q.cursor;
    for (;;) {
      const rows = this.candidates({ ...q, ...(cursor ? { cursor } : {}) }, 256);
      for (const r of rows) {
        cursor = { startNs: BigInt(r.start_ns), traceId: r.trace_id };
        yield matchers.every((m) => m(r.trace_id)) ? { at: cursor, match: toListEntry(r) } : { at: cursor };
      }
      if (rows.length < 256) return;
    }
  }

  /** A test of one trace for one `key=value`. */
  private attrMatcher(a: AttrMatch): (traceId: string) => boolean {
    // Resources are few: decide each once. A span without the key falls back to its resource.
    const resourceMatch = new Set<number>();
    for (const r of this.db.prepare('SELECT id, key FROM resources').iterate() as IterableIterator<{ id: bigint; key: string }>) {
      const v = decodeAttributes(r.key)[a.key];
      if (v !== undefined && stringifyAttr(v) === a.value) resourceMatch.add(Number(r.id));
    }
    // Attributes are stored as JSON.stringify of the object: a span holding the key contains
    // `"key":` and, when the value needs no JSON escaping, the value's text as well.
    const keyNeedle = `${JSON.stringify(a.key)}:`;
    const plain = JSON.stringify(a.value).slice(1, -1) === a.value;
    const stmt = this.db.prepare(
      `SELECT resource_id, attrs FROM spans WHERE trace_id = ? AND ((attrs IS NOT NULL AND instr(attrs, ?) > 0${plain ? ' AND instr(attrs, ?) > 0' : ''})
       OR resource_id IN (SELECT value FROM json_each(?)))`,
    );
    const resIds = JSON.stringify([...resourceMatch]);
    const args = (id: string): (string | number)[] => (plain ? [id, keyNeedle, a.value, resIds] : [id, keyNeedle, resIds]);
    return (traceId) => {
      for (const row of stmt.iterate(...args(traceId)) as IterableIterator<{ resource_id: bigint; attrs: string | null }>) {
        // The span's own value decides when it has the key (as in `--where`), else its resource's.
        const own = row.attrs !== null && row.attrs.includes(keyNeedle) ? decodeAttributes(row.attrs)[a.key] : undefined;
        if (own !== undefined ? stringifyAttr(own) === a.value : resourceMatch.has(Number(row.resource_id))) return true;
      }
      return false;
    };
  }

  /** Bytes the store's pages hold (free pages excluded), the measure --max-store limits. */
  usedBytes(): number {
    const pageSize = Number(this.db.pragma('page_size', { simple: true }));
    const pages = Number(this.db.pragma('page_count', { simple: true }));
    const free = Number(this.db.pragma('freelist_count', { simple: true }));
    return (pages - free) * pageSize;
  }

  /**
   * Stored traces and spans. Counting rows reads a whole index (0.4–0.7 s for 3M spans), so the
   * writer counts once and then keeps the figures up to date itself; a read-only store (a
   * server may be writing) counts every time.
   */
  counts(): { traces: number; spans: number } {
    if (this.counted) return { ...this.counted };
    const traces = Number(this.db.prepare('SELECT count(*) FROM traces').pluck().get());
    const spans = Number(this.db.prepare('SELECT count(*) FROM spans').pluck().get());
    if (!this.readonly) this.counted = { traces, spans };
    return { traces, spans };
  }

  /**
   * Up to `limit` trace ids whose last batch arrived before `cutoffNs`, oldest first; with no
   * cutoff, simply the oldest. Retention deletes whole traces, never half of one.
   */
  oldestTraces(limit: number, cutoffNs?: bigint): string[] {
    if (cutoffNs === undefined) return this.db.prepare('SELECT trace_id FROM traces ORDER BY last_seen_ns LIMIT ?').pluck().all(limit) as string[];
    return this.db.prepare('SELECT trace_id FROM traces WHERE last_seen_ns < ? ORDER BY last_seen_ns LIMIT ?').pluck().all(cutoffNs, limit) as string[];
  }

  deleteTraces(ids: readonly string[]): void {
    const w = this.writes();
    let spans = 0;
    let traces = 0;
    this.db.transaction(() => {
      for (const id of ids) {
        spans += w.deleteSpans.run(id).changes;
        traces += w.deleteTrace.run(id).changes;
      }
    })();
    // Only once committed (a failed transaction deleted nothing).
    if (this.counted) {
      this.counted.spans -= spans;
      this.counted.traces -= traces;
    }
  }

  /** Gives free pages back to the file system (after retention deleted some). */
  compact(): void {
    this.db.pragma('incremental_vacuum');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /**
   * Checkpoints and closes. A checkpoint that cannot run (disk full) loses nothing: the WAL
   * keeps every commit and the next open applies it; `log` is told, nothing is thrown.
   */
  close(log?: (line: string) => void): void {
    if (!this.readonly) {
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch (e) {
        log?.(`${this.file}: the final checkpoint could not run (${e instanceof Error ? e.message : String(e)}); nothing is lost: the committed spans are in ${this.file}-wal and are applied when the store is next opened`);
      }
    }
    try {
      this.db.close();
    } catch (e) {
      log?.(`${this.file}: closing the store failed (${e instanceof Error ? e.message : String(e)}); the committed spans are in ${this.file}-wal`);
    }
  }
}

export class StoreError extends Error {}

/** SQLite's codes for a file that is not (or no longer) a sound database. */
const DAMAGE_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_VTAB']);

/** True when `e` says the store file is damaged. */
export function isStoreDamage(e: unknown): boolean {
  return e instanceof Database.SqliteError && DAMAGE_CODES.has(e.code);
}

/**
 * A damaged store as the user should hear of it: which file, that it is damaged, what to do.
 * Other errors are returned unchanged.
 */
export function damagedStore(file: string, e: unknown): unknown {
  if (!isStoreDamage(e) || e instanceof StoreError) return e;
  const dir = dirname(file);
  return new StoreError(
    `${file} is damaged (SQLite: ${e instanceof Error ? e.message : String(e)}). ` +
      `Run \`cpath store check ${dir}\` to see what is damaged; move the directory aside (mv ${dir} ${dir}.damaged) to start with an empty store; ` +
      `\`cpath analyze --store ${dir}.damaged\` still reads what is intact.`,
  );
}

/** SQLite result codes that say the data itself cannot be stored (retrying the same data fails again). */
const DATA_ERRORS = new Set(['SQLITE_TOOBIG', 'SQLITE_MISMATCH', 'SQLITE_RANGE']);

/**
 * True when a write failed for what it held: a value better-sqlite3 cannot bind (a bigint past
 * int64 is a RangeError, a wrong type a TypeError) or one SQLite refuses as such. False for the
 * store's own state (disk full, I/O error, locked...), which may pass.
 */
export function isPermanentStoreError(e: unknown): boolean {
  if (e instanceof Database.SqliteError) return DATA_ERRORS.has(e.code) || e.code.startsWith('SQLITE_CONSTRAINT');
  return e instanceof RangeError || e instanceof TypeError;
}

/**
 * The WAL's bound. Under a steady stream of commits a PASSIVE checkpoint never finds the WAL
 * fully copied at a moment no commit is running, so the WAL never restarts (181 MB beside a
 * 6 MB database, issue 15): past this size the checkpointer runs a TRUNCATE checkpoint, which
 * holds commits back only while it copies what the last PASSIVE one left.
 */
const WAL_LIMIT_BYTES = 64 * 1024 * 1024;

// The checkpointer's code (CommonJS, run with eval: better-sqlite3 is a CommonJS package).
const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const walSize = () => { try { return statSync(workerData.file + '-wal').size; } catch { return 0; } };
setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    if (walSize() > workerData.walLimit) db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {}
}, workerData.intervalMs);
`;

function createSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE resources (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
    -- Rows are appended in arrival order (a rowid table); the key index finds a trace's spans
    -- and ignores resends. Clustering the rows by trace instead made every insert land at a
    -- random place in the big table (measured: slower ingest).
    CREATE TABLE spans (
      trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT, parent_ref INTEGER NOT NULL,
      name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
      status INTEGER NOT NULL, status_msg TEXT, resource_id INTEGER NOT NULL, attrs TEXT, links TEXT
    );
    CREATE UNIQUE INDEX spans_key ON spans (trace_id, span_id);
    -- dirty = 1: spans arrived after the last analysis. The analysis columns are NULL until then.
    CREATE TABLE traces (
      trace_id TEXT PRIMARY KEY, first_start_ns INTEGER NOT NULL, last_end_ns INTEGER NOT NULL,
      last_seen_ns INTEGER NOT NULL, dirty INTEGER NOT NULL,
      service TEXT, operation TEXT, start_ns INTEGER, duration_ns INTEGER, spans INTEGER, errors INTEGER, components TEXT,
      problems TEXT
    ) WITHOUT ROWID;
    CREATE INDEX traces_start ON traces (start_ns);
    CREATE INDEX traces_seen ON traces (last_seen_ns);
    CREATE INDEX traces_dirty ON traces (dirty) WHERE dirty = 1;
    PRAGMA user_version = ${SCHEMA_VERSION};
  `);
}

/** Attributes as JSON; 64-bit integers beyond 2^53 become decimal strings. Undefined when empty. */
export function encodeAttributes(a: Attributes): string | undefined {
  for (const _ in a) {
    try {
      // Without a replacer JSON.stringify stays on its fast path; it throws on a bigint.
      return JSON.stringify(a);
    } catch {
      return JSON.stringify(a, (_k, v: unknown) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v));
    }
  }
  return undefined;
}

export function decodeAttributes(text: string): Attributes {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Attributes) : {};
  } catch {
    return {};
  }
}

export function decodeLinks(text: string): SpanLinkRef[] {
  try {
    const v: unknown = JSON.parse(text);
    if (!Array.isArray(v)) return [];
    const out: SpanLinkRef[] = [];
    for (const l of v) if (Array.isArray(l) && typeof l[0] === 'string' && typeof l[1] === 'string') out.push({ traceId: l[0], spanId: l[1] });
    return out;
  } catch {
    return [];
  }
}

function toStoredTrace(r: TraceRow): StoredTrace {
  const components = new Map<string, ComponentTime>();
  try {
    const list: unknown = JSON.parse(r.components);
    if (Array.isArray(list)) {
      for (const c of list) {
        if (!Array.isArray(c)) continue;
        const [service, operation, ns, errors] = c as unknown[];
        if (typeof service !== 'string' || typeof operation !== 'string' || typeof ns !== 'number' || typeof errors !== 'number') continue;
        components.set(componentKey(service, operation), { service, operation, ns, errors });
      }
    }
  } catch {
    // An unreadable component list leaves the trace in the latency figures only.
  }
  return {
    summary: { traceId: r.trace_id, service: r.service, operation: r.operation, startNs: BigInt(r.start_ns), durationNs: Number(r.duration_ns), components },
    spans: Number(r.spans),
    errors: Number(r.errors),
  };
}
