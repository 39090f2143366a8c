// Generates a synthetic cpath event log (collectors/bpftrace/FORMAT.md) for benchmarks and tests.
//
//   node dist/samples/generate-events.js --events 2000000 --out bench-data/events.log
//   options: --cpus N (default 8), --seed N, --json (bpftrace -f json lines), --stacks
//
// A small scheduler simulation: ~100 threads in 12 processes on N CPUs. Each step advances a
// global clock by 0.2-3 µs and lets one CPU act: its running thread wakes a sleeper (task
// context), is interrupted by an interrupt that wakes one (hardirq / NET_RX / TIMER / BLOCK /
// hrtimer), enters or returns from a probed function, spawns a thread, exits, is renamed, or
// switches out (preempted 30 %, S 50 %, D 10 %, I 10 %; with --stacks a user stack before a
// sleep); an idle CPU picks a runnable thread or takes an interrupt. Lines are buffered per CPU
// and flushed in blocks of 16-256, like bpftrace's per-CPU buffers, so the output is not in
// time order across CPUs. AN anchors every second of simulated time, a `Lost N events` line now
// and then, the `# cpath-events` header with `# clock:` readings, and `# end`.
//
// Deterministic: the same arguments write the same bytes. `<out>.partial` is renamed when complete.
import { createWriteStream, mkdirSync, renameSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from './generate-big.js';

export interface GenerateEventsOptions {
  readonly events: number;
  readonly out: string;
  readonly cpus?: number;
  readonly seed?: number;
  readonly json?: boolean;
  readonly stacks?: boolean;
}

export interface GenerateEventsSummary {
  readonly events: number;
  readonly lines: number;
  readonly bytes: number;
  readonly lost: number;
}

/** CLOCK_BOOTTIME at the start: ~34.7 days of uptime, so timestamps have 16 digits. */
const BOOT0 = 3_000_000_123_456_789;
/** CLOCK_REALTIME - CLOCK_BOOTTIME. */
const UNIX_OFFSET_NS = 1_763_632_800_000_000_000n - 3_000_000_000_000_000n;
const FUNCS = ['handle_request', 'parse_json', 'query_db', 'encode_row', 'uv_queue_work', 'compress'];
const PROCS = ['node', 'postgres', 'nginx', 'Web Content', 'java', 'redis-server', 'python3', 'kworker/u16:2', 'sshd', 'envoy', 'Chrome_IOThread', 'rustc'];
const IRQ_CTX = ['softirq:3', 'softirq:3', 'softirq:1', 'hrtimer', 'hardirq:27', 'softirq:4', 'softirq:2', 'softirq:9'];

interface Th {
  tid: number;
  pid: number;
  comm: string;
  depth: string[];
}

export async function generateEvents(opts: GenerateEventsOptions): Promise<GenerateEventsSummary> {
  const rng = new Rng(opts.seed ?? 20261120);
  const ncpu = opts.cpus ?? 8;
  const json = opts.json ?? false;
  const stacks = opts.stacks ?? false;
  const out = resolve(opts.out);
  mkdirSync(dirname(out), { recursive: true });
  const partial = `${out}.partial`;
  const ws: WriteStream = createWriteStream(partial);
  let bytes = 0;
  let lines = 0;
  let pendingText: string[] = [];
  let pendingLen = 0;
  const write = async (s: string): Promise<void> => {
    pendingText.push(s);
    pendingLen += s.length;
    if (pendingLen > 1 << 20) await flushOut();
  };
  const flushOut = async (): Promise<void> => {
    if (pendingText.length === 0) return;
    const buf = Buffer.from(pendingText.join(''), 'utf8');
    pendingText = [];
    pendingLen = 0;
    bytes += buf.length;
    if (!ws.write(buf)) await once(ws, 'drain');
  };
  const wrap = (line: string): string => {
    lines++;
    // bpftrace v0.17's exact json shape (spaces after the colons and the comma).
    return json ? `{"type": "printf", "data": ${JSON.stringify(`${line}\n`)}}\n` : `${line}\n`;
  };

  // Header (cpath record writes it as text even in json mode).
  const clock0 = BigInt(BOOT0 - 5_000_000);
  await write(
    [
      '# cpath-events 1',
      '# host: bench-host',
      '# kernel: 6.18.0-synthetic',
      '# bpftrace: bpftrace v0.17.0',
      '# command: synthetic',
      '# target-pids: 1000 1100',
      '# scope: system',
      `# stacks: ${stacks ? 'on' : 'off'}`,
      `# clock: ${clock0} ${clock0 + UNIX_OFFSET_NS}`,
      `# probes: ${FUNCS.map((f) => `uprobe:/usr/bin/node:${f}`).join(' ')}`,
      '',
    ].join('\n'),
  );
  lines += 10;
  if (json) await write('{"type": "attached_probes", "data": {"probes": 14}}\n');
  else await write('Attaching 14 probes...\n');
  lines++;

  // Threads.
  let nextTid = 1000;
  const procs: { pid: number; name: string; threads: number }[] = [];
  const all: Th[] = [];
  for (const name of PROCS) {
    const pid = nextTid;
    nextTid += 100;
    const count = 4 + rng.int(0, 12);
    procs.push({ pid, name, threads: count });
    for (let k = 0; k < count; k++) all.push({ tid: pid + k, pid, comm: k === 0 ? name : `${name.slice(0, 10)}-w${k}`, depth: [] });
  }
  let tidCursor = nextTid;
  const runq: Th[] = [];
  const sleepers: Th[] = [];
  for (const th of all) (rng.chance(0.3) ? runq : sleepers).push(th);
  const curr: (Th | undefined)[] = new Array(ncpu).fill(undefined);
  const bufs: string[][] = Array.from({ length: ncpu }, () => []);
  const flushAt: number[] = Array.from({ length: ncpu }, () => rng.int(16, 256));

  let t = BOOT0;
  let nextAnchor = BOOT0;
  let events = 0;
  let lost = 0;
  const take = (list: Th[]): Th | undefined => {
    if (list.length === 0) return undefined;
    const i = rng.int(0, list.length - 1);
    const th = list[i] as Th;
    list[i] = list[list.length - 1] as Th;
    list.pop();
    return th;
  };
  const emit = async (cpu: number, line: string): Promise<void> => {
    const b = bufs[cpu] as string[];
    b.push(wrap(line));
    events++;
    if (b.length >= (flushAt[cpu] as number)) {
      await write(b.join(''));
      b.length = 0;
      flushAt[cpu] = rng.int(16, 256);
    }
  };

  while (events < opts.events) {
    t += rng.int(200, 3000);
    const cpu = rng.int(0, ncpu - 1);
    if (t >= nextAnchor) {
      const unix = BigInt(t) + UNIX_OFFSET_NS;
      const usec = (unix % 1_000_000_000n) / 1000n;
      await emit(cpu, `${t} AN ${unix / 1_000_000_000n}.${usec.toString().padStart(6, '0')}`);
      nextAnchor += 1_000_000_000;
      continue;
    }
    if (rng.chance(0.000002)) {
      const n = rng.int(1, 5000);
      lost += n;
      await write(json ? `{"type": "lost_events", "data": {"events": ${n}}}\n` : `Lost ${n} events\n`);
      lines++;
    }
    const cur = curr[cpu];
    if (cur === undefined) {
      const next = take(runq);
      if (next !== undefined) {
        curr[cpu] = next;
        await emit(cpu, `${t} SW ${cpu} 0 0 0 ${next.tid} swapper/${cpu}\t${next.comm}`);
      } else {
        const w = take(sleepers);
        if (w !== undefined) {
          runq.push(w);
          await emit(cpu, `${t} WK ${cpu} 0 0 ${w.tid} ${rng.pick(IRQ_CTX)} swapper/${cpu}\t${w.comm}`);
        }
      }
      continue;
    }
    const r = rng.float();
    if (r < 0.22) {
      const w = take(sleepers);
      if (w !== undefined) {
        runq.push(w);
        await emit(cpu, `${t} WK ${cpu} ${cur.pid} ${cur.tid} ${w.tid} - ${cur.comm}\t${w.comm}`);
        continue;
      }
    } else if (r < 0.28) {
      const w = take(sleepers);
      if (w !== undefined) {
        runq.push(w);
        await emit(cpu, `${t} WK ${cpu} ${cur.pid} ${cur.tid} ${w.tid} ${rng.pick(IRQ_CTX)} ${cur.comm}\t${w.comm}`);
        continue;
      }
    } else if (r < 0.44) {
      if (cur.depth.length > 0 && (cur.depth.length >= 4 || rng.chance(0.5))) {
        await emit(cpu, `${t} UX ${cpu} ${cur.pid} ${cur.tid} ${cur.depth.pop()}`);
      } else {
        const f = rng.pick(FUNCS);
        cur.depth.push(f);
        await emit(cpu, `${t} UE ${cpu} ${cur.pid} ${cur.tid} ${f}`);
      }
      continue;
    } else if (r < 0.445) {
      const child: Th = { tid: tidCursor++, pid: cur.pid, comm: cur.comm, depth: [] };
      runq.push(child);
      await emit(cpu, `${t} WN ${cpu} ${cur.pid} ${cur.tid} ${child.tid} ${child.comm}`);
      continue;
    } else if (r < 0.449 && cur.tid !== cur.pid) {
      await emit(cpu, `${t} EX ${cpu} ${cur.pid} ${cur.tid} ${cur.comm}`);
      t += rng.int(1000, 5000);
      const next = take(runq);
      curr[cpu] = next;
      await emit(cpu, `${t} SW ${cpu} ${cur.pid} ${cur.tid} 16 ${next?.tid ?? 0} ${cur.comm}\t${next === undefined ? `swapper/${cpu}` : next.comm}`);
      continue;
    } else if (r < 0.4495) {
      cur.comm = `${cur.comm.slice(0, 8)}-r${rng.int(0, 99)}`;
      await emit(cpu, `${t} RN ${cpu} ${cur.pid} ${cur.tid} ${cur.comm}`);
      continue;
    }
    // Switch out.
    const k = rng.float();
    const state = k < 0.2 ? 0 : k < 0.3 ? 0x100 : k < 0.8 ? 1 : k < 0.9 ? 2 : 0x80;
    if (state & 0xff) {
      if (stacks && rng.chance(0.5)) {
        await emit(cpu, `${t} ST ${cpu} ${cur.pid} ${cur.tid} u\n        __futex_wait+0x1a\n        pthread_cond_wait+0x2b1\n        ${rng.pick(FUNCS)}+0x44\n`);
      }
      sleepers.push(cur);
    } else {
      runq.push(cur);
    }
    const next = take(runq);
    curr[cpu] = next;
    await emit(cpu, `${t} SW ${cpu} ${cur.pid} ${cur.tid} ${state} ${next?.tid ?? 0} ${cur.comm}\t${next === undefined ? `swapper/${cpu}` : next.comm}`);
  }
  for (const b of bufs) if (b.length > 0) await write(b.join(''));
  await write(`# end lost=${lost} exit=0\n`);
  lines++;
  await flushOut();
  ws.end();
  await once(ws, 'finish');
  renameSync(partial, out);
  return { events, lines, bytes, lost };
}

function arg(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const out = arg(argv, '--out');
  const events = Number(arg(argv, '--events') ?? '2000000');
  if (out === undefined || !Number.isInteger(events) || events <= 0) {
    process.stderr.write('usage: generate-events --events N --out FILE [--cpus N] [--seed N] [--json] [--stacks]\n');
    process.exit(2);
  }
  const cpus = arg(argv, '--cpus');
  const seed = arg(argv, '--seed');
  const summary = await generateEvents({
    events,
    out,
    ...(cpus !== undefined ? { cpus: Number(cpus) } : {}),
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    json: argv.includes('--json'),
    stacks: argv.includes('--stacks'),
  });
  process.stdout.write(`${out}: ${summary.events} events, ${summary.lines} lines, ${summary.bytes} bytes, ${summary.lost} lost\n`);
}
