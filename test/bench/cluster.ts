// The cluster benchmark of `cpath serve --cluster` (issue 11): `npm run bench:cluster`
// (tsc -p tsconfig.json && node dist/test/bench/cluster.js [--duration S] [--no-write]).
//
// In one run, on this machine, with the load generator of bench:ingest (test/bench/ingest-load.ts:
// real OpenTelemetry SDK protobuf requests of 512 spans, every send with new trace ids):
// 1. Single node: `cpath serve --store TMP`; capacity (closed loop, 8 connections, D s) and the
//    analysis after it: spans per CPU-second of the server. The baseline.
// 2. Cluster 1+1 and 2+2: a fresh NATS server (JetStream, R=1) and PostgreSQL 15 (both started
//    here, in temp dirs), R receivers and A analysers as separate `cpath serve --cluster` child
//    processes, P=16. Capacity (the 8 connections split over the receivers), then the wait until
//    every partition's consumer has no message left and no trace waits for analysis; CPU of each
//    role's processes, of nats-server and of every PostgreSQL process, over phase + drain. Then a
//    steady open loop at half the capacity: p50/p99 request latency from the scheduled send time.
// 3. 2+2 only: `kill -9` one analyser; the time until the survivor owns all 16 partitions
//    (cpath_partition_owned in its /metrics), and the messages JetStream redelivered (consumer
//    info num_redelivered, summed over the partitions).
// Writes the "Cluster (cpath serve --cluster)" section of BENCHMARKS.md between markers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { connect } from 'nats';
import { startNats, type NatsCluster } from '../helpers/nats.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import type { PhaseResult } from './ingest-load.js';
import { Load, NCPU, TICKS_PER_S, cpuTicks, metricValue, sleep } from './bench-procs.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const CPATH = join(ROOT, 'bin/cpath.js');
const P = 16;
const BEGIN = '<!-- bench:cluster:begin -->';
const END = '<!-- bench:cluster:end -->';

const log = (s: string): void => void process.stderr.write(`bench:cluster: ${s}\n`);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Proc {
  readonly role: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** http://host:port/ of its /metrics (and the receiver's OTLP/HTTP URL). */
  readonly api: string;
  readonly otlp?: string;
  stderr: string;
}

/** Set by --profile: every cpath process writes a CPU profile there. */
let profileDir: string | undefined;

async function startCpath(role: string, args: readonly string[]): Promise<Proc> {
  const prof = profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, role.replace(/\W+/g, '-'))] : [];
  const child = spawn(process.execPath, [...prof, CPATH, 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const addrs = await new Promise<{ api: string; otlp?: string }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${role} did not start in 30 s: ${stderr}`)), 30_000);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-16_384);
      const api = /(?:API|\/healthz and \/metrics) on (http:\/\/\S+?\/)/.exec(stderr)?.[1];
      const otlp = /OTLP\/HTTP on (http:\/\/\S+\/v1\/traces)/.exec(stderr)?.[1];
      if (api !== undefined) {
        clearTimeout(timer);
        res({ api, ...(otlp !== undefined ? { otlp } : {}) });
      }
    });
    child.on('exit', (c) => rej(new Error(`${role} exited (${c}) before it listened: ${stderr}`)));
  });
  const p: Proc = { role, child, pid: child.pid as number, ...addrs, stderr };
  child.stderr?.on('data', (d: string) => (p.stderr = (p.stderr + d).slice(-16_384)));
  return p;
}

async function metrics(p: Proc): Promise<string> {
  return (await fetch(new URL('metrics', p.api))).text();
}

/** Every process of the PostgreSQL server started in `dir` (the postmaster and its children). */
function pgPids(dir: string): number[] {
  const pidFile = join(dir, 'data', 'postmaster.pid');
  if (!existsSync(pidFile)) return [];
  const master = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  const out = [master];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === master) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

function natsPids(n: NatsCluster): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.startsWith('nats-server') && n.nodes.some((x) => cmd.includes(x.dir))) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU seconds of these pids (those still alive), and of PostgreSQL's backends, which come and go: read by group. */
function cpuOf(pids: readonly number[]): number {
  let t = 0;
  for (const p of pids) {
    try {
      t += cpuTicks(p);
    } catch {
      // exited
    }
  }
  return t / TICKS_PER_S;
}

interface Roles {
  receivers: Proc[];
  analysers: Proc[];
  nats: NatsCluster;
  pg: Postgres;
}

type Cpu = Record<'receivers' | 'analysers' | 'nats' | 'postgres', number>;

function cpuNow(r: Roles): Cpu {
  return { receivers: cpuOf(r.receivers.map((p) => p.pid)), analysers: cpuOf(r.analysers.map((p) => p.pid)), nats: cpuOf(natsPids(r.nats)), postgres: cpuOf(pgPids(r.pg.dir)) };
}

const minus = (a: Cpu, b: Cpu): Cpu => ({ receivers: a.receivers - b.receivers, analysers: a.analysers - b.analysers, nats: a.nats - b.nats, postgres: a.postgres - b.postgres });
const total = (c: Cpu): number => c.receivers + c.analysers + c.nats + c.postgres;

async function ownedTotal(analysers: readonly Proc[]): Promise<number> {
  let n = 0;
  for (const a of analysers) n += metricValue(await metrics(a), 'cpath_partition_owned');
  return n;
}

/** Until no analyser has a message waiting or a trace unanalysed. */
async function drained(analysers: readonly Proc[], maxMs: number): Promise<number> {
  const t = performance.now();
  await sleep(2_500);
  while (performance.now() - t < maxMs) {
    let left = 0;
    for (const a of analysers) {
      const m = await metrics(a);
      left += metricValue(m, 'cpath_consumer_lag_messages') + metricValue(m, 'cpath_queue_traces');
    }
    if (left === 0) break;
    await sleep(500);
  }
  return performance.now() - t;
}

interface ClusterResult {
  readonly receivers: number;
  readonly analysers: number;
  readonly cap: PhaseResult[];
  readonly capCpu: Cpu;
  readonly drainMs: number;
  readonly drainCpu: Cpu;
  readonly steady: PhaseResult[];
  readonly failover?: { moveMs: number; redelivered: number; drainMs: number };
  readonly stored: number;
}

async function runCluster(nRecv: number, nAnal: number, durationMs: number, loads: Load[]): Promise<ClusterResult> {
  const nats = await startNats();
  const pgs = await startPostgres();
  const admin = new pg.Client({ connectionString: pgs.url });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const storeUrl = pgs.url.replace(/\/postgres$/, '/bench');
  const common = ['--cluster', nats.urls.join(','), '--partitions', String(P), '--replicas', '1', '--api', '127.0.0.1:0', '--lease-ttl', '5s'];
  const r: Roles = { receivers: [], analysers: [], nats, pg: pgs };
  try {
    // Analysers first: the stream and the schema exist before the receivers publish.
    for (let i = 0; i < nAnal; i++) r.analysers.push(await startCpath(`analyser ${i + 1}`, [...common, '--role', 'analyser', '--store', storeUrl, '--trace-idle', '1s']));
    for (let i = 0; i < nRecv; i++) r.receivers.push(await startCpath(`receiver ${i + 1}`, [...common, '--role', 'receiver', '--otlp-grpc', 'off', '--otlp-http', '127.0.0.1:0']));
    const t0 = performance.now();
    while ((await ownedTotal(r.analysers)) < P) {
      if (performance.now() - t0 > 60_000) throw new Error('partitions not all owned after 60 s');
      await sleep(250);
    }
    // Each analyser holds its fair share before the clock starts.
    while (nAnal > 1) {
      const each = await Promise.all(r.analysers.map(async (a) => metricValue(await metrics(a), 'cpath_partition_owned')));
      if (each.every((n) => n === P / nAnal)) break;
      await sleep(250);
    }
    const perRecv = Math.max(1, Math.floor(8 / nRecv));
    const c0 = cpuNow(r);
    const cap = await Promise.all(
      r.receivers.map((rc, i) => (loads[i] as Load).run({ cmd: 'capacity', label: `cluster ${nRecv}+${nAnal} capacity`, url: rc.otlp ?? '', encoding: 'protobuf', gzip: false, connections: perRecv, durationMs, serverPid: rc.pid, pregzip: 0 })),
    );
    const c1 = cpuNow(r);
    const drainMs = await drained(r.analysers, 300_000);
    const c2 = cpuNow(r);
    const acked = cap.reduce((s, x) => s + x.spansAcked, 0);
    const rate = acked / (Math.max(...cap.map((x) => x.wallMs)) / 1000);
    const reqPerS = rate / 2 / 512 / nRecv;
    const steady = await Promise.all(
      r.receivers.map((rc, i) => (loads[i] as Load).run({ cmd: 'steady', label: `cluster ${nRecv}+${nAnal} steady`, url: rc.otlp ?? '', encoding: 'protobuf', gzip: false, requestsPerSecond: reqPerS, durationMs, serverPid: rc.pid, maxSockets: 64 })),
    );
    await drained(r.analysers, 300_000);
    let failover: ClusterResult['failover'];
    if (nAnal >= 2) failover = await killOne(r, durationMs, loads);
    const db = new pg.Client({ connectionString: storeUrl });
    await db.connect();
    const stored = Number((await db.query<{ n: string }>('SELECT sum(spans) AS n FROM cpath.counts')).rows[0]?.n ?? 0);
    await db.end();
    return { receivers: nRecv, analysers: nAnal, cap, capCpu: minus(c1, c0), drainMs, drainCpu: minus(c2, c1), steady, ...(failover ? { failover } : {}), stored };
  } finally {
    // SIGTERM lets a profiled process write its profile; what is left is killed.
    for (const p of [...r.receivers, ...r.analysers]) p.child.kill(profileDir !== undefined ? 'SIGTERM' : 'SIGKILL');
    if (profileDir !== undefined) await sleep(5_000);
    for (const p of [...r.receivers, ...r.analysers]) p.child.kill('SIGKILL');
    await nats.stop();
    pgs.stop();
  }
}

/** Under load, kill -9 the first analyser: how long until the other owns every partition, and what JetStream sent again. */
async function killOne(r: Roles, durationMs: number, loads: Load[]): Promise<{ moveMs: number; redelivered: number; drainMs: number }> {
  const nc = await connect({ servers: [...r.nats.urls] });
  const jsm = await nc.jetstreamManager();
  const redelivered = async (): Promise<number> => {
    let n = 0;
    for (let p = 0; p < P; p++) n += (await jsm.consumers.info('cpath-spans', `cpath-p${p}`).catch(() => undefined))?.num_redelivered ?? 0;
    return n;
  };
  const before = await redelivered();
  const sending = r.receivers.map((rc, i) => (loads[i] as Load).run({ cmd: 'steady', label: 'failover', url: rc.otlp ?? '', encoding: 'protobuf', gzip: false, requestsPerSecond: 10, durationMs, serverPid: rc.pid, maxSockets: 64 }));
  await sleep(durationMs / 3);
  const victim = r.analysers[0] as Proc;
  const survivor = r.analysers[1] as Proc;
  victim.child.kill('SIGKILL');
  const t0 = performance.now();
  while (metricValue(await metrics(survivor), 'cpath_partition_owned') < P) {
    if (performance.now() - t0 > 120_000) throw new Error('the survivor did not take every partition within 120 s');
    await sleep(100);
  }
  const moveMs = performance.now() - t0;
  await Promise.all(sending);
  const drainMs = await drained([survivor], 300_000);
  const after = await redelivered();
  await nc.close();
  return { moveMs, redelivered: after - before, drainMs };
}

async function singleNode(durationMs: number, load: Load): Promise<{ cap: PhaseResult; cpuS: number; drainCpuS: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpath-bench-cluster-'));
  const s = await startCpath('single node', ['--store', join(dir, 'store'), '--otlp-grpc', 'off', '--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0', '--trace-idle', '1s']);
  try {
    const c0 = cpuOf([s.pid]);
    const cap = await load.run({ cmd: 'capacity', label: 'single node capacity', url: s.otlp ?? '', encoding: 'protobuf', gzip: false, connections: 8, durationMs, serverPid: s.pid, pregzip: 0 });
    const c1 = cpuOf([s.pid]);
    const t = performance.now();
    await sleep(2_500);
    while (performance.now() - t < 300_000 && metricValue(await metrics(s), 'cpath_queue_traces') > 0) await sleep(250);
    return { cap, cpuS: c1 - c0, drainCpuS: cpuOf([s.pid]) - c1 };
  } finally {
    s.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseArgs(argv: readonly string[]): { durationS: number; write: boolean; only?: string } {
  let durationS = 15;
  let write = true;
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--duration') durationS = Number(argv[++i]);
    else if (argv[i] === '--no-write') write = false;
    else if (argv[i] === '--only') only = argv[++i];
    else if (argv[i] === '--profile') profileDir = join(ROOT, 'bench-data/cluster-prof');
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return { durationS, write, ...(only !== undefined ? { only } : {}) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const D = args.durationS * 1000;
  const startedAt = new Date();
  const load0 = loadavg()[0] ?? 0;
  const loads = [new Load(16), new Load(16)];
  try {
    await Promise.all(loads.map((l) => l.pool));
    log('single node');
    const single = await singleNode(D, loads[0] as Load);
    log('cluster 1 receiver + 1 analyser');
    const one = await runCluster(1, 1, D, loads);
    if (args.only === '1+1') {
      process.stdout.write(`single ${int(single.cap.spansAcked / (single.cpuS + single.drainCpuS))} spans/CPU-s; 1+1: ${JSON.stringify({ capCpu: one.capCpu, drainCpu: one.drainCpu, acked: one.cap.reduce((x, c) => x + c.spansAcked, 0), steady: one.steady.map((x) => x.latency) })}\n`);
      return;
    }
    log('cluster 2 receivers + 2 analysers');
    const two = await runCluster(2, 2, D, loads);
    const load1 = loadavg()[0] ?? 0;

    const singlePerCpu = single.cap.spansAcked / (single.cpuS + single.drainCpuS);
    const row = (c: ClusterResult): string => {
      const acked = c.cap.reduce((s, x) => s + x.spansAcked, 0);
      const wall = Math.max(...c.cap.map((x) => x.wallMs)) / 1000;
      const cpu = { receivers: c.capCpu.receivers + c.drainCpu.receivers, analysers: c.capCpu.analysers + c.drainCpu.analysers, nats: c.capCpu.nats + c.drainCpu.nats, postgres: c.capCpu.postgres + c.drainCpu.postgres };
      const cpath = cpu.receivers + cpu.analysers;
      const lat = c.steady.map((s) => `p50 ${s.latency.p50.toFixed(1)} ms, p99 ${s.latency.p99.toFixed(1)} ms`).join(' / ');
      const non200 = [...c.cap, ...c.steady].reduce((s, x) => s + Object.entries(x.codes).filter(([k]) => k !== '200').reduce((y, [, n]) => y + n, 0), 0);
      return `| ${c.receivers} + ${c.analysers} | **${int(acked / wall)} spans/s** (${int(acked)} in ${wall.toFixed(1)} s; analysed ${(c.drainMs / 1000).toFixed(1)} s later) | receivers ${int(acked / cpu.receivers)}, analysers ${int(acked / cpu.analysers)}, cpath together **${int(acked / cpath)}** (${((100 * acked) / cpath / singlePerCpu).toFixed(0)} % of the single node), with nats-server and PostgreSQL ${int(acked / total(cpu))} (${((100 * acked) / total(cpu) / singlePerCpu).toFixed(0)} %) | ${cpu.receivers.toFixed(1)} / ${cpu.analysers.toFixed(1)} / ${cpu.nats.toFixed(1)} / ${cpu.postgres.toFixed(1)} s | ${lat} at ${int((c.steady.reduce((s, x) => s + (x.requestsPerSecond ?? 0), 0) * 512))} spans/s | ${non200} | ${int(c.stored)} |`;
    };
    const f = two.failover;
    const md = [
      BEGIN,
      '## Cluster (cpath serve --cluster)',
      '',
      'Written by `npm run bench:cluster` (`test/bench/cluster.ts`); rerun it to replace this section.',
      '',
      `- Date: ${startedAt.toISOString()}; ${NCPU} CPUs shared by every process below (nothing pinned); load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after; phases of ${args.durationS} s.`,
      '- Load: the load generator of `bench:ingest` (real SDK protobuf requests of 512 spans, new trace ids on every send), 8 keep-alive connections in a closed loop split over the receivers; then an open loop at half that capacity (latency from the scheduled send time).',
      '- Cluster: one `nats-server -js` (R=1) and one PostgreSQL 15, both started by the benchmark in temp dirs; every role a separate `cpath serve --cluster` process, P=16, `--trace-idle 1s`, `--lease-ttl 5s`. CPU: utime+stime from /proc of each process over the phase and the analysis after it (until no consumer has a message left and no trace waits).',
      `- Single node, same run: \`cpath serve --store TMP --trace-idle 1s\`: **${int(single.cap.spansAcked / (single.cap.wallMs / 1000))} spans/s**, ${int(singlePerCpu)} spans per CPU-second counting the analysis after the phase.`,
      '',
      '| receivers + analysers | acknowledged | spans per CPU-second (phase + analysis) | CPU: receivers / analysers / nats / postgres | steady latency, per receiver | non-200 | spans stored |',
      '|---|---|---|---|---|---|---|',
      row(one),
      row(two),
      '',
      f ? `Failover (2 + 2, under 10 requests/s per receiver): \`kill -9\` of one analyser; the survivor owned all ${P} partitions **${(f.moveMs / 1000).toFixed(1)} s** later (lease TTL 5 s; its renewals every 1.7 s); JetStream redelivered ${int(f.redelivered)} messages (what the dead analyser had taken and not acknowledged, plus the ack wait's redeliveries); everything was analysed ${(f.drainMs / 1000).toFixed(1)} s after the load stopped.` : '',
      END,
    ].join('\n');
    process.stdout.write(`${md}\n`);
    if (args.write) {
      const file = join(ROOT, 'BENCHMARKS.md');
      const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
      const b = old.indexOf(BEGIN);
      const e = old.indexOf(END);
      writeFileSync(file, b >= 0 && e > b ? `${old.slice(0, b)}${md}${old.slice(e + END.length)}` : `${old.replace(/\n*$/, '\n')}\n${md}\n`);
      log('wrote the "Cluster" section of BENCHMARKS.md');
    }
  } finally {
    for (const l of loads) l.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:cluster failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
