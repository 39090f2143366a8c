// The bpftrace program behind `cpath record`: prints the event lines of FORMAT.md (next to this
// file). Written for bpftrace v0.17 (`args->field`, no `args.field`), see
// docs/bpftrace.md for the facts it relies on:
//
// - `nsecs` is CLOCK_BOOTTIME; anchors print one `nsecs` value as Unix time via strftime.
// - The waker is current in `sched_waking`, except inside an interrupt: the interrupt context is
//   rebuilt per CPU from irq/softirq/hrtimer entry and exit (a small stack per CPU, reset at every
//   sched_switch since no switch happens inside an interrupt).
// - Self-noise: bpftrace is woken for every event it prints, so only its own switches to and from
//   idle (and its own wakeups) are dropped; its other switches carry other threads' states.
// - Every printf has few arguments (the 512-byte BPF stack) and prints one line.
// - uretprobes print the function name as a literal: `func` there names the caller.
//
// Targets: the map @tp holds target processes (tgids), seeded in BEGIN and extended with every
// process a target forks (task_newtask without CLONE_THREAD). @tt holds target threads: seeded
// with the threads known at start, extended when a target thread runs (it is current in
// sched_switch) or is created, deleted when it exits. With targetOnly, only events involving a
// target are printed.

import { eventPrintf, type EventLineKind } from '../../src/model/event-log.js';

export interface UprobeSpec {
  /** Path of the executable or library (as bpftrace accepts it: absolute path or library name). */
  readonly binary: string;
  readonly function: string;
}

export interface UsdtSpec {
  readonly binary: string;
  readonly provider: string;
  readonly probe: string;
}

export interface ScriptOptions {
  /**
   * Target processes (tgids), known when bpftrace starts. Undefined when none is known: then a
   * process becomes a target when it hits one of the uprobes or USDT probes.
   */
  readonly targetPids?: readonly number[];
  /** Threads of the targets that already exist (so their first wakeup is kept with targetOnly). */
  readonly targetTids?: readonly number[];
  /**
   * bpftrace's own pid, for the self-noise filter. Undefined: read from positional parameter $1
   * (`bpftrace -e PROGRAM PID`), which is how `cpath record` passes it: it starts bpftrace with
   * `exec` from a shell whose pid it knows only once spawned.
   */
  readonly bpftracePid?: number;
  /** When this process's main thread exits, bpftrace exits too (cpath passes its own pid: no tracer outlives it). */
  readonly ownerPid?: number;
  readonly uprobes: readonly UprobeSpec[];
  readonly usdt: readonly UsdtSpec[];
  /** Print `ST` lines (kernel and user stacks) when a target thread blocks in state S or D. */
  readonly stacks: boolean;
  /** Print only switches, wakeups, creations, exits and renames that involve a target thread. */
  readonly targetOnly: boolean;
  /** Period of the `AN` anchor lines (one is also printed in BEGIN). */
  readonly anchorIntervalMs: number;
}

/** A name or path that cannot be put into a bpftrace program safely. */
export class ScriptError extends Error {}

const NAME = /^[A-Za-z_.$][A-Za-z0-9_.$@]*$/;
const BINARY = /^[A-Za-z0-9_./+-]+$/;

/** Checks a function, provider or probe name; returns it. */
export function checkProbeName(what: string, v: string): string {
  if (!NAME.test(v)) throw new ScriptError(`${what} "${v}" is not a plain symbol name (letters, digits, _ . $ @; C++ names must be given mangled)`);
  return v;
}

/** Checks a binary path or library name; returns it. */
export function checkBinary(v: string): string {
  if (!BINARY.test(v)) throw new ScriptError(`binary "${v}" contains characters bpftrace cannot take in a probe name (allowed: letters, digits, _ . / + -)`);
  return v;
}

function checkIds(what: string, ids: readonly number[] | undefined): void {
  for (const id of ids ?? []) if (!Number.isSafeInteger(id) || id <= 0) throw new ScriptError(`${what}: ${id} is not a process or thread id`);
}

// Interrupt context codes kept per CPU in @cx[cpu, depth]: kind << 16 | number.
const CTX_HARDIRQ = 0x10000;
const CTX_SOFTIRQ = 0x20000;
const CTX_HRTIMER = 0x30000;
const MAX_CTX_DEPTH = 4;

// Task states: S and D (the switch-out of a thread that blocks).
const BLOCKING_STATES = 0x3;
// prev_state & 0xff == 0: still runnable (0x100 marks preemption).
const RUNNABLE_MASK = 0xff;
/** bpftrace slices shorter than this, between two switches of the same preempted task, are hidden. */
export const SHORT_SELF_SLICE_NS = 100_000;
const CLONE_THREAD = 0x10000;

/** The bpftrace program text for these options. */
export function buildScript(o: ScriptOptions): string {
  if (!Number.isSafeInteger(o.anchorIntervalMs) || o.anchorIntervalMs < 1) throw new ScriptError(`anchor interval ${o.anchorIntervalMs} ms is not a positive whole number`);
  checkIds('target pid', o.targetPids);
  checkIds('target tid', o.targetTids);
  if (o.bpftracePid !== undefined) checkIds('bpftrace pid', [o.bpftracePid]);
  if (o.ownerPid !== undefined) checkIds('owner pid', [o.ownerPid]);
  const out: string[] = [];
  const p = (s: string): void => void out.push(s);
  const self = o.bpftracePid !== undefined ? String(o.bpftracePid) : '$1';
  p('// Generated by cpath record (collectors/bpftrace/script.ts); prints the lines of collectors/bpftrace/FORMAT.md.');
  anchors(p, o);
  interruptContext(p);
  newTasks(p);
  schedSwitch(p, o, self);
  schedWaking(p, o, self);
  taskLifecycle(p, o);
  codeProbes(p, o);
  // bpftrace prints every non-empty map at exit: these are bookkeeping, not output.
  p('END {');
  p('  clear(@tp); clear(@tt); clear(@d); clear(@cx); clear(@pt); clear(@pp); clear(@pi); clear(@ps); clear(@pc);');
  p('}');
  return `${out.join('\n')}\n`;
}

type Emit = (line: string) => void;

/** A printf of one event line: the grammar's fields (src/model/event-log.ts) with these formats, then the arguments. */
function printf(kind: EventLineKind, fields: readonly string[], args: string, newline = true): string {
  return `printf("${eventPrintf(kind, fields)}${newline ? '\\n' : ''}", ${args});`;
}

const TASK = ['%d', '%d', '%d'];

/** Target maps seeded in BEGIN; `AN` anchors at start and every interval. */
function anchors(p: Emit, o: ScriptOptions): void {
  const anchor = `  ${printf('AN', ['%s.%s'], '$t, strftime("%s", $t), strftime("%f", $t)')}`;
  p('BEGIN {');
  for (const pid of new Set(o.targetPids ?? [])) p(`  @tp[${pid}] = 1;`);
  for (const tid of new Set([...(o.targetPids ?? []), ...(o.targetTids ?? [])])) p(`  @tt[${tid}] = 1;`);
  p('  $t = nsecs;');
  p(anchor);
  p('}');
  p(`interval:ms:${o.anchorIntervalMs} {`);
  p('  $t = nsecs;');
  p(anchor);
  p('}');
}

/** Interrupt context, per CPU: a small stack of open hardirq / softirq / hrtimer contexts. */
function interruptContext(p: Emit): void {
  const enter = (probe: string, code: string): void => {
    p(`${probe} {`);
    p('  $d = @d[cpu] + 1;');
    p(`  if ($d > ${MAX_CTX_DEPTH}) { $d = ${MAX_CTX_DEPTH}; }`);
    p('  @d[cpu] = $d;');
    p(`  @cx[cpu, $d] = ${code};`);
    p('}');
  };
  enter('tracepoint:irq:irq_handler_entry', `${CTX_HARDIRQ} + args->irq`);
  enter('tracepoint:irq:softirq_entry', `${CTX_SOFTIRQ} + args->vec`);
  enter('tracepoint:timer:hrtimer_expire_entry', String(CTX_HRTIMER));
  p('tracepoint:irq:irq_handler_exit, tracepoint:irq:softirq_exit, tracepoint:timer:hrtimer_expire_exit {');
  p('  if (@d[cpu] > 0) { @d[cpu] = @d[cpu] - 1; }');
  p('}');
}

/** New tasks of a target: threads become target threads, processes target processes. */
function newTasks(p: Emit): void {
  p('tracepoint:task:task_newtask /@tp[pid]/ {');
  p('  @tt[args->pid] = 1;');
  p(`  if ((args->clone_flags & ${CLONE_THREAD}) == 0) { @tp[args->pid] = 1; }`);
  p('}');
}

/**
 * sched_switch: the outgoing task is current. Self-noise: bpftrace's switches from and to idle
 * are dropped. When bpftrace preempts a task that gets the CPU straight back within
 * SHORT_SELF_SLICE_NS, both switches are dropped (the task appears to run on through bpftrace's
 * short slice); otherwise the deferred switch-out is printed when bpftrace switches out, with
 * its own timestamp. Without that, every printed switch of bpftrace on a busy CPU woke bpftrace
 * again (it is woken by its output), and the loop never ended. Long slices (bpftrace resolving
 * stack symbols, say) stay visible as the preemption they are.
 */
function schedSwitch(p: Emit, o: ScriptOptions, self: string): void {
  const sw = [...TASK, '%lld', '%d', '%s\\t%s'];
  const keepSwitch = o.targetOnly ? ' && (@tp[pid] || @tt[args->next_pid])' : '';
  p('tracepoint:sched:sched_switch {');
  p('  @d[cpu] = 0;');
  if (o.targetOnly) p('  if (@tp[pid]) { @tt[tid] = 1; }');
  p('  $t = nsecs;');
  p('  $print = 1;');
  p(`  if (args->next_pid == ${self}) {`);
  p('    if (args->prev_pid == 0) {');
  p('      $print = 0;');
  p(`    } else if ((args->prev_state & ${RUNNABLE_MASK}) == 0) {`);
  p('      @pt[cpu] = $t; @pp[cpu] = pid; @pi[cpu] = args->prev_pid; @ps[cpu] = args->prev_state; @pc[cpu] = args->prev_comm;');
  p('      $print = 0;');
  p('    }');
  p(`  } else if (pid == ${self}) {`);
  p('    $x = @pi[cpu];');
  p('    $hide = 0;');
  p('    if ($x != 0) {');
  p('      @pi[cpu] = 0;');
  p(`      if (args->next_pid == $x && $t - @pt[cpu] < ${SHORT_SELF_SLICE_NS}) {`);
  p('        $hide = 1;');
  p(`      } else${o.targetOnly ? ' if (@tp[@pp[cpu]])' : ''} {`);
  p(`        ${printf('SW', sw, '@pt[cpu], cpu, @pp[cpu], $x, @ps[cpu], args->prev_pid, @pc[cpu], args->prev_comm')}`);
  p('      }');
  p('    }');
  p('    if (args->next_pid == 0 || $hide) { $print = 0; }');
  p('  }');
  p(`  if ($print${keepSwitch}) {`);
  if (o.stacks) {
    p(`    if (@tp[pid] && (args->prev_state & ${BLOCKING_STATES})) {`);
    p(`      ${printf('ST', [...TASK, 'k%s'], '$t, cpu, pid, tid, kstack(32)', false)}`);
    p(`      ${printf('ST', [...TASK, 'u%s'], '$t, cpu, pid, tid, ustack(32)', false)}`);
    p('    }');
  }
  p(`    ${printf('SW', sw, '$t, cpu, pid, args->prev_pid, args->prev_state, args->next_pid, args->prev_comm, args->next_comm')}`);
  p('  }');
  p('}');
}

/** sched_waking: the waker is current unless an interrupt context is open on this CPU. */
function schedWaking(p: Emit, o: ScriptOptions, self: string): void {
  const wk = (ctx: string, args: string): string => printf('WK', [...TASK, '%d', ctx, '%s\\t%s'], args);
  p('tracepoint:sched:sched_waking {');
  p('  $c = 0;');
  p('  $d = @d[cpu];');
  p('  if ($d > 0) { $c = @cx[cpu, $d]; }');
  if (o.targetOnly) p('  if (@tt[args->pid] || ($c == 0 && @tp[pid])) {');
  else p(`  if (args->pid != ${self}) {`);
  p('    $t = nsecs;');
  p('    $k = $c >> 16;');
  p('    $n = $c & 0xffff;');
  p('    if ($k == 0) {');
  p(`      ${wk('-', '$t, cpu, pid, tid, args->pid, comm, args->comm')}`);
  p('    } else { if ($k == 1) {');
  p(`      ${wk('hardirq:%d', '$t, cpu, pid, tid, args->pid, $n, comm, args->comm')}`);
  p('    } else { if ($k == 2) {');
  p(`      ${wk('softirq:%d', '$t, cpu, pid, tid, args->pid, $n, comm, args->comm')}`);
  p('    } else {');
  p(`      ${wk('hrtimer', '$t, cpu, pid, tid, args->pid, comm, args->comm')}`);
  p('    } } }');
  p('  }');
  p('}');
}

/** New tasks (WN, in the parent's context), exits (EX) and renames (RN). */
function taskLifecycle(p: Emit, o: ScriptOptions): void {
  p(`tracepoint:sched:sched_wakeup_new${o.targetOnly ? ' /@tp[pid] || @tt[args->pid]/' : ''} {`);
  p(`  ${printf('WN', [...TASK, '%d', '%s'], 'nsecs, cpu, pid, tid, args->pid, args->comm')}`);
  p('}');
  p('tracepoint:sched:sched_process_exit {');
  if (o.targetOnly) p('  if (@tp[pid]) {');
  p(`  ${o.targetOnly ? '  ' : ''}${printf('EX', [...TASK, '%s'], 'nsecs, cpu, pid, tid, comm')}`);
  if (o.targetOnly) p('  }');
  p('  delete(@tt[tid]);');
  if (o.ownerPid !== undefined) p(`  if (tid == ${o.ownerPid}) { exit(); }`);
  p('}');
  p(`tracepoint:task:task_rename${o.targetOnly ? ' /@tp[pid] || @tt[args->pid]/' : ''} {`);
  p(`  ${printf('RN', [...TASK, '%s'], 'nsecs, cpu, pid, args->pid, args->newcomm')}`);
  p('}');
}

/** Probes on the targets' code. Without known targets, hitting one makes the process a target. */
function codeProbes(p: Emit, o: ScriptOptions): void {
  const pidsKnown = o.targetPids !== undefined && o.targetPids.length > 0;
  const filter = pidsKnown ? ' /@tp[pid]/' : '';
  const learn = pidsKnown ? '' : ' @tp[pid] = 1; @tt[tid] = 1;';
  const seen = new Set<string>();
  for (const u of o.uprobes) {
    const bin = checkBinary(u.binary);
    const fn = checkProbeName('function', u.function);
    const key = `${bin}:${fn}`;
    if (seen.has(key)) continue;
    seen.add(key);
    p(`uprobe:${bin}:${fn}${filter} {${learn} ${printf('UE', [...TASK, fn], 'nsecs, cpu, pid, tid')} }`);
    p(`uretprobe:${bin}:${fn}${filter} { ${printf('UX', [...TASK, fn], 'nsecs, cpu, pid, tid')} }`);
  }
  for (const u of o.usdt) {
    const bin = checkBinary(u.binary);
    const name = `${checkProbeName('USDT provider', u.provider)}:${checkProbeName('USDT probe', u.probe)}`;
    const key = `usdt ${bin}:${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    p(`usdt:${bin}:${name}${filter} {${learn} ${printf('US', [...TASK, name], 'nsecs, cpu, pid, tid')} }`);
  }
}

/** `<kind>:<binary>:<function>` words for the `# probes:` header line. */
export function probeWords(uprobes: readonly UprobeSpec[], usdt: readonly UsdtSpec[]): string[] {
  return [...new Set([...uprobes.map((u) => `uprobe:${u.binary}:${u.function}`), ...usdt.map((u) => `usdt:${u.binary}:${u.provider}:${u.probe}`)])];
}
