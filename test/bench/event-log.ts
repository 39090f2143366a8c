// Event-log parse and thread-model build rate:
//   tsc -p tsconfig.json && node dist/test/bench/event-log.js [--events N] [--json] [--runs R]
//
// Generates bench-data/events-<N>[.json].log if missing (samples/generate-events.ts), then, R
// times each (best kept), in this process:
//   baseline  stream the file in 1 MiB chunks, decode each to a string and count lines with
//             text.split('\n') (carrying the partial last line): the floor for any line parser
//   parse     parseEventLog over the same stream (collectors/bpftrace/parse.ts), incl. the sort
//   build     buildThreadModel on the parsed log (analysis/threads/timelines.ts)
// and prints events/s for each.
import { createReadStream, existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseEventLog } from '../../collectors/bpftrace/parse.js';
import { buildThreadModel } from '../../analysis/threads/timelines.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { generateEvents } from '../../samples/generate-events.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const events = Number(arg('--events') ?? 2_000_000);
const runs = Number(arg('--runs') ?? 3);
const json = process.argv.includes('--json');
const file = join(ROOT, 'bench-data', `events-${events}${json ? '.json' : ''}.log`);
if (!existsSync(file)) {
  const s = await generateEvents({ events, out: file, json });
  process.stdout.write(`generated ${file}: ${s.events} events, ${s.bytes} bytes\n`);
}

const stream = (): AsyncIterable<Buffer> => createReadStream(file, { highWaterMark: 1 << 20 });

async function baseline(): Promise<number> {
  let lines = 0;
  let rest = '';
  for await (const chunk of stream()) {
    const parts = (rest + (chunk as Buffer).toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    lines += parts.length;
  }
  return lines + (rest !== '' ? 1 : 0);
}

let best = { base: Infinity, parse: Infinity, build: Infinity };
let count = 0;
let lines = 0;
let threads = 0;
for (let r = 0; r < runs; r++) {
  let t0 = performance.now();
  lines = await baseline();
  const base = performance.now() - t0;
  const diag = new Diagnostics();
  t0 = performance.now();
  const log = await parseEventLog(stream(), file, diag);
  const parse = performance.now() - t0;
  t0 = performance.now();
  const model = buildThreadModel(log, diag);
  const build = performance.now() - t0;
  count = log.count;
  threads = model.threads.size;
  best = { base: Math.min(best.base, base), parse: Math.min(best.parse, parse), build: Math.min(best.build, build) };
  if (r === 0) process.stdout.write(`diagnostics: ${diag.entries().map((e) => `${e.code}=${e.count}`).join(', ')}\n`);
}
const rate = (ms: number): string => `${((count / ms) * 1000 / 1e6).toFixed(2)} M events/s`;
process.stdout.write(
  [
    `${file}: ${count} events, ${lines} lines, ${threads} threads; best of ${runs}`,
    `baseline (stream + split('\\n')): ${best.base.toFixed(0)} ms  ${rate(best.base)}`,
    `parseEventLog:                   ${best.parse.toFixed(0)} ms  ${rate(best.parse)}  (${(best.parse / best.base).toFixed(2)}x baseline)`,
    `buildThreadModel:                ${best.build.toFixed(0)} ms  ${rate(best.build)}`,
    '',
  ].join('\n'),
);
