// What the server benchmarks share: processes pinned to a CPU, their CPU time from /proc, the
// Prometheus text of /metrics, and the load generator (ingest-load.ts) driven over IPC.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapacityCmd, LoadCmd, PhaseResult, PoolInfo, SteadyCmd } from './ingest-load.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/test/bench
const ROOT = resolve(HERE, '../../..');
const LOADGEN = join(HERE, 'ingest-load.js');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const HAVE_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
export const NCPU = cpus().length;

export function pinned(cpu: number, args: readonly string[]): { cmd: string; args: string[] } {
  return HAVE_TASKSET && NCPU > cpu ? { cmd: 'taskset', args: ['-c', String(cpu), process.execPath, ...args] } : { cmd: process.execPath, args: [...args] };
}

/** Sum of a metric's samples whose labels contain `match` (e.g. `transport="http"`). */
export function metricValue(text: string, name: string, match = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (match && !rest.includes(match)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export function metricLines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

export const TICKS_PER_S = 100; // USER_HZ

export function cpuTicks(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, every thread
}

export function peakRss(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The load generator

export class Load {
  private readonly waiters: ((m: { type: string; [k: string]: unknown }) => void)[] = [];
  readonly pool: Promise<PoolInfo>;
  readonly child: ChildProcess;
  private closed = false;

  constructor(groups: number) {
    const p = pinned(1, [LOADGEN, String(groups)]);
    this.child = spawn(p.cmd, p.args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('error', (e) => {
      for (const w of this.waiters.splice(0)) w({ type: 'error', message: e.message });
    });
    this.child.on('message', (m: { type: string }) => this.waiters.shift()?.(m));
    this.child.on('exit', (code, sig) => {
      for (const w of this.waiters.splice(0)) w({ type: 'error', message: `the load generator exited (${code ?? sig})` });
    });
    this.pool = this.next().then((m) => {
      if (m.type !== 'ready') throw new Error(`load generator: ${String(m.message)}`);
      return m.pool as PoolInfo;
    });
  }

  private next(): Promise<{ type: string; [k: string]: unknown }> {
    return new Promise((r) => this.waiters.push(r));
  }

  async run(cmd: CapacityCmd | SteadyCmd): Promise<PhaseResult> {
    const reply = this.next();
    this.child.send(cmd satisfies LoadCmd);
    const m = await reply;
    if (m.type !== 'result') throw new Error(`load generator: ${String(m.message)}`);
    return m as unknown as PhaseResult;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.child.connected) this.child.send({ cmd: 'exit' } satisfies LoadCmd, () => undefined);
  }
}

