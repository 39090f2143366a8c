import Database from 'better-sqlite3';
import fs from 'node:fs';
const db = new Database(process.argv[2]);
db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL');
db.exec(`CREATE TABLE IF NOT EXISTS commits(seq INTEGER PRIMARY KEY); CREATE TABLE IF NOT EXISTS spans(trace_id TEXT, seq INTEGER, attrs TEXT); CREATE INDEX IF NOT EXISTS spans_t ON spans(trace_id);`);
const c = db.prepare('INSERT INTO commits VALUES (?)'), s = db.prepare('INSERT INTO spans VALUES (?,?,?)');
const attrs = 'x'.repeat(150);
const tx = db.transaction((n) => { c.run(n); for (let i = 0; i < 500; i++) s.run(Math.random().toString(16).slice(2).padEnd(32, '0'), n, attrs); });
for (let n = 1; ; n++) { tx(n); fs.writeSync(1, `${n}\n`); }
