// When the tests that need the real bpftrace can run, and running `cpath` from the repository.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // next
    }
  }
  return undefined;
}

/** Why bpftrace tests cannot run here, or undefined when they can. Printed once when they are skipped. */
export function bpftraceSkipReason(): string | undefined {
  const why = reason();
  if (why !== undefined && !warned) {
    warned = true;
    process.stderr.write(`\n*** bpftrace tests SKIPPED: ${why} ***\n\n`);
  }
  return why;
}
let warned = false;

function reason(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (!onPath('bpftrace')) return 'bpftrace is not installed (apt-get install -y bpftrace)';
  let caps = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    caps = m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 'no /proc/self/status';
  }
  const has = (bit: bigint): boolean => ((caps >> bit) & 1n) === 1n;
  if (!has(21n) && !(has(38n) && has(39n))) return 'not root (no CAP_SYS_ADMIN, nor CAP_BPF + CAP_PERFMON)';
  return undefined;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `node bin/cpath.js ARGS` from the repository root (the CLI runs from dist/). */
export function startCpath(args: readonly string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ['bin/cpath.js', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
  return { child, done };
}

export function cpath(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return startCpath(args, env).done;
}
