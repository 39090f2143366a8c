// `cpath record`: runs bpftrace with the program of collectors/bpftrace/script.ts and writes the
// event log of collectors/bpftrace/FORMAT.md.
//
// How a recording goes:
// 1. Checks: bpftrace on PATH, permission to load BPF programs (CAP_SYS_ADMIN, or CAP_BPF and
//    CAP_PERFMON), tracefs mounted (mounted here if it is not), every --uprobe/--usdt resolvable
//    (`bpftrace -l`: bpftrace itself silently skips a probe it cannot find).
// 2. `-- COMMAND`: the command is spawned at once behind a gate (`sh -c 'read <&3; exec "$@"'`), so
//    its pid is known before bpftrace starts and goes into the program and the header, but it
//    does not run until tracing is on. `-p PID`: the pids and their current threads are the targets.
// 3. The header is written, then bpftrace is started with the output file (opened for append) as
//    its stdout: bpftrace writes the event lines straight into the file, so cpath never copies
//    the stream and is not woken per event (less overhead, less noise in the trace). bpftrace
//    runs in its own session (the terminal's Ctrl-C reaches cpath and the command, not bpftrace),
//    as SCHED_BATCH (`chrt -b 0`: woken by its own output, it does not preempt busy tasks), from
//    `sh -c 'ulimit -l ...; exec chrt -b 0 bpftrace -e PROGRAM "$$"'`: the shell raises
//    RLIMIT_MEMLOCK as far as allowed, and `$$` passes bpftrace its own pid (the shell's, kept by
//    exec) for the self-noise filter. The program also exits when cpath's main thread exits, so a
//    killed cpath leaves no tracer behind.
// 4. Attached = the BEGIN anchor line is in the file (BEGIN runs after every probe is attached).
//    Then the gate opens.
// 5. Stop: the command exits, or with -p every target process (then 100 ms more, for the events
//    of their end), --duration elapses, or the stop signal fires (Ctrl-C). bpftrace gets SIGINT
//    and drains its buffers. A command still running is left alone (`exit=running`).
// 6. bpftrace's dump of its maps at exit is cut off the file; the trailer follows: a second
//    `# clock:` reading and `# end lost=N exit=S`. `.gz` outputs are compressed at the end
//    (bpftrace writes `<output>.part` meanwhile).
//
// Clock readings (`# clock: <boot ns> <unix ns>`): Node has no CLOCK_BOOTTIME (process.hrtime is
// CLOCK_MONOTONIC, which stops during suspend; /proc/uptime has 10 ms steps), so a python3
// one-liner reads `clock_gettime_ns(CLOCK_BOOTTIME)`, `time_ns()` (REALTIME), BOOTTIME again,
// five times, and the pair with the tightest bracket is kept, its boot time the bracket's
// midpoint: exact to well under a microsecond. Without python3 the `# clock:` lines are left out
// (the anchors alone then map the clocks) and a warning says so.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, truncateSync, closeSync, constants, createReadStream, createWriteStream, existsSync, openSync, readSync, readFileSync, statSync, writeFileSync, appendFileSync, rmSync, readdirSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ScriptError, buildScript, checkBinary, checkProbeName, probeWords, type UprobeSpec, type UsdtSpec } from '../../collectors/bpftrace/script.js';
import { LOG_HEADER, LOG_VERSION, LOST_LINE, endLine, eventLineKind, headerLine, parseAnchorLine } from '../model/event-log.js';

export type { UprobeSpec, UsdtSpec } from '../../collectors/bpftrace/script.js';

export type RecordTarget = { readonly kind: 'command'; readonly argv: readonly string[] } | { readonly kind: 'pids'; readonly pids: readonly number[] };

export interface RecordOptions {
  readonly target: RecordTarget;
  /** The event log; `.gz` is compressed when the recording ends. */
  readonly output: string;
  readonly uprobes: readonly UprobeSpec[];
  readonly usdt: readonly UsdtSpec[];
  /** Stop after this long (from the moment tracing is on); also bounds a command. */
  readonly durationMs?: number;
  readonly stacks: boolean;
  readonly targetOnly: boolean;
  /** Period of the AN anchors, default 1000 ms. */
  readonly anchorIntervalMs?: number;
  /** Aborting it stops the recording cleanly (Ctrl-C). */
  readonly stop?: AbortSignal;
  /** Progress and warnings, one line each (the CLI prefixes and prints them on stderr). */
  readonly log?: (line: string) => void;
  /** Environment for finding and running bpftrace (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface RecordResult {
  readonly output: string;
  readonly bytes: number;
  /** Event lines written (every kind, anchors included; stack frame lines not counted). */
  readonly events: number;
  readonly byKind: Readonly<Record<string, number>>;
  /** Events bpftrace reported lost (`Lost N events`). */
  readonly lost: number;
  /** From tracing on to the stop. */
  readonly durationNs: number;
  /** As in the `# end` line: the command's exit status, SIGNAME, `running`, or `-` (-p). */
  readonly exit: string;
  readonly stoppedBy: 'command-exit' | 'targets-exited' | 'duration' | 'signal';
  /** bpftrace's first anchor's offset (unix - boot) minus cpath's own reading's, ns. */
  readonly anchorVsClockNs?: number;
}

/** A recording that cannot start or finish. `usage`: the user's arguments (exit 2); `environment`: the machine (exit 1). */
export class RecordError extends Error {
  constructor(
    readonly kind: 'usage' | 'environment',
    message: string,
  ) {
    super(message);
  }
}

const usage = (m: string): RecordError => new RecordError('usage', m);
const environment = (m: string): RecordError => new RecordError('environment', m);

// ---------------------------------------------------------------------------------------------
// Argument parsing (shared with the CLI)

/** `BINARY:FUNCTION`; the binary is a path, or a name looked up on PATH (else a library name for bpftrace, e.g. libc). */
export function parseUprobe(spec: string, env: NodeJS.ProcessEnv = process.env): UprobeSpec {
  const i = spec.lastIndexOf(':');
  if (i <= 0 || i === spec.length - 1) throw usage(`--uprobe "${spec}": expected BINARY:FUNCTION, e.g. ./server:handle_request or /usr/bin/node:uv_queue_work`);
  const fn = spec.slice(i + 1);
  try {
    return { binary: resolveBinary('--uprobe', spec.slice(0, i), env), function: checkProbeName('function', fn) };
  } catch (e) {
    throw e instanceof ScriptError ? usage(`--uprobe "${spec}": ${e.message}`) : e;
  }
}

/** `BINARY:PROVIDER:PROBE`. */
export function parseUsdt(spec: string, env: NodeJS.ProcessEnv = process.env): UsdtSpec {
  const j = spec.lastIndexOf(':');
  const i = j > 0 ? spec.lastIndexOf(':', j - 1) : -1;
  if (i <= 0 || j === i + 1 || j === spec.length - 1) throw usage(`--usdt "${spec}": expected BINARY:PROVIDER:PROBE, e.g. /usr/lib/x86_64-linux-gnu/libc.so.6:libc:setjmp`);
  try {
    return {
      binary: resolveBinary('--usdt', spec.slice(0, i), env),
      provider: checkProbeName('provider', spec.slice(i + 1, j)),
      probe: checkProbeName('probe', spec.slice(j + 1)),
    };
  } catch (e) {
    throw e instanceof ScriptError ? usage(`--usdt "${spec}": ${e.message}`) : e;
  }
}

function resolveBinary(flag: string, b: string, env: NodeJS.ProcessEnv): string {
  if (b.includes('/')) {
    const abs = resolve(b);
    if (!existsSync(abs)) throw usage(`${flag}: ${b} does not exist`);
    if (!statSync(abs).isFile()) throw usage(`${flag}: ${b} is not a file`);
    return checkBinary(abs);
  }
  return checkBinary(findOnPath(b, env) ?? b);
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Environment

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;
const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

function checkPermitted(): void {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    throw environment('cpath record works on Linux only (no /proc/self/status here)');
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  const caps = m ? BigInt(`0x${m[1]}`) : 0n;
  const has = (bit: bigint): boolean => ((caps >> bit) & 1n) === 1n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return;
  const uid = process.getuid?.();
  throw environment(
    `record needs root (or the capabilities CAP_BPF and CAP_PERFMON) to load bpftrace programs; ${uid === 0 ? 'this root process lacks them (a restricted container?)' : `running as uid ${uid ?? '?'}`}: run it with sudo`,
  );
}

async function ensureTracefs(log: (l: string) => void): Promise<void> {
  if (TRACEFS.some((d) => existsSync(join(d, 'events', 'sched', 'sched_switch')))) return;
  try {
    await run('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing']);
  } catch (e) {
    throw environment(`tracefs is not mounted and mounting it failed (${errText(e)}): run \`mount -t tracefs nodev /sys/kernel/tracing\` as root`);
  }
  if (!existsSync('/sys/kernel/tracing/events/sched/sched_switch')) throw environment('tracefs is mounted on /sys/kernel/tracing but has no sched events: this kernel lacks the sched tracepoints');
  log('mounted tracefs on /sys/kernel/tracing');
}

function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, [...args], { env: env ?? process.env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${cmd}: ${(stderr.trim() || err.message).split('\n')[0]}`));
      else res(stdout);
    });
  });
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Every uprobe/USDT must be found by bpftrace: it skips missing ones silently when other probes attach. */
async function checkProbes(bpftrace: string, uprobes: readonly UprobeSpec[], usdt: readonly UsdtSpec[], env: NodeJS.ProcessEnv): Promise<void> {
  const wanted = [
    ...uprobes.map((u) => ({ flag: `--uprobe ${u.binary}:${u.function}`, kind: 'uprobe', what: `function ${u.function}`, binary: u.binary, suffix: `:${u.function}` })),
    ...usdt.map((u) => ({ flag: `--usdt ${u.binary}:${u.provider}:${u.probe}`, kind: 'usdt', what: `USDT probe ${u.provider}:${u.probe}`, binary: u.binary, suffix: `:${u.provider}:${u.probe}` })),
  ];
  const missing: string[] = [];
  await Promise.all(
    wanted.map(async (w) => {
      let listed: string;
      try {
        listed = await run(bpftrace, ['-l', `${w.kind}:${w.binary}${w.suffix}`], env);
      } catch (e) {
        missing.push(`${w.flag}: ${errText(e)}`);
        return;
      }
      // bpftrace -l prints the probe it finds (a library name comes back as its path).
      if (!listed.split('\n').some((l) => l.trim().endsWith(w.suffix))) missing.push(`${w.flag}: bpftrace finds no ${w.what} in ${w.binary} (list them: bpftrace -l '${w.kind}:${w.binary}:*')`);
    }),
  );
  if (missing.length > 0) throw usage(missing.sort().join('\n'));
}

// ---------------------------------------------------------------------------------------------
// Clocks

export interface ClockReading {
  readonly bootNs: bigint;
  readonly unixNs: bigint;
}

const CLOCK_PY =
  'import time\n' +
  'B=time.CLOCK_BOOTTIME\n' +
  'best=None\n' +
  'for _ in range(5):\n' +
  '  a=time.clock_gettime_ns(B); r=time.time_ns(); b=time.clock_gettime_ns(B)\n' +
  '  if best is None or b-a<best[0]: best=(b-a,(a+b)//2,r)\n' +
  'print(best[1], best[2])\n';

/** CLOCK_BOOTTIME and CLOCK_REALTIME read back to back (python3); undefined without python3. */
export async function readClocks(env: NodeJS.ProcessEnv = process.env): Promise<ClockReading | undefined> {
  const py = findOnPath('python3', env);
  if (!py) return undefined;
  try {
    const m = /^(\d+) (\d+)\s*$/.exec(await run(py, ['-c', CLOCK_PY], env));
    return m ? { bootNs: BigInt(m[1] ?? '0'), unixNs: BigInt(m[2] ?? '0') } : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Recording

/** Noise bpftrace v0.17 prints on stderr on this kind of machine while working fine. */
const STDERR_NOISE = [
  /ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace\. If your program is not loading, you can try "ulimit -l 8192" to fix the problem\n?/g,
  /Error while reading traceable functions from \S+: Operation not permitted\n?/g,
];

const ATTACH_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const TAIL_MS = 100;

export async function record(o: RecordOptions): Promise<RecordResult> {
  const log = o.log ?? ((): void => {});
  const env = o.env ?? process.env;
  checkRequest(o, env);
  const { bpftrace, version } = await checkMachine(o, env, log);
  const gz = o.output.endsWith('.gz');
  const file = gz ? `${o.output}.part` : o.output;
  try {
    writeFileSync(file, '');
  } catch (e) {
    throw usage(`-o ${o.output}: cannot write (${errText(e)})`);
  }

  const clockBefore = await readClocks(env);
  if (!clockBefore) log('warning: python3 not found: no "# clock:" readings in the header (the AN anchors alone map boot time to Unix time)');
  const target = startTarget(o.target);
  const script = programFor(o, target);
  const headerBytes = writeHeader(file, o, version, target.pids, clockBefore);
  const tracer = startBpftrace(file, bpftrace, script, o.usdt.length > 0, env, log);
  const stopped = new Promise<'signal'>((res) => {
    if (o.stop?.aborted) res('signal');
    o.stop?.addEventListener('abort', () => res('signal'), { once: true });
  });
  await waitForTracing(file, headerBytes, tracer, target, stopped);

  // Tracing is on: let the command run.
  const t0 = process.hrtime.bigint();
  const g = target.child?.stdio[3];
  if (g && 'end' in g) g.end('go\n');
  log(`tracing ${o.target.kind === 'command' ? `pid ${target.pids[0]} (${o.target.argv[0]})` : `pid${target.pids.length > 1 ? 's' : ''} ${target.pids.join(' ')}`}${o.targetOnly ? ', target-only' : ', system-wide'}${o.durationMs !== undefined ? ` for at most ${o.durationMs / 1000} s` : ''}${o.target.kind === 'pids' && o.durationMs === undefined ? ' until they exit or Ctrl-C' : ''}`);
  const why = await waitForEnd(o.durationMs, target, tracer, stopped, file);
  const durationNs = Number(process.hrtime.bigint() - t0);
  if (why === 'command-exit' || why === 'targets-exited') await sleep(TAIL_MS);
  const btStatus = await stopBpftrace(tracer.proc, tracer.exit);
  if (btStatus.killed) log(`warning: bpftrace did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGINT and was killed; its last events may be missing`);
  const exit = await commandStatus(target, why, log);
  const noise = STDERR_NOISE.reduce((s, re) => s.replace(re, ''), tracer.stderr).trim();
  if (noise !== '') log(`bpftrace said:\n${noise}`);

  const counts = await closeLog(file, headerBytes, tracer.proc.pid, exit, env);
  if (gz) {
    await pipeline(createReadStream(file), createGzip(), createWriteStream(o.output));
    rmSync(file);
  }
  const anchorVsClockNs = counts.firstAnchor && clockBefore ? Number(counts.firstAnchor.unixNs - counts.firstAnchor.bootNs - (clockBefore.unixNs - clockBefore.bootNs)) : undefined;
  return {
    output: o.output,
    bytes: statSync(o.output).size,
    events: counts.events,
    byKind: counts.byKind,
    lost: counts.lost,
    durationNs,
    exit,
    stoppedBy: why,
    ...(anchorVsClockNs !== undefined ? { anchorVsClockNs } : {}),
  };
}

/** The user's request, before anything is touched: a target that exists, a positive duration. */
function checkRequest(o: RecordOptions, env: NodeJS.ProcessEnv): void {
  if (o.target.kind === 'command' && o.target.argv.length === 0) throw usage('record: no command after --');
  if (o.target.kind === 'pids' && o.target.pids.length === 0) throw usage('record: give -p PID or -- COMMAND [ARGS...]');
  if (o.durationMs !== undefined && !(o.durationMs > 0)) throw usage('--duration must be more than 0');
  if (o.target.kind === 'pids') for (const pid of o.target.pids) if (!alive(pid)) throw usage(`-p ${pid}: no such process`);
  if (o.target.kind === 'command') {
    const c = o.target.argv[0] ?? '';
    const commandPath = c.includes('/') ? (existsSync(c) ? c : undefined) : findOnPath(c, env);
    if (commandPath === undefined) throw usage(`record: command "${c}" not found${c.includes('/') ? '' : ' on PATH'}`);
  }
}

/** The machine: bpftrace, the permission to load programs, tracefs, every probe asked for; bpftrace's path and version. */
async function checkMachine(o: RecordOptions, env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<{ bpftrace: string; version: string }> {
  const bpftrace = findOnPath('bpftrace', env);
  if (!bpftrace) throw environment('bpftrace is not installed (not found on PATH); install it: `apt-get install -y bpftrace` (Debian/Ubuntu) or `dnf install bpftrace` (Fedora); cpath needs v0.17 or later');
  checkPermitted();
  await ensureTracefs(log);
  await checkProbes(bpftrace, o.uprobes, o.usdt, env);
  const version = (await run(bpftrace, ['--version'], env).catch((e: unknown) => { throw environment(`bpftrace --version failed: ${errText(e)}`); })).trim();
  return { bpftrace, version };
}

/** What is traced: a command waiting behind its gate, or running processes and their threads. */
interface Target {
  /** The gated command (`-- COMMAND`). */
  readonly child: ChildProcess | undefined;
  readonly childExit: Promise<ExitStatus> | undefined;
  readonly pids: number[];
  /** With -p: the threads the processes have now. */
  readonly tids: number[];
  /** Lets a gated command go without running it (exit 125), or leaves it be once it runs. */
  closeGate(): void;
}

/** The target: the command spawned at once behind its gate (its pid is known before bpftrace starts), or the pids. */
function startTarget(t: RecordTarget): Target {
  let child: ChildProcess | undefined;
  let pids: number[];
  let tids: number[] = [];
  if (t.kind === 'command') {
    child = spawn('/bin/sh', ['-c', 'read _ <&3 || exit 125; exec 3<&-; exec "$@"', 'cpath-gate', ...t.argv], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
    if (child.pid === undefined) throw environment(`could not start /bin/sh for the command`);
    pids = [child.pid];
  } else {
    pids = [...new Set(t.pids)];
    tids = pids.flatMap((pid) => {
      try {
        return readdirSync(`/proc/${pid}/task`).map(Number).filter((t) => Number.isSafeInteger(t) && t > 0);
      } catch {
        return [];
      }
    });
  }
  const gated = child;
  return {
    child,
    childExit: child ? exitOf(child) : undefined,
    pids,
    tids,
    closeGate: (): void => {
      const g = gated?.stdio[3];
      if (g && 'end' in g) g.end();
    },
  };
}

/** The bpftrace program for the target; a program that cannot be built is the user's error (the gate is closed first). */
function programFor(o: RecordOptions, target: Target): string {
  try {
    return buildScript({
      targetPids: target.pids,
      targetTids: target.tids,
      ownerPid: process.pid,
      uprobes: o.uprobes,
      usdt: o.usdt,
      stacks: o.stacks,
      targetOnly: o.targetOnly,
      anchorIntervalMs: o.anchorIntervalMs ?? 1000,
    });
  } catch (e) {
    target.closeGate();
    throw e instanceof ScriptError ? usage(e.message) : e;
  }
}

/** The log's header, written over the file; its length in bytes (the events start there). */
function writeHeader(file: string, o: RecordOptions, version: string, targetPids: readonly number[], clockBefore: ClockReading | undefined): number {
  const probes = probeWords(o.uprobes, o.usdt);
  const header = [
    `${LOG_HEADER} ${LOG_VERSION}`,
    headerLine('host', hostname()),
    headerLine('kernel', release()),
    headerLine('bpftrace', version),
    headerLine('command', o.target.kind === 'command' ? o.target.argv.map(shellQuote).join(' ') : 'attach'),
    headerLine('target-pids', targetPids.join(' ')),
    headerLine('scope', o.targetOnly ? 'target-only' : 'system'),
    headerLine('stacks', o.stacks ? 'on' : 'off'),
    ...(clockBefore ? [headerLine('clock', `${clockBefore.bootNs} ${clockBefore.unixNs}`)] : []),
    ...(probes.length > 0 ? [headerLine('probes', probes.join(' '))] : []),
  ];
  writeFileSync(file, `${header.join('\n')}\n`);
  return statSync(file).size;
}

/** A running bpftrace: its process, its exit, what it said on stderr so far, and whether it has exited. */
interface Tracer {
  readonly proc: ChildProcess;
  readonly exit: Promise<ExitStatus>;
  stderr: string;
  done: boolean;
}

/** bpftrace started with the log (opened for append) as its stdout, in its own session, as SCHED_BATCH when chrt is there. */
function startBpftrace(file: string, bpftrace: string, script: string, usdt: boolean, env: NodeJS.ProcessEnv, log: (l: string) => void): Tracer {
  const fd = openSync(file, 'a');
  // SCHED_BATCH (chrt -b 0): a woken bpftrace does not preempt the running task, it waits for
  // the next tick. Each switch it causes is an event that wakes it again; without this, bpftrace
  // and two busy tasks on one CPU could keep each other switching.
  const chrt = findOnPath('chrt', env);
  if (!chrt) log('warning: chrt (util-linux) not found: bpftrace runs with the normal policy and may preempt busy tasks more often');
  // --usdt-file-activation: USDT probes guarded by a semaphore are enabled in every process of the binary.
  const btArgv = [...(chrt ? [chrt, '-b', '0'] : []), bpftrace, ...(usdt ? ['--usdt-file-activation'] : []), '-e', script];
  const bt = spawn('/bin/sh', ['-c', 'ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -H -l)" 2>/dev/null; exec "$@" "$$"', 'cpath-bpftrace', ...btArgv], {
    stdio: ['ignore', fd, 'pipe'],
    detached: true,
    env: { ...env, BPFTRACE_PERF_RB_PAGES: env['BPFTRACE_PERF_RB_PAGES'] ?? '256' },
  });
  closeSync(fd);
  const tracer: Tracer = { proc: bt, exit: exitOf(bt), stderr: '', done: false };
  bt.stderr?.on('data', (c: Buffer) => {
    tracer.stderr += c.toString('utf8');
  });
  void tracer.exit.then(() => {
    tracer.done = true;
  });
  return tracer;
}

/**
 * Until the BEGIN anchor line is in the log (BEGIN runs once every probe is attached). bpftrace
 * exiting, the stop signal or the timeout first: the gate closed, the log removed, an error.
 */
async function waitForTracing(file: string, headerBytes: number, tracer: Tracer, target: Target, stopped: Promise<'signal'>): Promise<void> {
  // Switch events may come before the anchor: read on from where we were.
  const attachStart = Date.now();
  let early: 'signal' | undefined;
  void stopped.then(() => {
    early = 'signal';
  });
  const failEarly = (m: string): never => {
    rmSync(file, { force: true });
    throw environment(m);
  };
  for (let pos = headerBytes, tail = ''; ; ) {
    await sleep(20);
    const chunk = readFrom(file, pos, 1 << 20);
    pos += chunk.length;
    const text = tail + chunk.toString('utf8');
    if (/(?:^|\n)\d+ AN \d/.test(text)) break;
    tail = text.slice(text.lastIndexOf('\n') + 1);
    if (tracer.done) {
      target.closeGate();
      const e = await tracer.exit;
      failEarly(`bpftrace exited before tracing started (${e.status}):\n${tracer.stderr.trim() || '(no message)'}`);
    }
    if (early !== undefined || Date.now() - attachStart > ATTACH_TIMEOUT_MS) {
      target.closeGate();
      await stopBpftrace(tracer.proc, tracer.exit);
      failEarly(early !== undefined ? 'stopped before tracing started' : `bpftrace did not start tracing within ${ATTACH_TIMEOUT_MS / 1000} s:\n${tracer.stderr.trim() || '(no message)'}`);
    }
  }
}

/** What ends the recording: the command's exit (with -p, every target gone), the duration, the stop signal; bpftrace ending first is an error. */
async function waitForEnd(durationMs: number | undefined, target: Target, tracer: Tracer, stopped: Promise<'signal'>, file: string): Promise<RecordResult['stoppedBy']> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = durationMs !== undefined ? new Promise<'duration'>((res) => (timer = setTimeout(() => res('duration'), durationMs))) : new Promise<never>(() => {});
  // A command ends the recording when it exits; with -p, when every target process is gone.
  let poll: NodeJS.Timeout | undefined;
  const ended = target.childExit
    ? target.childExit.then(() => 'command-exit' as const)
    : new Promise<'targets-exited'>((res) => {
        poll = setInterval(() => {
          if (!target.pids.some(alive)) res('targets-exited');
        }, 200);
      });
  const why = await Promise.race([ended, timeUp, stopped, tracer.exit.then(() => 'bpftrace-exit' as const)]);
  if (timer) clearTimeout(timer);
  if (poll) clearInterval(poll);
  if (why === 'bpftrace-exit') {
    const e = await tracer.exit;
    throw environment(`bpftrace stopped on its own while tracing (${e.status}); the log ${file} has no "# end" line:\n${tracer.stderr.trim() || '(no message)'}`);
  }
  return why;
}

/** The command's status for the `# end` line: it may still be running (duration, or Ctrl-C it ignores); then it is left alone. */
async function commandStatus(target: Target, why: RecordResult['stoppedBy'], log: (l: string) => void): Promise<string> {
  let exit = '-';
  if (target.childExit) {
    const child = target.child;
    const st = await Promise.race([target.childExit, sleep(why === 'signal' ? 2000 : 0).then(() => undefined)]);
    exit = st ? st.status : 'running';
    if (!st) {
      target.closeGate();
      child?.unref();
      for (const st of child?.stdio ?? []) if (st && 'unref' in st && typeof st.unref === 'function') st.unref();
      log(`the command (pid ${target.pids[0]}) is still running; it is left alone`);
    }
  }
  return exit;
}

/** The log finished: the events counted, bpftrace's dump of its maps cut off, the trailer (tracer pid, second clock reading, `# end`) appended. */
async function closeLog(file: string, headerBytes: number, tracerPid: number | undefined, exit: string, env: NodeJS.ProcessEnv): Promise<Counts> {
  const clockAfter = await readClocks(env);
  const counts = await countEvents(file, headerBytes);
  if (counts.mapDumpAt !== undefined) truncateSync(file, counts.mapDumpAt);
  appendFileSync(file, [...(tracerPid !== undefined ? [headerLine('tracer-pids', String(tracerPid))] : []), ...(clockAfter ? [headerLine('clock', `${clockAfter.bootNs} ${clockAfter.unixNs}`)] : []), endLine(counts.lost, exit), ''].join('\n'));
  return counts;
}

/** The process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

interface ExitStatus {
  /** The exit code, or the signal's name. */
  readonly status: string;
}

function exitOf(c: ChildProcess): Promise<ExitStatus> {
  return new Promise((res) => {
    c.once('exit', (code, signal) => res({ status: signal ?? String(code ?? '?') }));
    c.once('error', (e) => res({ status: `error: ${e.message}` }));
  });
}

async function stopBpftrace(bt: ChildProcess, exited: Promise<ExitStatus>): Promise<{ killed: boolean }> {
  if (bt.exitCode !== null || bt.signalCode !== null) return { killed: false };
  bt.kill('SIGINT');
  const done = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]);
  if (done) return { killed: false };
  bt.kill('SIGKILL');
  await exited;
  return { killed: true };
}

/** A timer that does not keep the process alive (the races below leave some running). */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function readFrom(file: string, offset: number, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

interface Counts {
  events: number;
  byKind: Record<string, number>;
  lost: number;
  firstAnchor?: ClockReading;
  /** Where bpftrace's dump of its maps at exit starts (lines `@map[key]: value` after the last event), if any. */
  mapDumpAt?: number;
}

/** Counts the event lines from byte `from` on (split on \n bytes, so offsets stay exact whatever the comms contain). */
async function countEvents(file: string, from: number): Promise<Counts> {
  const c: Counts = { events: 0, byKind: {}, lost: 0 };
  let offset = from;
  let carry: Buffer = Buffer.alloc(0);
  // The run of blank and `@` lines at the end of the file: bpftrace prints its non-empty maps at
  // exit, and END's clear() is asynchronous in v0.17, so it does not always prevent that.
  let tailStart: number | undefined;
  let tailHasMap = false;
  const line = (l: string, at: number): void => {
    if (l === '' || l.startsWith('@')) {
      if (tailStart === undefined) tailStart = at;
      if (l.startsWith('@')) tailHasMap = true;
      return;
    }
    tailStart = undefined;
    tailHasMap = false;
    const kind = eventLineKind(l);
    if (kind !== undefined) {
      c.events++;
      c.byKind[kind] = (c.byKind[kind] ?? 0) + 1;
      if (kind === 'AN' && !c.firstAnchor) c.firstAnchor = parseAnchorLine(l);
      return;
    }
    const lost = LOST_LINE.exec(l);
    if (lost) c.lost += Number(lost[1]);
  };
  for await (const c of createReadStream(file, { start: from })) {
    const chunk: Buffer = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      line(buf.toString('utf8', start, nl), offset + start);
      start = nl + 1;
    }
    offset += start;
    carry = buf.subarray(start);
  }
  if (carry.length > 0) line(carry.toString('utf8'), offset);
  if (tailStart !== undefined && tailHasMap) c.mapDumpAt = tailStart;
  return c;
}

/** A word as a POSIX shell would need it quoted, for the `# command:` line. */
function shellQuote(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}
