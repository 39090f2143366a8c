import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
const path = os.tmpdir() + '/cpath-store-choice-crash.db';
for (let run = 1; run <= 5; run++) {
  for (const f of [path, path + '-wal', path + '-shm']) fs.rmSync(f, { force: true });
  const child = spawn(process.execPath, [new URL('./crash-child.mjs', import.meta.url).pathname, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let acked = 0, buf = '';
  child.stdout.on('data', (d) => { buf += d; const lines = buf.split('\n'); buf = lines.pop(); for (const l of lines) if (l) acked = Math.max(acked, +l); });
  const delay = 300 + Math.floor(Math.random() * 2700);
  await new Promise((r) => setTimeout(r, delay));
  const ackedAtKill = acked;            // everything acknowledged before the signal is sent
  child.kill('SIGKILL');
  const [code, sig] = await new Promise((r) => child.on('exit', (c, s) => r([c, s])));
  const walBytes = fs.existsSync(path + '-wal') ? fs.statSync(path + '-wal').size : 0;
  const db = new Database(path);
  const { n, mx } = db.prepare('SELECT count(*) n, max(seq) mx FROM commits').get();
  const spans = db.prepare('SELECT count(*) n FROM spans').get().n;
  const ic = db.pragma('integrity_check', { simple: true });
  db.close();
  const ok = n >= ackedAtKill && n === mx && spans === n * 500 && ic === 'ok';
  console.log(`run ${run}: kill after ${delay}ms (${sig}), acked=${ackedAtKill}, recovered commits=${n}, spans=${spans}, wal=${walBytes}B, integrity=${ic} -> ${ok ? 'PASS' : 'FAIL'}`);
}
