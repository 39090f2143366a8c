// `npm run fuzz`: every importer (through the dispatcher), the OTLP request decoder and, for a
// smaller sample, a real `cpath serve`, each in its own worker thread, one after the other (one
// core). A crash is an exception other than a typed InputError (or, from a server, a 5xx); a
// hang is an input that took over 1 s (or a worker silent for a minute, which is stopped).
//   node dist/test/fuzz/run.js [--runs 100000] [--server-runs 2000] [--seed 15] [--only a,b] [--out fuzz-out]
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ROOT, buildTargets } from './targets.js';
import type { Job, Result } from './worker.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const runs = Number(arg('runs', '100000'));
const serverRuns = Number(arg('server-runs', '2000'));
const seed = Number(arg('seed', '15'));
const outDir = join(ROOT, arg('out', 'fuzz-out'));
const only = arg('only', '').split(',').filter((s) => s !== '');
const SILENT_MS = 60_000;

const names = [...buildTargets().map((t) => t.name), 'serve-protobuf', 'serve-json'].filter((n) => only.length === 0 || only.includes(n));
rmSync(outDir, { recursive: true, force: true });

function runOne(target: string): Promise<Result | { target: string; hung: number; seconds: number }> {
  const progress = new SharedArrayBuffer(4);
  const counter = new Int32Array(progress);
  const job: Job = { target, runs: target.startsWith('serve-') ? serverRuns : runs, seed, outDir, progress };
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
    let last = -1;
    let lastChange = Date.now();
    const watch = setInterval(() => {
      const n = Atomics.load(counter, 0);
      if (n !== last) {
        last = n;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > SILENT_MS) {
        clearInterval(watch);
        void w.terminate();
        resolve({ target, hung: n, seconds: (performance.now() - t0) / 1000 });
      }
    }, 1000);
    w.on('message', (r: Result) => {
      clearInterval(watch);
      resolve(r);
    });
    w.on('error', (e) => {
      clearInterval(watch);
      reject(e);
    });
  });
}

let bad = 0;
const rows: string[] = ['| target | inputs | refused (typed) | crashes | > 1 s | slowest | time |', '|---|---:|---:|---:|---:|---:|---:|'];
const tAll = performance.now();
for (const name of names) {
  const r = await runOne(name);
  if ('hung' in r) {
    bad++;
    rows.push(`| ${name} | ${r.hung} | | | HUNG at input #${r.hung} (seed ${seed}) | | ${r.seconds.toFixed(0)} s |`);
    process.stderr.write(`${name}: HUNG at input #${r.hung}\n`);
    continue;
  }
  const crashes = r.failures.reduce((a, f) => a + f.count, 0);
  if (crashes > 0 || r.slow.length > 0) bad++;
  rows.push(`| ${name} | ${r.runs} | ${r.typed} | ${crashes} | ${r.slow.length} | ${r.maxMs.toFixed(0)} ms | ${r.seconds.toFixed(0)} s |`);
  process.stderr.write(`${name}: ${r.runs} inputs, ${crashes} crashes in ${r.failures.length} kinds, ${r.slow.length} over 1 s, slowest ${r.maxMs.toFixed(0)} ms, ${r.seconds.toFixed(1)} s\n`);
  for (const f of r.failures) process.stderr.write(`  ${f.count} x ${f.message}\n    example: ${f.example}\n`);
  for (const s of r.slow) process.stderr.write(`  slow: ${s}\n`);
}
process.stdout.write(`${rows.join('\n')}\n\nseed ${seed}, ${((performance.now() - tAll) / 1000).toFixed(0)} s in all${bad > 0 ? `; failures written to ${outDir}` : ''}\n`);
process.exitCode = bad > 0 ? 1 : 0;
