// usage: node sqlite.mjs NORMAL|FULL [cacheKiB]
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import { generate, aggregate, pointIds, ranges, BATCH } from './gen.mjs';
const sync = process.argv[2] || 'NORMAL';
const cache = process.argv[3];
const path = `${os.tmpdir()}/cpath-store-choice-sqlite-${sync}.db`;
for (const f of [path, path + '-wal', path + '-shm']) fs.rmSync(f, { force: true });
const { spans, traceIds } = generate();
const db = new Database(path);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${sync}`);
if (cache) db.pragma(`cache_size = -${cache}`);
db.exec(`CREATE TABLE spans(trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT, name TEXT NOT NULL, resource_id INTEGER NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, status INTEGER NOT NULL, attrs TEXT NOT NULL);
CREATE INDEX spans_trace ON spans(trace_id);
CREATE TABLE traces(trace_id TEXT PRIMARY KEY, start_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL, span_count INTEGER NOT NULL);
CREATE INDEX traces_start ON traces(start_ns);`);
const ins = db.prepare('INSERT INTO spans VALUES (@trace_id,@span_id,@parent_id,@name,@resource_id,@kind,@start_ns,@end_ns,@status,@attrs)');
const up = db.prepare(`INSERT INTO traces VALUES (@trace_id,@start_ns,@last_seen_ns,@span_count) ON CONFLICT(trace_id) DO UPDATE SET
  start_ns=min(start_ns,excluded.start_ns), last_seen_ns=max(last_seen_ns,excluded.last_seen_ns), span_count=span_count+excluded.span_count`);
const writeBatch = db.transaction((batch) => { for (const s of batch) ins.run(s); for (const t of aggregate(batch)) up.run(t); });
let t0 = performance.now();
for (let i = 0; i < spans.length; i += BATCH) writeBatch(spans.slice(i, i + BATCH));
const appendS = (performance.now() - t0) / 1000;
const walSize = fs.existsSync(path + '-wal') ? fs.statSync(path + '-wal').size : 0;

const q = db.prepare('SELECT * FROM spans WHERE trace_id = ?').safeIntegers(true);
const ids = pointIds(traceIds, 10_000);
t0 = performance.now(); let rows = 0;
for (const id of ids) rows += q.all(id).length;
const pointS = (performance.now() - t0) / 1000;
if (rows !== 100_000) throw new Error('point rows ' + rows);

const rq = db.prepare('SELECT * FROM traces WHERE start_ns >= ? AND start_ns < ? ORDER BY start_ns DESC LIMIT 100').safeIntegers(true);
const rs = ranges(1000);
t0 = performance.now(); let rrows = 0;
for (const [lo, hi] of rs) rrows += rq.all(lo, hi).length;
const rangeS = (performance.now() - t0) / 1000;
if (rrows !== 100_000) throw new Error('range rows ' + rrows);
const plan = db.prepare('EXPLAIN QUERY PLAN SELECT * FROM traces WHERE start_ns >= ? AND start_ns < ? ORDER BY start_ns DESC LIMIT 100').all(1n, 2n).map(r => r.detail).join('; ');
const cnt = db.prepare('SELECT count(*) c, (SELECT sum(span_count) FROM traces) s FROM spans').get();
db.close();
const size = fs.statSync(path).size;
console.log(JSON.stringify({ engine: 'sqlite', sync, cache: cache || 'default', append_spans_per_s: Math.round(spans.length / appendS), append_s: +appendS.toFixed(2),
  point_qps: Math.round(10_000 / pointS), range_qps: Math.round(1000 / rangeS), file_MB_after_close: +(size / 1048576).toFixed(1), wal_MB_before_close: +(walSize / 1048576).toFixed(1), count: cnt, plan }));
