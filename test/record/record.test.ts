// `cpath record` end to end: the real CLI (node bin/cpath.js, from dist/), the real bpftrace and a
// real multi-threaded workload (samples/threads/handoff.c, compiled here). The tests that need
// bpftrace are skipped, with the reason printed, where it is missing or not permitted; the usage
// and environment errors are checked everywhere.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, bpftraceSkipReason, cpath, onPath, startCpath, type Run } from '../helpers/bpftrace.js';

const dir = mkdtempSync(join(tmpdir(), 'cpath-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** No JavaScript stack trace on stderr: a user's mistake gets a message, not a crash. */
function noStack(r: Run): void {
  expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(r.stderr).not.toContain('internal error');
}

// The grammar of collectors/bpftrace/FORMAT.md, line by line.
const LINE: [string, RegExp][] = [
  ['header', /^# cpath-events 1$/],
  ['end', /^# end lost=\d+ exit=\S+$/],
  ['key', /^# [a-z-]+: .*$/],
  ['SW', /^\d+ SW \d+ \d+ \d+ -?\d+ \d+ [^\t]*\t[^\t]*$/],
  ['WK', /^\d+ WK \d+ \d+ \d+ \d+ (?:-|hardirq:\d+|softirq:\d|hrtimer) [^\t]*\t[^\t]*$/],
  ['WN', /^\d+ WN \d+ \d+ \d+ \d+ .*$/],
  ['EX', /^\d+ EX \d+ \d+ \d+ .*$/],
  ['RN', /^\d+ RN \d+ \d+ \d+ .*$/],
  ['UE', /^\d+ UE \d+ \d+ \d+ [\w.$@]+$/],
  ['UX', /^\d+ UX \d+ \d+ \d+ [\w.$@]+$/],
  ['US', /^\d+ US \d+ \d+ \d+ [\w.$@]+:[\w.$@]+$/],
  ['AN', /^\d+ AN \d+\.\d{6}$/],
  ['ST', /^\d+ ST \d+ \d+ \d+ [uk]$/],
  ['frame', /^\s+\S/],
  ['attaching', /^Attaching \d+ probes?\.\.\.$/],
  ['lost', /^Lost \d+ events$/],
  ['blank', /^$/],
];

interface Ev {
  ts: bigint;
  kind: string;
  f: string[];
  comms: string[];
}

/** Checks every line against the grammar; returns the events and the `#` lines. */
function parseLog(text: string): { events: Ev[]; header: Map<string, string[]>; end: string | undefined; kinds: Map<string, number> } {
  const lines = text.split('\n');
  expect(lines.pop(), 'the log ends with a newline').toBe('');
  const bad = lines.map((l, i) => [i + 1, l] as const).filter(([, l]) => !LINE.some(([, re]) => re.test(l)));
  expect(bad.slice(0, 5), 'lines that are not in FORMAT.md').toEqual([]);
  const header = new Map<string, string[]>();
  const kinds = new Map<string, number>();
  const events: Ev[] = [];
  let end: string | undefined;
  for (const l of lines) {
    if (l.startsWith('# end')) end = l;
    const h = /^# ([a-z-]+): (.*)$/.exec(l);
    if (h) header.set(h[1] ?? '', [...(header.get(h[1] ?? '') ?? []), h[2] ?? '']);
    const m = /^(\d+) ([A-Z]{2}) (.*)$/.exec(l);
    if (!m) continue;
    const kind = m[2] ?? '';
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    const rest = m[3] ?? '';
    const [fields, ...comms] = rest.split('\t');
    const f = (fields ?? '').split(' ');
    events.push({ ts: BigInt(m[1] ?? '0'), kind, f, comms: [f.slice(kind === 'SW' ? 5 : kind === 'WK' ? 5 : 3).join(' '), ...comms] });
  }
  return { events, header, end, kinds };
}

describe('cpath record: usage errors (exit 2, one message, no stack trace)', () => {
  const cases: [string, string[], RegExp][] = [
    ['no target', ['record', '-o', join(dir, 'x.log')], /nothing to trace: give -p PID or -- COMMAND/],
    ['no output', ['record', '--', 'true'], /give the event log to write with -o FILE/],
    ['-p and a command', ['record', '-p', '1', '-o', join(dir, 'x.log'), '--', 'true'], /give -p PID or -- COMMAND, not both/],
    ['-p not a number', ['record', '-p', 'abc', '-o', join(dir, 'x.log')], /-p: "abc" is not a process id/],
    ['-p no such process', ['record', '-p', '999999999', '-o', join(dir, 'x.log')], /-p 999999999: no such process/],
    ['--uprobe without a function', ['record', '--uprobe', 'serve_order', '-o', join(dir, 'x.log'), '--', 'true'], /--uprobe "serve_order": expected BINARY:FUNCTION/],
    ['--uprobe binary missing', ['record', '--uprobe', './no/such/bin:f', '-o', join(dir, 'x.log'), '--', 'true'], /--uprobe: \.\/no\/such\/bin does not exist/],
    ['--uprobe bad name', ['record', '--uprobe', `${process.execPath}:a b`, '-o', join(dir, 'x.log'), '--', 'true'], /function "a b" is not a plain symbol name/],
    ['--usdt syntax', ['record', '--usdt', `${process.execPath}:probe`, '-o', join(dir, 'x.log'), '--', 'true'], /--usdt ".*:probe": expected BINARY:PROVIDER:PROBE/],
    ['--duration', ['record', '--duration', 'soon', '-o', join(dir, 'x.log'), '--', 'true'], /--duration: "soon" is not a duration/],
    ['command not found', ['record', '-o', join(dir, 'x.log'), '--', 'no-such-command-xyz'], /command "no-such-command-xyz" not found on PATH/],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const r = await cpath(args);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      noStack(r);
    });
  }
});

describe('cpath record: environment errors (exit 1, what to do)', () => {
  it('bpftrace missing from PATH: the install command', async () => {
    const r = await cpath(['record', '-o', join(dir, 'x.log'), '--', '/bin/true'], { ...process.env, PATH: join(dir, 'empty-path') });
    expect(r.stderr).toMatch(/^cpath: bpftrace is not installed \(not found on PATH\); install it: `apt-get install -y bpftrace`/m);
    expect(r.code).toBe(1);
    noStack(r);
    expect(existsSync(join(dir, 'x.log')), 'no log written').toBe(false);
  });

  it.skipIf(!onPath('setpriv') || !onPath('bpftrace') || process.getuid?.() !== 0)('not permitted (run as nobody): says root or CAP_BPF', async () => {
    const r = await new Promise<Run>((resolve) => {
      const c = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, 'bin/cpath.js', 'record', '-o', join(dir, 'nobody.log'), '--', '/bin/true'], { cwd: ROOT });
      let stderr = '';
      c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      c.on('close', (code, signal) => resolve({ code, signal, stdout: '', stderr }));
    });
    expect(r.stderr).toMatch(/record needs root \(or the capabilities CAP_BPF and CAP_PERFMON\).*running as uid 65534: run it with sudo/);
    expect(r.code).toBe(1);
    noStack(r);
  });
});

const skip = bpftraceSkipReason() ?? (onPath('gcc') ? undefined : 'gcc is not installed (needed to build samples/threads/handoff.c)');
describe.skipIf(skip !== undefined)(`cpath record with the real bpftrace${skip !== undefined ? ` (SKIPPED: ${skip})` : ''}`, () => {
  const bin = join(dir, 'handoff');
  let usdt = false;
  beforeAll(() => {
    execFileSync('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-pthread', '-o', bin, join(ROOT, 'samples/threads/handoff.c')]);
    // The USDT probe is there when <sys/sdt.h> was (systemtap-sdt-dev).
    usdt = execFileSync('bpftrace', ['-l', `usdt:${bin}:*`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('handoff:request_done');
    if (!usdt) process.stderr.write('\n*** USDT check SKIPPED: handoff built without <sys/sdt.h> (apt-get install -y systemtap-sdt-dev) ***\n\n');
  });
  const FUNCS = ['serve_order', 'validate', 'query', 'encode_row'];
  const uprobes = (): string[] => FUNCS.flatMap((f) => ['--uprobe', `${bin}:${f}`]);

  it('system-wide, with uprobes: the handoff chain is in the log (switches, wakeups with their context, calls)', async () => {
    const out = join(dir, 'handoff.log');
    const r = await cpath(['record', ...uprobes(), '-o', out, '--', bin, '3']);
    noStack(r);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/request 2: /); // the command's own output passes through
    expect(r.stderr).toMatch(/cpath record: \d+ events \(.*\) in [\d.]+ s to .*handoff\.log/);
    expect(r.stderr).toMatch(/command exit status: 0/);
    const log = parseLog(readFileSync(out, 'utf8'));
    const pid = Number(log.header.get('target-pids')?.[0]);
    expect(pid).toBeGreaterThan(0);
    expect(log.header.get('command')).toEqual([`${bin} 3`]);
    expect(log.header.get('scope')).toEqual(['system']);
    expect(log.header.get('stacks')).toEqual(['off']);
    expect(log.header.get('bpftrace')?.[0]).toMatch(/^bpftrace v\d+\.\d+/);
    expect(log.header.get('probes')).toEqual([FUNCS.map((f) => `uprobe:${bin}:${f}`).join(' ')]);
    if (onPath('python3')) {
      const clocks = log.header.get('clock') ?? [];
      expect(clocks).toHaveLength(2);
      const [b0, u0] = (clocks[0] ?? '').split(' ').map(BigInt);
      const [b1, u1] = (clocks[1] ?? '').split(' ').map(BigInt);
      // Boot and Unix time advance together between the two readings (no clock jumps in a test run).
      expect(Number((u1 ?? 0n) - (u0 ?? 0n) - ((b1 ?? 0n) - (b0 ?? 0n))) / 1e6).toBeLessThan(5);
      // bpftrace's BEGIN anchor agrees with cpath's own reading (v0.17's 1 s rounding bug aside).
      const an = log.events.find((e) => e.kind === 'AN');
      const [s, us] = (an?.f[0] ?? '0.0').split('.');
      const anchorOffset = BigInt(s ?? '0') * 1_000_000_000n + BigInt(us ?? '0') * 1000n - (an?.ts ?? 0n);
      const diffMs = Math.abs(Number(anchorOffset - ((u0 ?? 0n) - (b0 ?? 0n))) / 1e6);
      expect(Math.min(diffMs, Math.abs(diffMs - 1000))).toBeLessThan(1);
    }
    const lostLines = readFileSync(out, 'utf8').match(/^Lost (\d+) events$/gm) ?? [];
    const lost = lostLines.reduce((n, l) => n + Number(/\d+/.exec(l)?.[0]), 0);
    expect(log.end).toBe(`# end lost=${lost} exit=0`);

    // Threads: the probed calls tell which thread is which.
    const calls = (fn: string, k: 'UE' | 'UX'): Ev[] => log.events.filter((e) => e.kind === k && e.f[3] === fn && Number(e.f[1]) === pid);
    for (const fn of FUNCS) {
      expect(calls(fn, 'UE'), `${fn} entries`).toHaveLength(3);
      expect(calls(fn, 'UX'), `${fn} returns`).toHaveLength(3);
    }
    const tidOf = (fn: string): number => Number(calls(fn, 'UE')[0]?.f[2]);
    const acceptor = tidOf('serve_order');
    const worker = tidOf('validate');
    const db = tidOf('query');
    expect(acceptor).toBe(pid);
    expect(new Set([acceptor, worker, db]).size).toBe(3);
    expect(tidOf('encode_row')).toBe(db);
    // Renames (exec, then pthread_setname_np) and thread creations.
    const renames = log.events.filter((e) => e.kind === 'RN' && Number(e.f[1]) === pid).map((e) => `${e.f[2]} ${e.comms[0]}`);
    expect(renames).toEqual(expect.arrayContaining([`${pid} acceptor`, `${worker} worker`, `${db} db-pool`]));
    expect(log.events.filter((e) => e.kind === 'WN' && Number(e.f[1]) === pid).map((e) => Number(e.f[3])).sort()).toEqual([worker, db].sort());
    // Wakeups: acceptor -> worker and worker -> db-pool by the task itself (ctx "-"), the end of
    // query's nanosleep from the timer interrupt (ctx hrtimer), db-pool -> acceptor.
    const wakes = (waker: number, wakee: number, ctx: string): number => log.events.filter((e) => e.kind === 'WK' && Number(e.f[2]) === waker && Number(e.f[3]) === wakee && e.f[4] === ctx).length;
    // The first hand-off may find a thread that has not started waiting yet (a loaded machine
    // starts threads late): then no wakeup is needed. Every later one waits for it.
    expect(wakes(acceptor, worker, '-')).toBeGreaterThanOrEqual(2);
    expect(wakes(worker, db, '-')).toBeGreaterThanOrEqual(2);
    expect(wakes(db, acceptor, '-')).toBeGreaterThanOrEqual(3);
    expect(log.events.filter((e) => e.kind === 'WK' && Number(e.f[3]) === db && e.f[4] === 'hrtimer').length).toBeGreaterThanOrEqual(3);
    // Switches: db-pool goes to sleep (S) in query; the exits at the end.
    expect(log.events.filter((e) => e.kind === 'SW' && Number(e.f[2]) === db && e.f[3] === '1').length).toBeGreaterThanOrEqual(3);
    expect(log.events.filter((e) => e.kind === 'EX' && Number(e.f[1]) === pid).map((e) => Number(e.f[2])).sort()).toEqual([acceptor, worker, db].sort());
  });

  it('--target-only --stacks (and --usdt): only the target\'s events, stacks before blocking switches', async () => {
    const out = join(dir, 'handoff-target.log');
    const r = await cpath(['record', '--target-only', '--stacks', ...uprobes(), ...(usdt ? ['--usdt', `${bin}:handoff:request_done`] : []), '-o', out, '--', bin, '2']);
    noStack(r);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    const log = parseLog(text);
    expect(log.header.get('scope')).toEqual(['target-only']);
    expect(log.header.get('stacks')).toEqual(['on']);
    const pid = Number(log.header.get('target-pids')?.[0]);
    const tids = new Set(log.events.filter((e) => ['UE', 'RN', 'EX'].includes(e.kind)).map((e) => Number(e.f[2])));
    for (const e of log.events.filter((x) => x.kind === 'SW')) {
      expect(Number(e.f[1]) === pid || tids.has(Number(e.f[4])), `switch not involving the target: ${e.f.join(' ')}`).toBe(true);
    }
    for (const e of log.events.filter((x) => x.kind === 'WK')) {
      expect(tids.has(Number(e.f[3])) || (Number(e.f[1]) === pid && e.f[4] === '-'), `wakeup not involving the target: ${e.f.join(' ')}`).toBe(true);
    }
    // Every ST pair (k then u) is followed by the SW of the same thread at the same time, in state S or D.
    const lines = text.split('\n');
    let stacks = 0;
    for (let i = 0; i < lines.length; i++) {
      const m = /^(\d+) ST (\d+) (\d+) (\d+) k$/.exec(lines[i] ?? '');
      if (!m) continue;
      let j = i + 1;
      while (/^\s/.test(lines[j] ?? '')) j++;
      // Stopping bpftrace may cut the last pair after its kernel half: only the trailer follows.
      if ((lines[j] ?? '').startsWith('#')) break;
      stacks++;
      expect(lines[j]).toMatch(new RegExp(`^${m[1]} ST ${m[2]} ${m[3]} ${m[4]} u$`));
      j++;
      while (/^\s/.test(lines[j] ?? '')) j++;
      expect(lines[j]).toMatch(new RegExp(`^${m[1]} SW ${m[2]} ${m[3]} ${m[4]} [12] `));
      expect(Number(m[3])).toBe(pid);
    }
    expect(stacks).toBeGreaterThanOrEqual(4);
    expect(text).toMatch(/^\s+(?:futex_wait|__futex_wait|do_nanosleep|hrtimer_nanosleep)\+\d+$/m); // a kernel frame
    if (usdt) {
      expect(log.header.get('probes')?.[0]).toContain(`usdt:${bin}:handoff:request_done`);
      expect(log.events.filter((e) => e.kind === 'US' && e.f[3] === 'handoff:request_done' && Number(e.f[2]) === pid)).toHaveLength(2);
    }
    expect(log.end).toMatch(/^# end lost=\d+ exit=0$/);
  });

  it('-o FILE.gz: the log is compressed at the end; `sleep` sleeps on a timer', async () => {
    const out = join(dir, 'sleep.log.gz');
    const r = await cpath(['record', '-o', out, '--', 'sleep', '0.2']);
    noStack(r);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(`${out}.part`)).toBe(false);
    const log = parseLog(gunzipSync(readFileSync(out)).toString('utf8'));
    const pid = Number(log.header.get('target-pids')?.[0]);
    expect(log.header.get('command')).toEqual(['sleep 0.2']);
    expect(log.events.some((e) => e.kind === 'SW' && Number(e.f[2]) === pid && e.f[3] === '1' && e.comms[0] === 'sleep')).toBe(true);
    expect(log.events.some((e) => e.kind === 'WK' && Number(e.f[3]) === pid && e.f[4] === 'hrtimer')).toBe(true);
    expect(log.events.some((e) => e.kind === 'EX' && Number(e.f[2]) === pid)).toBe(true);
    expect(log.end).toMatch(/^# end lost=\d+ exit=0$/);
  });

  it('-p PID --duration: attaches to a running process and stops after the duration', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const out = join(dir, 'attach.log');
      const started = Date.now();
      const r = await cpath(['record', '-p', String(sleeper.pid), '--duration', '300ms', '-o', out]);
      noStack(r);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/the duration elapsed/);
      expect(Date.now() - started).toBeLessThan(30_000);
      const log = parseLog(readFileSync(out, 'utf8'));
      expect(log.header.get('command')).toEqual(['attach']);
      expect(log.header.get('target-pids')).toEqual([String(sleeper.pid)]);
      expect(log.end).toMatch(/^# end lost=\d+ exit=-$/);
      expect(sleeper.exitCode, 'the process is left running').toBe(null);
    } finally {
      sleeper.kill();
    }
  });

  it('-p PID without --duration: stops when the process exits', async () => {
    // The target exits once tracing is on (a fixed sleep can end before bpftrace has attached on
    // a loaded machine): it waits for its stdin to close.
    const sleeper = spawn('sh', ['-c', 'read _'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const out = join(dir, 'attach-exit.log');
    const { child, done } = startCpath(['record', '-p', String(sleeper.pid), '--target-only', '-o', out]);
    child.stderr?.on('data', (c: Buffer) => {
      if (c.toString('utf8').includes('tracing pid')) sleeper.stdin?.end();
    });
    const r = await done;
    noStack(r);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/until they exit or Ctrl-C/);
    expect(r.stderr).toMatch(/the traced processes exited/);
    const log = parseLog(readFileSync(out, 'utf8'));
    expect(log.events.some((e) => e.kind === 'EX' && Number(e.f[1]) === sleeper.pid)).toBe(true);
    expect(log.end).toMatch(/^# end lost=\d+ exit=-$/);
  });

  it('bpftrace failing at start: its message, exit 1, no log left behind', async () => {
    const out = join(dir, 'fail.log');
    const r = await cpath(['record', '-o', out, '--', '/bin/true'], { ...process.env, BPFTRACE_PERF_RB_PAGES: 'abc' });
    expect(r.stderr).toMatch(/^cpath: bpftrace exited before tracing started \(1\):\n.*BPFTRACE_PERF_RB_PAGES/m);
    expect(r.code).toBe(1);
    noStack(r);
    expect(existsSync(out)).toBe(false);
  });

  it('SIGINT to cpath: tracing stops cleanly, the command (which did not get it) is left running', async () => {
    const out = join(dir, 'sigint.log');
    const { child, done } = startCpath(['record', '-o', out, '--', 'sleep', '20']);
    let stderr = '';
    let sent = false;
    let ended = false;
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (!sent && /tracing pid/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
      // The command shares cpath's stderr: end it once cpath has let go of it, so the pipe closes.
      const left = /the command \(pid (\d+)\) is still running; it is left alone/.exec(stderr);
      if (left && !ended) {
        ended = true;
        try {
          process.kill(Number(left[1]), 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
    });
    const r = await done;
    noStack(r);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/SIGINT: stopping/);
    expect(r.stderr).toMatch(/stopped by a signal/);
    const log = parseLog(readFileSync(out, 'utf8'));
    expect(log.end).toMatch(/^# end lost=\d+ exit=running$/);
    expect(r.stderr).toContain(`the command (pid ${log.header.get('target-pids')?.[0]}) is still running; it is left alone`);
  });

  it('a function bpftrace cannot find is a usage error, before anything runs', async () => {
    const r = await cpath(['record', '--uprobe', `${bin}:no_such_function`, '-o', join(dir, 'nf.log'), '--', bin, '1']);
    expect(r.stderr).toContain(`--uprobe ${bin}:no_such_function: bpftrace finds no function no_such_function in ${bin}`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(''); // the command never ran
    noStack(r);
  });
});
