// The benchmark: `npm run bench` (tsc -p tsconfig.json && node dist/test/bench/run.js).
//
// 1. Generates the inputs in bench-data/ if missing (samples/generate-big.ts): a 1M-span file of
//    about 10k traces, and one trace of 1M spans (a 100k-deep chain plus a ~900k-wide fan-out).
// 2. On the 1M-span file, alternating, as separate processes: the baseline (stream the file and
//    JSON.parse each line, test/bench/baseline.ts) and `cpath analyze FILE --format json -o
//    /dev/null`, 3 times each. Wall time of the whole process; peak RSS by polling
//    /proc/PID/status VmHWM every 20 ms and keeping the last value read.
// 3. `cpath analyze` on the single 1M-span trace: wall time, exit status, peak RSS.
// 4. A single JSON document longer than V8's longest string (buffer.constants.MAX_STRING_LENGTH,
//    536,870,888 characters on 64-bit): bench-data/huge-doc.otlp.json, ONE `{"resourceSpans":[...]}`
//    on one line (1.2M spans of ~12k traces, ~617 MB). `cpath analyze FILE --format json -o
//    /dev/null` once (wall, exit status, peak RSS), then once with `--format text -o
//    bench-data/huge-doc.report.txt` for the span count cpath reports (its first line), which
//    must equal the generated count.
// 5. In one process (a child of this one, so that this process stays small): plain JSON.parse of
//    the 1M-span file, then readInput + TraceSetBuilder.build, then traceGraph() for every trace.
// 6. Prints a markdown table and writes BENCHMARKS.md at the repo root.
//
// Options (for trying it out; `npm run bench` uses none): --runs N, --spans N (a smaller
// many-trace file, bench-data/big-N.otlp.jsonl), --single-spans N, --huge-spans N (a smaller
// document, bench-data/huge-doc-N.otlp.json), --no-write (leave BENCHMARKS.md alone),
// --skip-single, --skip-huge, --skip-graph.
import { constants as bufferConstants } from 'node:buffer';
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, existsSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readInput } from '../../collectors/index.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { traceGraph } from '../../src/model/graph.js';
import { ResourceInterner } from '../../src/model/span.js';
import { TraceSetBuilder } from '../../src/model/trace-builder.js';
import { parseLines } from './baseline.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/test/bench
const ROOT = resolve(HERE, '../../..');
const DIST = join(ROOT, 'dist');
const DATA = join(ROOT, 'bench-data');
const CPATH = join(ROOT, 'bin/cpath.js');
const GENERATOR = join(DIST, 'samples/generate-big.js');
const BASELINE = join(DIST, 'test/bench/baseline.js');
const POLL_MS = 20;
/** V8's longest string, in UTF-16 code units (536,870,888 on 64-bit Node 20). */
const MAX_STRING_LENGTH = bufferConstants.MAX_STRING_LENGTH;
const PROCESS_TIMEOUT_MS = 20 * 60_000;

// ---------------------------------------------------------------------------------------------
// Measuring a process

interface ProcRun {
  readonly label: string;
  readonly wallMs: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Last VmHWM read from /proc/PID/status, in bytes; undefined if never read. */
  readonly peakRssBytes: number | undefined;
  readonly polls: number;
  readonly timedOut: boolean;
  readonly stdoutTail: string;
  readonly stderrTail: string;
}

const TAIL = 8_192;

function readHwm(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function runProcess(label: string, args: readonly string[]): Promise<ProcRun> {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout = (stdout + d).slice(-TAIL);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-TAIL);
    });
    let peak: number | undefined;
    let polls = 0;
    const poll = (): void => {
      if (child.pid === undefined) return;
      const v = readHwm(child.pid);
      if (v !== undefined) {
        peak = v;
        polls++;
      }
    };
    poll();
    const timer = setInterval(poll, POLL_MS);
    let timedOut = false;
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PROCESS_TIMEOUT_MS);
    let wallMs = 0;
    let exitCode: number | null = null;
    let signal: NodeJS.Signals | null = null;
    child.on('error', (e) => {
      clearInterval(timer);
      clearTimeout(killer);
      reject(e);
    });
    child.on('exit', (code, sig) => {
      wallMs = performance.now() - t0;
      exitCode = code;
      signal = sig;
      clearInterval(timer);
      clearTimeout(killer);
    });
    child.on('close', () => {
      resolveRun({ label, wallMs, exitCode, signal, peakRssBytes: peak, polls, timedOut, stdoutTail: stdout, stderrTail: stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Inputs

interface Meta {
  readonly mode?: string;
  readonly spans: number;
  readonly traces: number;
  readonly lines: number;
  /** Written by the generator since --single-document was added. */
  readonly resourceSpans?: number;
  readonly newlines?: number;
  readonly bytes: number;
}

type InputMode = 'many-traces' | 'single-trace' | 'single-document';

async function ensureInput(file: string, spans: number, mode: InputMode): Promise<Meta> {
  const metaFile = `${file}.meta.json`;
  const stale = existsSync(metaFile) && mode === 'single-document' && (JSON.parse(readFileSync(metaFile, 'utf8')) as Meta).mode !== mode;
  if (!existsSync(file) || !existsSync(metaFile) || stale) {
    const what = mode === 'single-trace' ? ', one trace' : mode === 'single-document' ? ', one JSON document on one line' : '';
    process.stderr.write(`generating ${relative(ROOT, file)} (${spans} spans${what}) ...\n`);
    const flag = mode === 'single-trace' ? ['--single-trace'] : mode === 'single-document' ? ['--single-document'] : [];
    const args = [GENERATOR, '--spans', String(spans), '--out', file, ...flag];
    const r = await runProcess('generate', args);
    if (r.exitCode !== 0) throw new Error(`the generator failed (exit ${r.exitCode ?? r.signal}): ${r.stderrTail}`);
    process.stderr.write(`  done in ${(r.wallMs / 1000).toFixed(1)} s\n`);
  }
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Meta;
  const size = statSync(file).size;
  if (size !== meta.bytes) throw new Error(`${file} is ${size} bytes but its .meta.json says ${meta.bytes}; delete both to regenerate`);
  return meta;
}

/**
 * The compiled code every measured process loads (dist/src, dist/collectors, dist/analysis): the
 * newest mtime and the file count. If it differs at the end, something rebuilt dist/ during the
 * run and the rows may mix two builds.
 */
function buildStamp(): { newestMs: number; newestFile: string; files: number } {
  let newestMs = 0;
  let newestFile = '';
  let files = 0;
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) {
        files++;
        const m = statSync(p).mtimeMs;
        if (m > newestMs) {
          newestMs = m;
          newestFile = p;
        }
      }
    }
  };
  for (const d of ['src', 'collectors', 'analysis']) walk(join(DIST, d));
  return { newestMs, newestFile, files };
}

/** The first line of a file (at most 64 KiB of it). */
function firstLine(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('utf8', 0, n).split('\n')[0] ?? '';
  } finally {
    closeSync(fd);
  }
}

/** Spans and traces from the text report's first line: "cpath: 1 input (otlp-json), N spans, T traces, ...". */
function reportedCounts(reportFile: string): { spans: number; traces: number; line: string } | undefined {
  if (!existsSync(reportFile)) return undefined;
  const line = firstLine(reportFile);
  const m = /^cpath: .*?, ([\d,]+) spans?, ([\d,]+) traces?\b/.exec(line);
  if (!m) return undefined;
  return { spans: Number((m[1] as string).replace(/,/g, '')), traces: Number((m[2] as string).replace(/,/g, '')), line };
}

/** Reads the file once so that every timed run starts with it in the page cache. */
async function warm(file: string): Promise<void> {
  for await (const _ of createReadStream(file, { highWaterMark: 4 << 20 })) {
    // discard
  }
}

// ---------------------------------------------------------------------------------------------
// The in-process part (run as `run.js --graph-cost FILE` in a child process)

interface GraphCost {
  readonly parseMs: number;
  readonly lines: number;
  readonly readInputMs: number;
  readonly buildMs: number;
  readonly traceSetMs: number;
  readonly spans: number;
  readonly traces: number;
  readonly graphMs: number;
  readonly graphNodes: number;
  readonly graphEdges: number;
  readonly heapAfterTraceSetBytes: number;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}

async function graphCost(file: string): Promise<GraphCost> {
  gc();
  let t = performance.now();
  const parsed = await parseLines(file);
  const parseMs = performance.now() - t;

  gc();
  const diag = new Diagnostics();
  const builder = new TraceSetBuilder(diag);
  const sink = { diag, resources: new ResourceInterner(), emit: (s: Parameters<TraceSetBuilder['add']>[0]) => builder.add(s) };
  t = performance.now();
  await readInput(file, sink);
  const readInputMs = performance.now() - t;
  const t1 = performance.now();
  const set = builder.build();
  const buildMs = performance.now() - t1;
  const traceSetMs = performance.now() - t;
  gc();
  const heapAfterTraceSetBytes = process.memoryUsage().heapUsed;

  t = performance.now();
  let graphNodes = 0;
  let graphEdges = 0;
  for (const tr of set.traces) {
    const g = traceGraph(tr);
    graphNodes += g.order;
    graphEdges += g.size;
  }
  const graphMs = performance.now() - t;
  return { parseMs, lines: parsed.lines, readInputMs, buildMs, traceSetMs, spans: set.spanCount, traces: set.traces.length, graphMs, graphNodes, graphEdges, heapAfterTraceSetBytes };
}

// ---------------------------------------------------------------------------------------------
// Reporting helpers

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const yesNo = (ok: boolean): string => (ok ? 'yes' : '**no**');

function describeFailure(r: ProcRun): string {
  const how = r.timedOut ? `killed after ${PROCESS_TIMEOUT_MS / 1000} s` : r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
  const err = r.stderrTail.trim();
  return `${how}${err ? `; stderr (last ${TAIL} chars): ${err}` : ''}`;
}

function lastLines(s: string, n: number): string {
  return s.trim().split('\n').slice(-n).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

interface Args {
  runs: number;
  spans: number;
  singleSpans: number;
  hugeSpans: number;
  write: boolean;
  single: boolean;
  huge: boolean;
  graph: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { runs: 3, spans: 1_000_000, singleSpans: 1_000_000, hugeSpans: 1_200_000, write: true, single: true, huge: true, graph: true };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${x} needs a positive integer`);
      return v;
    };
    if (x === '--runs') a.runs = num();
    else if (x === '--spans') a.spans = num();
    else if (x === '--single-spans') a.singleSpans = num();
    else if (x === '--huge-spans') a.hugeSpans = num();
    else if (x === '--no-write') a.write = false;
    else if (x === '--skip-single') a.single = false;
    else if (x === '--skip-huge') a.huge = false;
    else if (x === '--skip-graph') a.graph = false;
    else throw new Error(`unknown argument ${x}`);
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const bigFile = join(DATA, args.spans === 1_000_000 ? 'big.otlp.jsonl' : `big-${args.spans}.otlp.jsonl`);
  const singleFile = join(DATA, args.singleSpans === 1_000_000 ? 'single.otlp.jsonl' : `single-${args.singleSpans}.otlp.jsonl`);
  const hugeFile = join(DATA, args.hugeSpans === 1_200_000 ? 'huge-doc.otlp.json' : `huge-doc-${args.hugeSpans}.otlp.json`);
  const hugeReport = hugeFile.replace(/\.otlp\.json$/, '.report.txt');
  const startedAt = new Date();
  const loadBefore = loadavg();
  const stampBefore = buildStamp();

  const big = await ensureInput(bigFile, args.spans, 'many-traces');
  const single = args.single ? await ensureInput(singleFile, args.singleSpans, 'single-trace') : undefined;
  const huge = args.huge ? await ensureInput(hugeFile, args.hugeSpans, 'single-document') : undefined;

  process.stderr.write(`warming the page cache (${relative(ROOT, bigFile)}) ...\n`);
  await warm(bigFile);

  // Baseline and cpath alternating.
  const baseRuns: ProcRun[] = [];
  const cpathRuns: ProcRun[] = [];
  for (let i = 0; i < args.runs; i++) {
    const b = await runProcess(`baseline #${i + 1}`, [BASELINE, bigFile]);
    baseRuns.push(b);
    process.stderr.write(`  ${b.label}: ${sec(b.wallMs)}, peak RSS ${b.peakRssBytes !== undefined ? mb(b.peakRssBytes) : '?'}, exit ${b.exitCode ?? b.signal}\n`);
    const c = await runProcess(`cpath #${i + 1}`, [CPATH, 'analyze', bigFile, '--format', 'json', '-o', '/dev/null']);
    cpathRuns.push(c);
    process.stderr.write(`  ${c.label}: ${sec(c.wallMs)}, peak RSS ${c.peakRssBytes !== undefined ? mb(c.peakRssBytes) : '?'}, exit ${c.exitCode ?? c.signal}\n`);
    if (c.exitCode !== 0) process.stderr.write(`    ${describeFailure(c)}\n`);
  }

  let singleRun: ProcRun | undefined;
  if (single) {
    process.stderr.write(`warming the page cache (${relative(ROOT, singleFile)}) ...\n`);
    await warm(singleFile);
    singleRun = await runProcess('cpath single trace', [CPATH, 'analyze', singleFile, '--format', 'json', '-o', '/dev/null']);
    process.stderr.write(`  ${singleRun.label}: ${sec(singleRun.wallMs)}, peak RSS ${singleRun.peakRssBytes !== undefined ? mb(singleRun.peakRssBytes) : '?'}, exit ${singleRun.exitCode ?? singleRun.signal}\n`);
    if (singleRun.exitCode !== 0) process.stderr.write(`    ${describeFailure(singleRun)}\n`);
  }

  // One JSON document longer than V8's longest string.
  let hugeRun: ProcRun | undefined;
  let hugeCountRun: ProcRun | undefined;
  let hugeCounts: ReturnType<typeof reportedCounts>;
  if (huge) {
    process.stderr.write(`warming the page cache (${relative(ROOT, hugeFile)}) ...\n`);
    await warm(hugeFile);
    hugeRun = await runProcess('cpath huge document', [CPATH, 'analyze', hugeFile, '--format', 'json', '-o', '/dev/null']);
    process.stderr.write(`  ${hugeRun.label}: ${sec(hugeRun.wallMs)}, peak RSS ${hugeRun.peakRssBytes !== undefined ? mb(hugeRun.peakRssBytes) : '?'}, exit ${hugeRun.exitCode ?? hugeRun.signal}\n`);
    if (hugeRun.exitCode !== 0) process.stderr.write(`    ${describeFailure(hugeRun)}\n`);
    rmSync(hugeReport, { force: true });
    hugeCountRun = await runProcess('cpath huge document (text report, for the span count)', [CPATH, 'analyze', hugeFile, '--format', 'text', '-o', hugeReport]);
    hugeCounts = hugeCountRun.exitCode === 0 ? reportedCounts(hugeReport) : undefined;
    process.stderr.write(
      `  ${hugeCountRun.label}: ${sec(hugeCountRun.wallMs)}, peak RSS ${hugeCountRun.peakRssBytes !== undefined ? mb(hugeCountRun.peakRssBytes) : '?'}, exit ${hugeCountRun.exitCode ?? hugeCountRun.signal}; ${hugeCounts ? `reported ${hugeCounts.spans} spans, ${hugeCounts.traces} traces` : 'no span count found'}\n`,
    );
    if (hugeCountRun.exitCode !== 0) process.stderr.write(`    ${describeFailure(hugeCountRun)}\n`);
  }

  let cost: GraphCost | undefined;
  let costRun: ProcRun | undefined;
  if (args.graph) {
    process.stderr.write('in-process: JSON.parse, TraceSet, traceGraph for every trace ...\n');
    costRun = await runProcess('graph cost', ['--expose-gc', fileURLToPath(import.meta.url), '--graph-cost', bigFile]);
    if (costRun.exitCode === 0) {
      cost = JSON.parse(lastLines(costRun.stdoutTail, 1)) as GraphCost;
      process.stderr.write(`  parse ${sec(cost.parseMs)}, TraceSet ${sec(cost.traceSetMs)}, graphs ${sec(cost.graphMs)}\n`);
    } else {
      process.stderr.write(`  failed: ${describeFailure(costRun)}\n`);
    }
  }
  const loadAfter = loadavg();
  const stampAfter = buildStamp();
  const rebuilt = stampAfter.newestMs !== stampBefore.newestMs || stampAfter.files !== stampBefore.files;
  if (rebuilt) process.stderr.write(`WARNING: dist/ changed during the run (${relative(ROOT, stampAfter.newestFile)} at ${new Date(stampAfter.newestMs).toISOString()}); rows may mix two builds\n`);

  // ---- Report
  const bSize = big.bytes;
  const baseOk = baseRuns.filter((r) => r.exitCode === 0);
  const cpathOk = cpathRuns.filter((r) => r.exitCode === 0);
  const baseMed = baseOk.length > 0 ? median(baseOk.map((r) => r.wallMs)) : undefined;
  const cpathMed = cpathOk.length > 0 ? median(cpathOk.map((r) => r.wallMs)) : undefined;
  const ratio = baseMed !== undefined && cpathMed !== undefined ? cpathMed / baseMed : undefined;
  const cpathPeaks = cpathRuns.map((r) => r.peakRssBytes).filter((x): x is number => x !== undefined);
  const basePeaks = baseRuns.map((r) => r.peakRssBytes).filter((x): x is number => x !== undefined);
  const cpathPeak = cpathPeaks.length > 0 ? Math.max(...cpathPeaks) : undefined;
  const basePeak = basePeaks.length > 0 ? Math.max(...basePeaks) : undefined;
  const runsList = (rs: readonly ProcRun[]): string => rs.map((r) => (r.exitCode === 0 ? sec(r.wallMs) : `failed (${r.timedOut ? 'timeout' : (r.signal ?? `exit ${r.exitCode}`)})`)).join(', ');

  const rows: string[][] = [];
  rows.push(['input', `\`${relative(ROOT, bigFile)}\`: ${mb(bSize)} (${int(bSize)} bytes), ${int(big.spans)} spans, ${int(big.traces)} traces, ${int(big.lines)} lines`, '', '']);
  rows.push([`baseline: stream + JSON.parse per line, median wall of ${args.runs}`, baseMed !== undefined ? `${sec(baseMed)} (runs: ${runsList(baseRuns)})` : `failed (runs: ${runsList(baseRuns)})`, '', '']);
  rows.push([`\`cpath analyze --format json -o /dev/null\`, median wall of ${args.runs}`, cpathMed !== undefined ? `${sec(cpathMed)} (runs: ${runsList(cpathRuns)})` : `failed (runs: ${runsList(cpathRuns)})`, '', cpathOk.length === cpathRuns.length ? '' : '**no**: crashed']);
  rows.push(['ratio cpath / baseline', ratio !== undefined ? `${ratio.toFixed(2)}x` : 'n/a', '<= 2x', ratio !== undefined ? yesNo(ratio <= 2) : '**no**']);
  rows.push(['cpath throughput', cpathMed !== undefined ? `${int(big.spans / (cpathMed / 1000))} spans/s (${(bSize / 1e6 / (cpathMed / 1000)).toFixed(1)} MB/s)` : 'n/a', '', '']);
  rows.push([
    'cpath peak RSS (VmHWM, max of the runs)',
    cpathPeak !== undefined ? `${mb(cpathPeak)} = ${(cpathPeak / bSize).toFixed(2)}x file size (runs: ${cpathRuns.map((r) => (r.peakRssBytes !== undefined ? mb(r.peakRssBytes) : '?')).join(', ')})` : 'n/a',
    '< 2x file size',
    cpathPeak !== undefined ? yesNo(cpathPeak < 2 * bSize) : '**no**',
  ]);
  rows.push(['baseline peak RSS (VmHWM, max of the runs)', basePeak !== undefined ? `${mb(basePeak)} = ${(basePeak / bSize).toFixed(2)}x file size` : 'n/a', '', '']);
  if (single && singleRun) {
    const ok = singleRun.exitCode === 0;
    rows.push(['single trace input', `\`${relative(ROOT, singleFile)}\`: ${mb(single.bytes)}, ${int(single.spans)} spans in 1 trace (chain ${int(Math.floor(single.spans / 10))} deep + fan-out of ${int(single.spans - 2 - Math.floor(single.spans / 10))}), ${int(single.lines)} lines`, '', '']);
    rows.push(['single trace: `cpath analyze --format json -o /dev/null` wall', ok ? sec(singleRun.wallMs) : `${sec(singleRun.wallMs)} until it failed`, '< 5 s', ok ? yesNo(singleRun.wallMs < 5000) : '**no**']);
    rows.push(['single trace: exit status', singleRun.timedOut ? 'killed (timeout)' : singleRun.signal ? `killed by ${singleRun.signal}` : String(singleRun.exitCode), '0', yesNo(ok)]);
    rows.push(['single trace: peak RSS (VmHWM)', singleRun.peakRssBytes !== undefined ? `${mb(singleRun.peakRssBytes)} = ${(singleRun.peakRssBytes / single.bytes).toFixed(2)}x file size` : 'n/a', '', '']);
  }
  const exitText = (r: ProcRun): string => (r.timedOut ? 'killed (timeout)' : r.signal ? `killed by ${r.signal}` : String(r.exitCode));
  const rssText = (r: ProcRun, bytes: number): string => (r.peakRssBytes !== undefined ? `${mb(r.peakRssBytes)} = ${(r.peakRssBytes / bytes).toFixed(2)}x file size` : 'n/a');
  let hugeMet: boolean | undefined;
  if (huge && hugeRun && hugeCountRun) {
    const hb = huge.bytes;
    const bigger = hb > MAX_STRING_LENGTH;
    const allSpans = hugeCounts !== undefined && hugeCounts.spans === huge.spans;
    hugeMet = hugeRun.exitCode === 0 && hugeCountRun.exitCode === 0 && allSpans;
    const rel = relative(ROOT, hugeReport);
    rows.push([
      'huge document input',
      `\`${relative(ROOT, hugeFile)}\`: ${mb(hb)} (${int(hb)} bytes) = ${(hb / MAX_STRING_LENGTH).toFixed(2)}x ${int(MAX_STRING_LENGTH)} (V8's longest string); ONE \`{"resourceSpans":[...]}\` of ${huge.resourceSpans !== undefined ? int(huge.resourceSpans) : '?'} ResourceSpans, ${int(huge.lines)} line, ${huge.newlines !== undefined ? int(huge.newlines) : '?'} newlines; ${int(huge.spans)} spans, ${int(huge.traces)} traces`,
      `> ${int(MAX_STRING_LENGTH)} bytes`,
      yesNo(bigger),
    ]);
    rows.push([
      'huge document: spans imported / expected',
      hugeCounts ? `${int(hugeCounts.spans)} / ${int(huge.spans)} (traces ${int(hugeCounts.traces)} / ${int(huge.traces)}; from \`${rel}\`: "${hugeCounts.line}")` : `n/a / ${int(huge.spans)} (no span count: the text-report run ${hugeCountRun.exitCode === 0 ? `exited 0 but \`${rel}\` has no "N spans" first line` : 'failed'})`,
      'all',
      yesNo(allSpans),
    ]);
    rows.push(['huge document: `cpath analyze --format json -o /dev/null` wall', hugeRun.exitCode === 0 ? sec(hugeRun.wallMs) : `${sec(hugeRun.wallMs)} until it failed`, '', '']);
    rows.push(['huge document: `cpath analyze --format json -o /dev/null` exit status', exitText(hugeRun), '0', yesNo(hugeRun.exitCode === 0)]);
    rows.push(['huge document: `cpath analyze --format json -o /dev/null` peak RSS (VmHWM)', rssText(hugeRun, hb), '', '']);
    rows.push([
      `huge document: \`cpath analyze --format text -o ${rel}\` (the span count) wall, exit status, peak RSS`,
      `${sec(hugeCountRun.wallMs)}, exit ${exitText(hugeCountRun)}, ${rssText(hugeCountRun, hb)}`,
      '0',
      yesNo(hugeCountRun.exitCode === 0),
    ]);
    rows.push(['huge document imports (exit 0 and all spans imported)', hugeMet ? 'yes' : 'no', 'yes', yesNo(hugeMet)]);
  }
  if (cost) {
    rows.push(['in-process: stream + JSON.parse per line (same file)', sec(cost.parseMs), '', '']);
    rows.push([
      'in-process: `readInput` + `TraceSetBuilder.build` (compact arrays)',
      `${sec(cost.traceSetMs)} = ${(cost.traceSetMs / cost.parseMs).toFixed(2)}x parse (readInput ${sec(cost.readInputMs)}, build ${sec(cost.buildMs)}); heap after: ${mb(cost.heapAfterTraceSetBytes)}`,
      '',
      '',
    ]);
    rows.push([
      'in-process: `traceGraph(t)` for every trace (graphology)',
      `${sec(cost.graphMs)} = ${(cost.graphMs / cost.parseMs).toFixed(2)}x parse, ${(cost.graphMs / cost.traceSetMs).toFixed(2)}x the TraceSet (${int(cost.traces)} graphs, ${int(cost.graphNodes)} nodes, ${int(cost.graphEdges)} edges)`,
      '',
      '',
    ]);
  } else if (costRun) {
    rows.push(['in-process: parse / TraceSet / traceGraph', `failed: ${describeFailure(costRun).replace(/\n/g, ' ')}`, '', '']);
  }
  const table = ['| measure | result | target | met |', '|---|---|---|---|', ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`)].join('\n');

  // ---- Reading
  const met: string[] = [];
  const missed: string[] = [];
  if (ratio !== undefined) (ratio <= 2 ? met : missed).push(`wall time ${ratio.toFixed(2)}x the JSON.parse baseline (target <= 2x)`);
  else missed.push('wall time: cpath did not finish the 1M-span file');
  if (cpathPeak !== undefined) (cpathPeak < 2 * bSize ? met : missed).push(`peak RSS ${(cpathPeak / bSize).toFixed(2)}x the file size (target < 2x)`);
  if (single && singleRun) {
    if (singleRun.exitCode !== 0) missed.push(`the single ${int(single.spans)}-span trace: cpath failed (${describeFailure(singleRun).split('\n')[0] ?? ''})`);
    else (singleRun.wallMs < 5000 ? met : missed).push(`the single ${int(single.spans)}-span trace took ${sec(singleRun.wallMs)} (target < 5 s; it did not crash: exit 0)`);
  }
  if (huge && hugeMet !== undefined) (hugeMet ? met : missed).push(`the ${mb(huge.bytes)} single JSON document imported (exit 0 and all ${int(huge.spans)} spans)`);
  const failures: string[] = [];
  for (const r of [...cpathRuns, ...(singleRun ? [singleRun] : []), ...(hugeRun ? [hugeRun] : []), ...(hugeCountRun ? [hugeCountRun] : [])]) {
    if (r.exitCode !== 0) failures.push(`${r.label}: ${describeFailure(r)}`);
  }
  let reading = `Targets met: ${met.length > 0 ? met.join('; ') : 'none'}. Targets not met: ${missed.length > 0 ? missed.join('; ') : 'none'}.`;
  if (huge && hugeRun && hugeCountRun) {
    const hb = huge.bytes;
    const head =
      hb > MAX_STRING_LENGTH
        ? `One OTLP JSON document of ${mb(hb)} on a single line, ${(hb / MAX_STRING_LENGTH).toFixed(2)}x V8's longest string (${int(MAX_STRING_LENGTH)} characters), so it cannot be read as one string and JSON.parsed,`
        : `One OTLP JSON document of ${mb(hb)} on a single line (only ${(hb / MAX_STRING_LENGTH).toFixed(2)}x V8's longest string, ${int(MAX_STRING_LENGTH)} characters, so this run says nothing about that limit)`;
    if (hugeMet) {
      reading += ` ${head} imported: \`cpath analyze --format json -o /dev/null\` exited 0 in ${sec(hugeRun.wallMs)} with a peak RSS of ${hugeRun.peakRssBytes !== undefined ? mb(hugeRun.peakRssBytes) : 'n/a'}, and the text report of a second run counted ${int(hugeCounts?.spans ?? 0)} of the ${int(huge.spans)} generated spans.`;
    } else {
      const why: string[] = [];
      if (hugeRun.exitCode !== 0) why.push(`\`--format json -o /dev/null\` ${describeFailure(hugeRun).split('\n')[0] ?? ''}`);
      if (hugeCountRun.exitCode !== 0) why.push(`the text-report run ${describeFailure(hugeCountRun).split('\n')[0] ?? ''}`);
      else if (!hugeCounts) why.push('the text report had no span count');
      else if (hugeCounts.spans !== huge.spans) why.push(`cpath counted ${int(hugeCounts.spans)} of the ${int(huge.spans)} generated spans`);
      reading += ` ${head} did NOT import cleanly: ${why.join('; ')}.`;
    }
  }
  if (cost) {
    reading += ` Materialising a graphology graph for every trace took ${sec(cost.graphMs)}, ${(cost.graphMs / cost.parseMs).toFixed(2)}x the plain JSON.parse of the file (${sec(cost.parseMs)}) and ${(cost.graphMs / cost.traceSetMs).toFixed(2)}x building the compact-array TraceSet (${sec(cost.traceSetMs)}), on top of it.`;
  }
  if (rebuilt) {
    reading += ` WARNING: the compiled code in dist/ changed during the run (newest file ${relative(ROOT, stampAfter.newestFile)}, written ${new Date(stampAfter.newestMs).toISOString()}, after the run started at ${startedAt.toISOString()}): processes started after that loaded a different build, so these rows may mix two builds; rerun.`;
  } else {
    reading += ` The compiled code in dist/ did not change during the run (${stampAfter.files} files, newest written ${new Date(stampAfter.newestMs).toISOString()}).`;
  }
  reading += ` Load average (1 min) was ${loadBefore[0]?.toFixed(2)} before and ${loadAfter[0]?.toFixed(2)} after the run on ${cpus().length} CPUs; other work on the machine shows up in the wall times.`;

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpus().length} CPUs (nproc), ${cpu}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform} ${process.arch}`;
  const notes = [
    `- Wall time: from spawn to exit of the whole process (\`node ...\`, including Node start-up), measured by the runner. Baseline and cpath runs alternate (baseline, cpath, baseline, ...); the file is read once beforehand so that it is in the page cache for every run.`,
    `- Peak RSS: the runner reads \`VmHWM\` from \`/proc/PID/status\` every ${POLL_MS} ms while the process runs and keeps the last value read; VmHWM is the kernel's own high-water mark, so the value is exact up to the last poll (growth in the final < ${POLL_MS} ms before exit would be missed).`,
    `- Baseline: \`node dist/test/bench/baseline.js FILE\`: fs.createReadStream (1 MiB chunks), split on \\n, JSON.parse each line, nothing else.`,
    `- In-process rows: one run in a separate \`node --expose-gc dist/test/bench/run.js --graph-cost FILE\` process (gc between phases), importing the compiled modules from dist/; graphs are built and dropped one trace at a time.`,
    `- Huge document: the span count is the first line of a second run's text report (\`cpath: 1 input (otlp-json), N spans, ...\`), compared with the generator's count in \`${relative(ROOT, hugeFile)}.meta.json\`; the JSON run writes to /dev/null, so it shows nothing. The "V8's longest string" figure is Node's \`buffer.constants.MAX_STRING_LENGTH\`.`,
    `- Inputs: \`node dist/samples/generate-big.js --spans ${args.spans} --out ${relative(ROOT, bigFile)}\`, \`node dist/samples/generate-big.js --single-trace --spans ${args.singleSpans} --out ${relative(ROOT, singleFile)}\` and \`node dist/samples/generate-big.js --single-document --spans ${args.hugeSpans} --out ${relative(ROOT, hugeFile)}\` (the default mode's traces and batches, every batch's ResourceSpans in one document with no newline) (seeded, deterministic; regenerated only when missing).`,
  ];
  const md = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (`test/bench/run.ts`); rerun it to update this file. Every number below is one the run printed.',
    '',
    `- Command: \`npm run bench\`${process.argv.length > 2 ? ` (with \`${process.argv.slice(2).join(' ')}\`)` : ''}`,
    `- Date: ${startedAt.toISOString()}`,
    `- Machine: ${machine}`,
    '',
    table,
    '',
    reading,
    ...(failures.length > 0 ? ['', '## Failures', '', ...failures.map((f) => `- ${f.replace(/\n/g, '\n  ')}`)] : []),
    '',
    '## How it is measured',
    '',
    ...notes,
    '',
  ].join('\n');

  process.stdout.write(`${table}\n\n${reading}\n`);
  if (failures.length > 0) process.stdout.write(`\nFailures:\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
  if (args.write) {
    // Other benchmarks (npm run bench:ingest) own their marked sections: carry them over.
    const path = join(ROOT, 'BENCHMARKS.md');
    const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const kept = [...old.matchAll(/<!-- bench:([\w-]+):begin -->[\s\S]*?<!-- bench:\1:end -->/g)].map((m) => m[0]);
    writeFileSync(path, kept.length > 0 ? `${md.trimEnd()}\n\n${kept.join('\n\n')}\n` : md);
    process.stderr.write('wrote BENCHMARKS.md\n');
  }
}

if (process.argv[2] === '--graph-cost') {
  const file = process.argv[3];
  if (file === undefined) throw new Error('--graph-cost needs a file');
  graphCost(file).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
