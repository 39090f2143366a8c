// usage: node duck.mjs appender|insert idx|noidx
import { DuckDBInstance, BIGINT, VARCHAR, INTEGER } from '@duckdb/node-api';
import fs from 'node:fs';
import os from 'node:os';
import { generate, aggregate, pointIds, ranges, BATCH } from './gen.mjs';
const mode = process.argv[2] || 'appender';
const idx = (process.argv[3] || 'idx') === 'idx';
const path = `${os.tmpdir()}/cpath-store-choice-duck-${mode}-${idx ? 'idx' : 'noidx'}.duckdb`;
for (const f of [path, path + '.wal']) fs.rmSync(f, { force: true });
const { spans, traceIds } = generate();
const inst = await DuckDBInstance.create(path);
const con = await inst.connect();
await con.run(`CREATE TABLE spans(trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, parent_id VARCHAR, name VARCHAR NOT NULL, resource_id INTEGER NOT NULL, kind INTEGER NOT NULL, start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, status INTEGER NOT NULL, attrs VARCHAR NOT NULL)`);
if (idx) await con.run('CREATE INDEX spans_trace ON spans(trace_id)');
await con.run('CREATE TABLE traces(trace_id VARCHAR PRIMARY KEY, start_ns BIGINT NOT NULL, last_seen_ns BIGINT NOT NULL, span_count INTEGER NOT NULL)');
if (idx) await con.run('CREATE INDEX traces_start ON traces(start_ns)');
const upCache = new Map();
async function upStmt(n) {
  let st = upCache.get(n);
  if (!st) {
    const vals = Array.from({ length: n }, (_, i) => `($${i * 4 + 1}::VARCHAR,$${i * 4 + 2}::BIGINT,$${i * 4 + 3}::BIGINT,$${i * 4 + 4}::INTEGER)`).join(',');
    st = await con.prepare(`INSERT INTO traces VALUES ${vals} ON CONFLICT(trace_id) DO UPDATE SET start_ns=least(traces.start_ns,excluded.start_ns), last_seen_ns=greatest(traces.last_seen_ns,excluded.last_seen_ns), span_count=traces.span_count+excluded.span_count`);
    upCache.set(n, st);
  }
  return st;
}
let app, insStmt, stageApp;
if (process.env.STAGE) { await con.run('CREATE TEMP TABLE traces_stage(trace_id VARCHAR, start_ns BIGINT, last_seen_ns BIGINT, span_count INTEGER)'); stageApp = await con.createAppender('traces_stage', 'main', 'temp'); }
if (mode === 'appender') app = await con.createAppender('spans');
else {
  const vals = Array.from({ length: BATCH }, (_, i) => '(' + Array.from({ length: 10 }, (_, j) => `$${i * 10 + j + 1}`).join(',') + ')').join(',');
  insStmt = await con.prepare(`INSERT INTO spans VALUES ${vals}`);
}
async function writeBatch(batch) {
  await con.run('BEGIN');
  try {
    if (app) {
      for (const s of batch) {
        app.appendVarchar(s.trace_id); app.appendVarchar(s.span_id); s.parent_id === null ? app.appendNull() : app.appendVarchar(s.parent_id);
        app.appendVarchar(s.name); app.appendInteger(s.resource_id); app.appendInteger(s.kind); app.appendBigInt(s.start_ns); app.appendBigInt(s.end_ns);
        app.appendInteger(s.status); app.appendVarchar(s.attrs); app.endRow();
      }
      app.flushSync();
    } else {
      let p = 1;
      for (const s of batch) {
        insStmt.bindVarchar(p++, s.trace_id); insStmt.bindVarchar(p++, s.span_id); s.parent_id === null ? insStmt.bindNull(p++) : insStmt.bindVarchar(p++, s.parent_id);
        insStmt.bindVarchar(p++, s.name); insStmt.bindInteger(p++, s.resource_id); insStmt.bindInteger(p++, s.kind); insStmt.bindBigInt(p++, s.start_ns); insStmt.bindBigInt(p++, s.end_ns);
        insStmt.bindInteger(p++, s.status); insStmt.bindVarchar(p++, s.attrs);
      }
      await insStmt.run();
    }
    if (process.env.NOTRACES) { await con.run("COMMIT"); return; }
    const agg = aggregate(batch);
    if (stageApp) {
      for (const t of agg) { stageApp.appendVarchar(t.trace_id); stageApp.appendBigInt(t.start_ns); stageApp.appendBigInt(t.last_seen_ns); stageApp.appendInteger(t.span_count); stageApp.endRow(); }
      stageApp.flushSync();
      await con.run(`INSERT INTO traces SELECT * FROM traces_stage ON CONFLICT(trace_id) DO UPDATE SET start_ns=least(traces.start_ns,excluded.start_ns), last_seen_ns=greatest(traces.last_seen_ns,excluded.last_seen_ns), span_count=traces.span_count+excluded.span_count`);
      await con.run('DELETE FROM traces_stage');
      await con.run('COMMIT'); return;
    }
    const st = await upStmt(agg.length);
    let p = 1;
    for (const t of agg) { st.bindVarchar(p++, t.trace_id); st.bindBigInt(p++, t.start_ns); st.bindBigInt(p++, t.last_seen_ns); st.bindInteger(p++, t.span_count); }
    await st.run();
    await con.run('COMMIT');
  } catch (e) { await con.run('ROLLBACK'); throw e; }
}
let t0 = performance.now();
for (let i = 0; i < spans.length; i += BATCH) await writeBatch(spans.slice(i, i + BATCH));
const appendS = (performance.now() - t0) / 1000;
const walSize = fs.existsSync(path + '.wal') ? fs.statSync(path + '.wal').size : 0;

const q = await con.prepare('SELECT * FROM spans WHERE trace_id = $1');
const ids = pointIds(traceIds, 10_000);
t0 = performance.now(); let rows = 0;
for (const id of ids) { q.bindVarchar(1, id); rows += (await q.runAndReadAll()).getRowObjects().length; }
const pointS = (performance.now() - t0) / 1000;
if (rows !== 100_000) throw new Error('point rows ' + rows);

const rq = await con.prepare('SELECT * FROM traces WHERE start_ns >= $1 AND start_ns < $2 ORDER BY start_ns DESC LIMIT 100');
const rs = ranges(1000);
t0 = performance.now(); let rrows = 0;
for (const [lo, hi] of rs) { rq.bindBigInt(1, lo); rq.bindBigInt(2, hi); rrows += (await rq.runAndReadAll()).getRowObjects().length; }
const rangeS = (performance.now() - t0) / 1000;
if (!process.env.NOTRACES && rrows !== 100_000) throw new Error('range rows ' + rrows);
const cnt = (await con.runAndReadAll('SELECT count(*) c, (SELECT sum(span_count) FROM traces) s FROM spans')).getRowObjectsJS()[0];
const plan = (await con.runAndReadAll(`EXPLAIN SELECT * FROM spans WHERE trace_id = 'abc'`)).getRowObjectsJS().map(r => r.explain_value).join('').match(/INDEX_SCAN|SEQ_SCAN|TABLE_SCAN/g);
if (app) app.closeSync(); if (stageApp) stageApp.closeSync();
con.closeSync(); inst.closeSync();
const size = fs.statSync(path).size + (fs.existsSync(path + '.wal') ? fs.statSync(path + '.wal').size : 0);
console.log(JSON.stringify({ engine: 'duckdb', mode, idx, append_spans_per_s: Math.round(spans.length / appendS), append_s: +appendS.toFixed(2),
  point_qps: Math.round(10_000 / pointS), range_qps: Math.round(1000 / rangeS), file_MB_after_close: +(size / 1048576).toFixed(1), wal_MB_before_close: +(walSize / 1048576).toFixed(1), count: { c: String(cnt.c), s: String(cnt.s) }, pointPlan: plan }));
