// The ingest benchmark of `cpath serve`: `npm run bench:ingest`
// (tsc -p tsconfig.json && node dist/test/bench/ingest.js).
//
// 1. Starts `node bin/cpath.js serve --store TMP --otlp-grpc off --api 127.0.0.1:0 --otlp-http
//    127.0.0.1:0` as a child process, pinned to CPU 0 with `taskset -c 0` when taskset exists
//    (every thread of it: libuv's pool, which gunzips, too), and the load generator
//    (test/bench/ingest-load.ts) as another process pinned to CPU 1, driven over IPC.
// 2. The load generator builds a pool of real exporter requests (OpenTelemetry SDK spans,
//    ProtobufTraceSerializer / JsonTraceSerializer, 512 spans per request, 4 services) and
//    makes every send unique (see ingest-load.ts).
// 3. Capacity: a closed loop of N keep-alive connections for D seconds, after a 2 s warm-up:
//    protobuf, protobuf + gzip, JSON. Spans acknowledged (200) per second, and per second of
//    server CPU (utime + stime from /proc/PID/stat, all threads).
// 4. Waits until the server has analysed everything (cpath_queue_traces = 0), then Steady: an
//    open loop at half the protobuf capacity, on a fixed schedule; latency is measured from the
//    scheduled send time, so a stalled server is not hidden by a stalled sender (coordinated
//    omission). Protobuf, then protobuf + gzip.
// 5. Zero loss: spans acknowledged == cpath_spans_received_total (GET /metrics) == spans in the
//    store after SIGTERM (`cpath analyze --store DIR --format json`, input.spans).
// 6. Again with a fresh store and `--fsync always`: warm-up, drain, steady protobuf.
// 7. Prints a table and writes the "Ingest (cpath serve)" section of BENCHMARKS.md (between the
//    <!-- bench:ingest:begin --> and <!-- bench:ingest:end --> markers, replaced on reruns; the
//    rest of the file is left alone).
//
// Options: --duration S (capacity and steady phases, default 10), --connections N (default 8),
// --groups G (pool: 4*G requests, default 16), --no-write, --skip-fsync, --store-parent DIR (where
// the temporary stores go; default the OS temp directory), --profile (server runs
// with --cpu-prof; the top self-time functions are printed and the .cpuprofile kept in
// bench-data/ingest-prof/).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { CapacityCmd, Encoding, PhaseResult, SteadyCmd } from './ingest-load.js';
import { HAVE_TASKSET, Load, NCPU, TICKS_PER_S, cpuTicks, metricLines, metricValue, peakRss, pinned, sleep } from './bench-procs.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/test/bench
const ROOT = resolve(HERE, '../../..');
const CPATH = join(ROOT, 'bin/cpath.js');
const PROF_DIR = join(ROOT, 'bench-data/ingest-prof');
const SPANS_PER_REQUEST = 512;
const TARGET_SPANS_PER_S = 50_000;
const TARGET_P99_MS = 50;
const BEGIN = '<!-- bench:ingest:begin -->';
const END = '<!-- bench:ingest:end -->';

interface Args {
  durationS: number;
  connections: number;
  groups: number;
  write: boolean;
  fsync: boolean;
  profile: boolean;
  /** Where the stores are created (default: the OS temp directory). */
  storeParent: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { durationS: 10, connections: 8, groups: 16, write: true, fsync: true, profile: false, storeParent: tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${x} needs a positive number`);
      return v;
    };
    if (x === '--duration') a.durationS = num();
    else if (x === '--connections') a.connections = Math.round(num());
    else if (x === '--groups') a.groups = Math.round(num());
    else if (x === '--no-write') a.write = false;
    else if (x === '--skip-fsync') a.fsync = false;
    else if (x === '--profile') a.profile = true;
    else if (x === '--store-parent') a.storeParent = argv[++i] ?? tmpdir();
    else throw new Error(`unknown argument ${x}`);
  }
  return a;
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n: number): string => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms` : 'n/a');
const yesNo = (ok: boolean): string => (ok ? 'yes' : '**no**');

// ---------------------------------------------------------------------------------------------
// Processes

interface Server {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly otlpUrl: string;
  readonly apiUrl: string;
  readonly store: string;
  readonly fsync: 'always' | 'batch';
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startServer(store: string, fsync: 'always' | 'batch', profile: boolean): Promise<Server> {
  const nodeArgs = profile ? ['--cpu-prof', '--cpu-prof-dir', PROF_DIR] : [];
  const p = pinned(0, [...nodeArgs, CPATH, 'serve', '--store', store, '--otlp-grpc', 'off', '--api', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--fsync', fsync]);
  const child = spawn(p.cmd, p.args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  let stderr = '';
  const addrs = await new Promise<{ otlp: string; api: string }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`cpath serve did not report its addresses in 20 s; stderr: ${stderr}`)), 20_000);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-16_384);
      const m = /OTLP\/HTTP on (http:\/\/\S+\/v1\/traces);.*API on (http:\/\/\S+?\/);/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        res({ otlp: m[1] as string, api: m[2] as string });
      }
    });
    void exited.then((e) => rej(new Error(`cpath serve exited (${e.code ?? e.signal}) before it listened; stderr: ${stderr}`)));
  });
  const s: Server = { child, pid: child.pid as number, otlpUrl: addrs.otlp, apiUrl: addrs.api, store, fsync, stderr, exited };
  child.stderr?.on('data', (d: string) => {
    s.stderr = (s.stderr + d).slice(-16_384);
  });
  return s;
}

async function metrics(s: Server): Promise<string> {
  const r = await fetch(new URL('metrics', s.apiUrl));
  if (!r.ok) throw new Error(`GET /metrics: ${r.status}`);
  return r.text();
}

/** Waits until the server has no trace waiting for analysis (the 5 s quiet window, then the analysis). */
async function drained(s: Server, maxMs: number): Promise<number> {
  const t = performance.now();
  await sleep(500);
  while (performance.now() - t < maxMs) {
    const m = await metrics(s);
    if (metricValue(m, 'cpath_queue_traces') === 0 && metricValue(m, 'cpath_queue_spans') === 0) break;
    await sleep(250);
  }
  return performance.now() - t;
}

interface StopResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stopMs: number;
  readonly peakRssBytes: number | undefined;
}

async function stopServer(s: Server): Promise<StopResult> {
  const rss = peakRss(s.pid);
  const t = performance.now();
  s.child.kill('SIGTERM');
  const killer = setTimeout(() => s.child.kill('SIGKILL'), 60_000);
  const e = await s.exited;
  clearTimeout(killer);
  return { ...e, stopMs: performance.now() - t, peakRssBytes: rss };
}

/** `cpath analyze --store DIR --format json`: input.spans (the report is streamed: `input` follows the traces). */
async function storedSpans(store: string): Promise<{ spans: number | undefined; traces: number | undefined; wallMs: number; error?: string }> {
  const out = join(store, 'report.json');
  const t = performance.now();
  const r = spawnSync(process.execPath, [CPATH, 'analyze', '--store', store, '--format', 'json', '-o', out], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 << 20 });
  const wallMs = performance.now() - t;
  if (r.status !== 0) return { spans: undefined, traces: undefined, wallMs, error: `exit ${r.status ?? r.signal}: ${(r.stderr ?? '').slice(-2000)}` };
  // Scan the file in chunks (it can be hundreds of MB) for "input":{..."spans":N,"traces":T.
  let found: RegExpExecArray | null = null;
  let carry = '';
  for await (const chunk of createReadStream(out, { encoding: 'utf8', highWaterMark: 4 << 20 })) {
    const text = carry + (chunk as string);
    const at = text.indexOf('"input":{"files":');
    if (at >= 0) {
      found = /"input":\{"files":.*?"spans":(\d+),"traces":(\d+)/s.exec(text.slice(at, at + 65_536));
      if (found) break;
      carry = text.slice(at);
    } else carry = text.slice(-64);
  }
  rmSync(out, { force: true });
  if (!found) return { spans: undefined, traces: undefined, wallMs, error: 'no input.spans in the report' };
  return { spans: Number(found[1]), traces: Number(found[2]), wallMs };
}

// ---------------------------------------------------------------------------------------------
// The load generator

// ---------------------------------------------------------------------------------------------
// Reporting

/** A phase and the analysis of its traces after it (until the server's queues were empty). */
type Phase = PhaseResult & { readonly drainMs: number; readonly drainCpuS: number };

const rate = (r: PhaseResult): number => r.spansAcked / (r.wallMs / 1000);
const perCpu = (r: PhaseResult): number => (r.serverCpuS > 0 ? r.spansAcked / r.serverCpuS : NaN);
/** Spans per server CPU-second counting the analysis that followed the phase: the sustainable rate of one core. */
const perCpuAll = (r: Phase): number => (r.serverCpuS + r.drainCpuS > 0 ? r.spansAcked / (r.serverCpuS + r.drainCpuS) : NaN);
const non200 = (r: PhaseResult): string => {
  const bad = Object.entries(r.codes).filter(([c]) => c !== '200');
  const text = bad.length === 0 ? '0' : bad.map(([c, n]) => `${n} x ${c === '0' ? 'error' : c}`).join(', ');
  return r.retries > 0 ? `${text} (${r.retries} sent again after ECONNRESET on a reused keep-alive socket)` : text;
};
const what = (e: Encoding, gzip: boolean): string => `${e === 'protobuf' ? 'protobuf' : 'JSON'}${gzip ? ' + gzip' : ''}`;

/** The top self-time functions of the server's CPU profile(s), as % of the time it was not idle. */
function describeProfile(dir: string): string[] {
  if (!existsSync(dir)) return ['(no profile written)'];
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const out: string[] = [];
  for (const f of files) {
    interface Node {
      id: number;
      callFrame: { functionName: string; url: string; lineNumber: number };
    }
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    let total = 0;
    let idle = 0;
    prof.samples.forEach((id, i) => {
      const dt = prof.timeDeltas[i] ?? 0;
      const cf = byId.get(id)?.callFrame;
      if (!cf) return;
      total += dt;
      if (cf.functionName === '(idle)') {
        idle += dt;
        return;
      }
      const file = cf.url.startsWith('file:') ? relative(ROOT, fileURLToPath(cf.url)) : cf.url;
      const key = `${file || '(native)'}:${cf.functionName || '(anonymous)'}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
      self.set(key, (self.get(key) ?? 0) + dt);
    });
    const busy = total - idle;
    out.push(`${f}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s not idle; % of the not-idle time (dist/ line numbers):`);
    for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) out.push(`  ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const D = Math.round(args.durationS * 1000);
  const startedAt = new Date();
  const t0 = performance.now();
  const load0 = loadavg();
  if (args.profile) {
    rmSync(PROF_DIR, { recursive: true, force: true });
    mkdirSync(PROF_DIR, { recursive: true });
  }
  // Keep this process off the server's CPU as well.
  if (HAVE_TASKSET && NCPU > 1) spawnSync('taskset', ['-pc', '1', String(process.pid)]);
  log(HAVE_TASKSET && NCPU > 1 ? 'pinning: server on CPU 0 (taskset -c 0), load generator and this runner on CPU 1 (taskset -c 1)' : `pinning: none (${HAVE_TASKSET ? `only ${NCPU} CPU` : 'no taskset'}); server and load generator share the CPUs`);

  const tmp = mkdtempSync(join(args.storeParent, 'cpath-bench-ingest-'));
  const load = new Load(args.groups);
  const servers: Server[] = [];
  try {
    const pool = await load.pool;
    log(`pool: ${pool.requests} requests x ${pool.spansPerRequest} spans (${pool.services.join(', ')}), ${(pool.protobufBytes / 1024).toFixed(0)} KiB protobuf (${(pool.protobufGzipBytes / 1024).toFixed(0)} KiB gzipped), ${(pool.jsonBytes / 1024).toFixed(0)} KiB JSON, built in ${(pool.buildMs / 1000).toFixed(1)} s`);

    // ---- Server A: --fsync batch (the default)
    const storeA = join(tmp, 'store-batch');
    const a = await startServer(storeA, 'batch', args.profile);
    servers.push(a);
    log(`server A (--fsync batch): pid ${a.pid}, ${a.otlpUrl}, API ${a.apiUrl}`);
    const A: Phase[] = [];
    const show = (r: Phase): void =>
      log(
        `  ${r.label}: ${int(rate(r))} spans/s acked, server CPU ${r.serverCpuS.toFixed(2)} s in ${(r.wallMs / 1000).toFixed(1)} s (${int(perCpu(r))} spans per CPU-s; with the analysis after it, ${r.drainCpuS.toFixed(2)} s more in ${(r.drainMs / 1000).toFixed(1)} s: ${int(perCpuAll(r))}), load-gen CPU ${r.loadCpuS.toFixed(2)} s, p50 ${ms(r.latency.p50)} p99 ${ms(r.latency.p99)} max ${ms(r.latency.max)}, non-200: ${non200(r)}${r.errors.length ? ` (${r.errors.join('; ')})` : ''}`,
      );
    /** Runs a phase, then waits until the server has analysed its traces (so the next phase starts clean). */
    const phase = async (s: Server, cmd: CapacityCmd | SteadyCmd): Promise<Phase> => {
      const r = await load.run(cmd);
      const c0 = cpuTicks(s.pid);
      const drainMs = await drained(s, 90_000);
      const p: Phase = { ...r, drainMs, drainCpuS: (cpuTicks(s.pid) - c0) / TICKS_PER_S };
      show(p);
      return p;
    };
    const cap = (s: Server, label: string, encoding: Encoding, gzip: boolean, durationMs: number, pregzip = 0): Promise<Phase> =>
      phase(s, { cmd: 'capacity', label, url: s.otlpUrl, encoding, gzip, connections: args.connections, durationMs, serverPid: s.pid, pregzip });
    const warm = await cap(a, 'warm-up (protobuf)', 'protobuf', false, 2000);
    A.push(warm);
    const capPb = await cap(a, 'capacity protobuf', 'protobuf', false, D);
    A.push(capPb);
    const pregzip = Math.min(20_000, Math.ceil((1.5 * rate(capPb) * (D / 1000)) / SPANS_PER_REQUEST) + 50);
    const capGz = await cap(a, 'capacity protobuf + gzip', 'protobuf', true, D, pregzip);
    A.push(capGz);
    const capJs = await cap(a, 'capacity JSON', 'json', false, D);
    A.push(capJs);

    const reqPerS = Math.max(1, rate(capPb) / 2 / SPANS_PER_REQUEST);
    const steadySpansPerS = reqPerS * SPANS_PER_REQUEST;
    const steady = (s: Server, label: string, gzip: boolean): Promise<Phase> =>
      phase(s, { cmd: 'steady', label, url: s.otlpUrl, encoding: 'protobuf', gzip, requestsPerSecond: reqPerS, durationMs: D, serverPid: s.pid, maxSockets: 64 });
    const stPb = await steady(a, 'steady protobuf', false);
    A.push(stPb);
    const stGz = await steady(a, 'steady protobuf + gzip', true);
    A.push(stGz);

    const mA = await metrics(a);
    const ackedA = A.reduce((x, r) => x + r.spansAcked, 0);
    const receivedA = metricValue(mA, 'cpath_spans_received_total', 'transport="http"');
    const stopA = await stopServer(a);
    log(`  server A stopped in ${(stopA.stopMs / 1000).toFixed(1)} s (exit ${stopA.code ?? stopA.signal}), peak RSS ${stopA.peakRssBytes !== undefined ? `${(stopA.peakRssBytes / 1e6).toFixed(0)} MB` : 'n/a'}`);
    const storedA = await storedSpans(storeA);
    log(`  acked ${int(ackedA)} spans; /metrics received ${int(receivedA)}; stored (cpath analyze --store) ${storedA.spans !== undefined ? int(storedA.spans) : `n/a: ${storedA.error ?? ''}`} (analyze took ${(storedA.wallMs / 1000).toFixed(1)} s)`);

    // ---- Server B: --fsync always
    let B: { warm: Phase; st: Phase; acked: number; received: number; stored: Awaited<ReturnType<typeof storedSpans>>; stop: StopResult; metrics: string } | undefined;
    if (args.fsync) {
      const storeB = join(tmp, 'store-always');
      const b = await startServer(storeB, 'always', false);
      servers.push(b);
      log(`server B (--fsync always): pid ${b.pid}, ${b.otlpUrl}`);
      const wb = await cap(b, 'warm-up (protobuf, --fsync always)', 'protobuf', false, 2000);
      const sb = await steady(b, 'steady protobuf, --fsync always', false);
      const mB = await metrics(b);
      const stopB = await stopServer(b);
      const storedB = await storedSpans(storeB);
      B = { warm: wb, st: sb, acked: wb.spansAcked + sb.spansAcked, received: metricValue(mB, 'cpath_spans_received_total', 'transport="http"'), stored: storedB, stop: stopB, metrics: mB };
      log(`  acked ${int(B.acked)} spans; /metrics received ${int(B.received)}; stored ${storedB.spans !== undefined ? int(storedB.spans) : `n/a: ${storedB.error ?? ''}`}`);
    }
    load.close();
    const totalS = (performance.now() - t0) / 1000;
    const load1 = loadavg();

    // ---- Table
    const rows: string[][] = [];
    const cpuCell = (r: Phase): string =>
      `${r.serverCpuS.toFixed(2)} s = ${((100 * r.serverCpuS) / (r.wallMs / 1000)).toFixed(0)} % of CPU 0: **${int(perCpu(r))} spans/CPU-s**; with the analysis left after the phase (${r.drainCpuS.toFixed(2)} s CPU in ${(r.drainMs / 1000).toFixed(1)} s): **${int(perCpuAll(r))} spans/CPU-s**`;
    const capRow = (r: Phase): string[] => [
      `capacity, ${what(r.encoding, r.gzip)}: closed loop, ${args.connections} connections, ${(r.wallMs / 1000).toFixed(1)} s`,
      `**${int(rate(r))} spans/s** (${int(r.spansAcked)} spans in ${int(r.codes['200'] ?? 0)} requests; ${((r.bytesSent / 1e6) / (r.wallMs / 1000)).toFixed(1)} MB/s on the wire)`,
      cpuCell(r),
      `p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}, max ${ms(r.latency.max)}`,
      non200(r),
      `${r.loadCpuS.toFixed(2)} s${r.gzippedLive ? ` (${r.gzippedLive} bodies gzipped live)` : ''}`,
    ];
    const stRow = (r: Phase, extra = ''): string[] => [
      `steady, ${what(r.encoding, r.gzip)}${extra}: open loop, ${(r.requestsPerSecond ?? 0).toFixed(1)} requests/s = ${int((r.requestsPerSecond ?? 0) * SPANS_PER_REQUEST)} spans/s, ${(r.wallMs / 1000).toFixed(1)} s`,
      `${int(rate(r))} spans/s acked (${int(r.spansAcked)} of ${int(r.spansSent)} sent)`,
      cpuCell(r),
      `**p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}**, p99.9 ${ms(r.latency.p999)}, max ${ms(r.latency.max)}`,
      non200(r),
      `${r.loadCpuS.toFixed(2)} s${r.lateSends ? ` (${r.lateSends} sends > 1 ms late, worst ${ms(r.maxSendLagMs ?? 0)})` : ''}`,
    ];
    rows.push(capRow(capPb), capRow(capGz), capRow(capJs), stRow(stPb), stRow(stGz));
    if (B) rows.push(stRow(B.st, ', `--fsync always`'));
    const table = [
      '| phase | accepted (HTTP 200) | server CPU | request latency | non-200 answers | load-generator CPU |',
      '|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
    ].join('\n');

    // ---- Targets
    const capRate = rate(capPb);
    const capCpu = perCpu(capPb);
    const capAll = perCpuAll(capPb);
    const halfTarget = TARGET_SPANS_PER_S / 2;
    const lossA = storedA.spans !== undefined && ackedA === receivedA && receivedA === storedA.spans;
    const lossB = B ? B.stored.spans !== undefined && B.acked === B.received && B.received === B.stored.spans : undefined;
    const targets = [
      '| target | result | met |',
      '|---|---|---|',
      `| >= ${int(TARGET_SPANS_PER_S)} spans/s on one core, protobuf | ${int(capRate)} spans/s with the server pinned to one core = **${(capRate / TARGET_SPANS_PER_S).toFixed(2)}x** the target; per server CPU-second ${int(capCpu)} (${(capCpu / TARGET_SPANS_PER_S).toFixed(2)}x), ${int(capAll)} (${(capAll / TARGET_SPANS_PER_S).toFixed(2)}x) counting all the analysis of those spans | ${yesNo(capRate >= TARGET_SPANS_PER_S)} |`,
      `| p99 < ${TARGET_P99_MS} ms at half that rate (${int(halfTarget)} spans/s) | p99 ${ms(stPb.latency.p99)} (gzip: ${ms(stGz.latency.p99)}) at ${int(steadySpansPerS)} spans/s = half the measured capacity${steadySpansPerS < halfTarget ? `, which is only ${(steadySpansPerS / halfTarget).toFixed(2)}x the ${int(halfTarget)} spans/s of the target` : ''} | ${yesNo(stPb.latency.p99 < TARGET_P99_MS && stGz.latency.p99 < TARGET_P99_MS && steadySpansPerS >= halfTarget)}${steadySpansPerS < halfTarget && stPb.latency.p99 < TARGET_P99_MS ? ' (latency yes, rate no)' : ''} |`,
      `| zero loss (acked = received = stored), \`--fsync batch\` | acked ${int(ackedA)}, \`cpath_spans_received_total\` ${int(receivedA)}, stored ${storedA.spans !== undefined ? int(storedA.spans) : `n/a (${storedA.error ?? ''})`} (${storedA.traces !== undefined ? int(storedA.traces) : '?'} traces) | ${yesNo(lossA)} |`,
      ...(B ? [`| zero loss, \`--fsync always\` | acked ${int(B.acked)}, received ${int(B.received)}, stored ${B.stored.spans !== undefined ? int(B.stored.spans) : `n/a (${B.stored.error ?? ''})`} | ${yesNo(lossB === true)} |`] : []),
    ].join('\n');

    const allPhases = [...A, ...(B ? [B.warm, B.st] : [])];
    const rejected = allPhases.reduce((x, r) => x + Object.entries(r.codes).filter(([c]) => c !== '200').reduce((y, [, n]) => y + n, 0), 0);
    const cpuModel = /^model name\s*:\s*(.*)$/m.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? 'unknown';
    const machine = `${NCPU} CPUs (nproc), ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform} ${process.arch}`;
    const pinning = HAVE_TASKSET && NCPU > 1 ? 'server pinned to CPU 0 (`taskset -c 0`, all its threads), load generator and runner to CPU 1' : `no pinning (${HAVE_TASKSET ? 'one CPU' : 'taskset not found'}): server and load generator share the CPUs`;
    const codesA = metricLines(mA, 'cpath_requests_total').join(', ');
    const md = [
      BEGIN,
      '## Ingest (cpath serve)',
      '',
      'Written by `npm run bench:ingest` (`test/bench/ingest.ts`, load from `test/bench/ingest-load.ts`); rerun it to replace this section. Every number below is one the run printed.',
      '',
      `- Command: \`npm run bench:ingest\`${process.argv.length > 2 ? ` (with \`${process.argv.slice(2).join(' ')}\`)` : ''}; the whole run took ${totalS.toFixed(0)} s`,
      `- Date: ${startedAt.toISOString()}`,
      `- Machine: ${machine}; load average (1 min) ${load0[0]?.toFixed(2)} before, ${load1[0]?.toFixed(2)} after`,
      `- Server: \`node bin/cpath.js serve --store ${args.storeParent}/cpath-bench-ingest-XXXXXX/store-{batch,always} --otlp-grpc off --api 127.0.0.1:0 --otlp-http 127.0.0.1:0 --fsync batch\` (then \`--fsync always\`, fresh store), defaults otherwise (\`--trace-idle 5s\`: traces are analysed during the phases too); ${pinning}.`,
      `- Load: a separate Node process over loopback, keep-alive \`http.Agent\`; ${pool.requests} distinct requests of ${pool.spansPerRequest} spans (BatchSpanProcessor's default batch) from the OpenTelemetry SDK (4 services, 16-span traces across them, ${pool.attributesPerSpan.min}-${pool.attributesPerSpan.max} attributes per span, ${pool.attributesPerSpan.mean.toFixed(1)} on average) serialized by \`ProtobufTraceSerializer\` / \`JsonTraceSerializer\` (otlp-transformer): ${(pool.protobufBytes / 1024).toFixed(0)} KiB protobuf (${(pool.protobufGzipBytes / 1024).toFixed(0)} KiB gzipped), ${(pool.jsonBytes / 1024).toFixed(0)} KiB JSON per request. Every send has unique trace ids (so nothing is deduplicated); gzip bodies are compressed before the clock starts.`,
      '',
      table,
      '',
      targets,
      '',
      `Non-200 answers over the whole run: ${rejected} (503 is backpressure, counted, not retried). Server A answered: ${codesA || 'n/a'}. Peak RSS of server A: ${stopA.peakRssBytes !== undefined ? `${(stopA.peakRssBytes / 1e6).toFixed(0)} MB` : 'n/a'}; graceful stop (SIGTERM) took ${(stopA.stopMs / 1000).toFixed(1)} s, exit ${stopA.code ?? stopA.signal}.`,
      '',
      '### How it is measured',
      '',
      `- Capacity: ${args.connections} concurrent keep-alive connections each send the next request as soon as the previous one is answered, for ${args.durationS} s, after a 2 s warm-up on the same server (counted for the loss check only). Accepted = spans of requests answered 200 (committed to the store) per second of wall time, with the server confined to one core. The server analyses each trace 5 s after its last span (\`--trace-idle\`), so the second half of a phase also carries analysis work.`,
      `- Server CPU: utime + stime of the server process (\`/proc/PID/stat\`, all threads, so libuv's gunzip threads too) over the phase. After every phase the runner waits until \`cpath_queue_traces\` and \`cpath_queue_spans\` (GET /metrics) are 0, i.e. every trace of the phase is analysed, so that no phase pays for the previous one; the CPU used meanwhile is the "analysis left after the phase", and spans / (phase + that) CPU-seconds is what one core sustains for ingest plus analysis.`,
      `- Steady: a fixed schedule of ${reqPerS.toFixed(1)} requests/s (half the measured protobuf capacity) for ${args.durationS} s, up to 64 sockets, bodies (gzip included) prepared before the clock starts; each request's latency runs from its scheduled send time to the end of the answer, so a server stall shows up in every request scheduled behind it (no coordinated omission).`,
      '- Errors: a request that fails with ECONNRESET on a reused keep-alive socket (the server closed the idle socket as it was reused; Node documents the race) is sent once more, as the OTLP exporter would; such resends are listed in the non-200 column. 503 answers are counted and not resent.',
      '- Zero loss: spans of 200 answers (load generator) vs `cpath_spans_received_total{transport="http"}` (GET /metrics, before stopping) vs `input.spans` of `cpath analyze --store DIR --format json` after SIGTERM.',
      '- `--fsync always`: a second server on a fresh store, 2 s warm-up, wait for the analysis queue, then the steady protobuf phase at the same rate.',
      END,
    ].join('\n');

    process.stdout.write(`\n${table}\n\n${targets}\n`);
    if (args.profile) process.stdout.write(`\nServer CPU profile (self time, top 20):\n${describeProfile(PROF_DIR).join('\n')}\n`);
    if (args.write) {
      const file = join(ROOT, 'BENCHMARKS.md');
      const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
      const b = old.indexOf(BEGIN);
      const e = old.indexOf(END);
      const next = b >= 0 && e > b ? `${old.slice(0, b)}${md}${old.slice(e + END.length)}` : `${old.replace(/\n*$/, '\n')}\n${md}\n`;
      writeFileSync(file, next);
      log('wrote the "Ingest (cpath serve)" section of BENCHMARKS.md');
    }
  } finally {
    load.close();
    for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:ingest: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 2000).unref();
});
