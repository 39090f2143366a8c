// When the tests that need the real bpftrace can run (and, re-exported, running `cpath`).
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

export { cpath, startCpath, type Run } from './cli.js';
