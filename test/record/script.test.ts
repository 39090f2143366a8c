// The bpftrace program of `cpath record` (collectors/bpftrace/script.ts): which probes and lines
// each option produces, and that bpftrace itself compiles every variant (skipped, with the reason
// printed, where bpftrace is missing or not permitted).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScriptError, buildScript, probeWords, type ScriptOptions } from '../../collectors/bpftrace/script.js';
import { EVENT_LINE_FIELDS, EVENT_LINE_KINDS } from '../../src/model/event-log.js';
import { bpftraceSkipReason } from '../helpers/bpftrace.js';

const BASE: ScriptOptions = { uprobes: [], usdt: [], stacks: false, targetOnly: false, anchorIntervalMs: 1000 };
const TRACEPOINTS = [
  'tracepoint:sched:sched_switch',
  'tracepoint:sched:sched_waking',
  'tracepoint:sched:sched_wakeup_new',
  'tracepoint:sched:sched_process_exit',
  'tracepoint:task:task_rename',
  'tracepoint:task:task_newtask',
  'tracepoint:irq:irq_handler_entry',
  'tracepoint:irq:softirq_entry',
  'tracepoint:timer:hrtimer_expire_entry',
  'tracepoint:irq:irq_handler_exit, tracepoint:irq:softirq_exit, tracepoint:timer:hrtimer_expire_exit',
];

/** The probe headers of a program: lines that open a probe block. */
const probeHeads = (s: string): string[] => s.split('\n').filter((l) => /^[a-z]+:|^BEGIN|^END/.test(l)).map((l) => l.replace(/ \{.*$/, ''));
/** The format strings and argument counts of every printf. */
function printfs(s: string): { format: string; args: number }[] {
  return [...s.matchAll(/printf\("((?:[^"\\]|\\.)*)"((?:, [^;]*)?)\);/g)].map((m) => ({ format: m[1] ?? '', args: (m[2] ?? '').split(', ').length - 1 }));
}

describe('buildScript', () => {
  it('system scope: every tracepoint, anchors at BEGIN and on the interval, self-noise from $1', () => {
    const s = buildScript({ ...BASE, targetPids: [42] });
    for (const tp of TRACEPOINTS) expect(s.split('\n').some((l) => l.startsWith(`${tp} `)), tp).toBe(true);
    expect(probeHeads(s)).toContain('BEGIN');
    expect(probeHeads(s)).toContain('interval:ms:1000');
    expect(s).toContain('@tp[42] = 1;');
    expect(s).toContain('@tt[42] = 1;');
    // bpftrace's own switches to and from idle, and its wakeups, are dropped; nothing else by pid.
    expect(s).toContain('if (args->next_pid == $1) {');
    expect(s).toContain('if (args->pid != $1) {');
    expect(s).not.toMatch(/ ST /);
    expect(s).not.toMatch(/uprobe|usdt/);
    // All maps are cleared at exit, so bpftrace does not dump them.
    for (const m of new Set([...s.matchAll(/@(\w+)\[/g)].map((x) => x[1]))) expect(s, `@${m} cleared in END`).toContain(`clear(@${m})`);
  });

  it('prints exactly the FORMAT.md lines, each printf with few arguments', () => {
    const s = buildScript({ ...BASE, targetPids: [42], stacks: true, uprobes: [{ binary: '/bin/x', function: 'f' }], usdt: [{ binary: '/bin/x', provider: 'p', probe: 'q' }] });
    const formats = printfs(s);
    expect(new Set(formats.map((f) => f.format.split(' ')[1]))).toEqual(new Set(['AN', 'SW', 'WK', 'WN', 'EX', 'RN', 'UE', 'UX', 'US', 'ST']));
    for (const f of formats) {
      expect(f.format.startsWith('%llu '), f.format).toBe(true);
      expect(f.args, f.format).toBeLessThanOrEqual(9);
      // One line per printf, except ST whose stack string brings its own lines.
      expect(f.format.endsWith('\\n') || f.format.includes(' ST '), f.format).toBe(true);
    }
    expect(formats.filter((f) => f.format.includes(' WK ')).map((f) => f.format.split(' ')[6])).toEqual(['-', 'hardirq:%d', 'softirq:%d', 'hrtimer']);
    expect(formats.find((f) => f.format.includes(' SW '))?.format).toBe('%llu SW %d %d %d %lld %d %s\\t%s\\n');
  });

  it('target-only: switches and wakeups only when a target is involved; target threads are learned', () => {
    const s = buildScript({ ...BASE, targetPids: [42], targetTids: [43, 44], targetOnly: true });
    expect(s).toContain('@tt[43] = 1;');
    expect(s).toContain('if (@tp[pid]) { @tt[tid] = 1; }');
    expect(s).toContain('if ($print && (@tp[pid] || @tt[args->next_pid])) {');
    expect(s).toContain('if (@tt[args->pid] || ($c == 0 && @tp[pid])) {');
    expect(s).toContain('tracepoint:sched:sched_wakeup_new /@tp[pid] || @tt[args->pid]/');
    expect(s).toContain('tracepoint:task:task_rename /@tp[pid] || @tt[args->pid]/');
    // Processes forked by a target become targets; threads become target threads.
    expect(s).toMatch(/task_newtask \/@tp\[pid\]\/ \{\n {2}@tt\[args->pid\] = 1;\n {2}if \(\(args->clone_flags & 65536\) == 0\) \{ @tp\[args->pid\] = 1; \}/);
  });

  it('stacks: kernel and user stacks before the SW of a target thread that blocks (S or D)', () => {
    const s = buildScript({ ...BASE, targetPids: [42], stacks: true });
    expect(s).toContain('if (@tp[pid] && (args->prev_state & 3)) {');
    expect(s).toMatch(/ST %d %d %d k%s", \$t, cpu, pid, tid, kstack\(32\)\);\n.*ST %d %d %d u%s", \$t, cpu, pid, tid, ustack\(32\)\);\n {4}\}\n {4}printf\("%llu SW/);
  });

  it('uprobes print the function name as a literal, never `func`, in both probes', () => {
    const s = buildScript({ ...BASE, targetPids: [42], uprobes: [{ binary: '/srv/app', function: 'serve_order' }, { binary: '/srv/app', function: 'serve_order' }, { binary: 'libc', function: 'malloc' }] });
    expect(s).toContain('uprobe:/srv/app:serve_order /@tp[pid]/ { printf("%llu UE %d %d %d serve_order\\n", nsecs, cpu, pid, tid); }');
    expect(s).toContain('uretprobe:/srv/app:serve_order /@tp[pid]/ { printf("%llu UX %d %d %d serve_order\\n", nsecs, cpu, pid, tid); }');
    expect(s).toContain('uretprobe:libc:malloc /@tp[pid]/');
    expect(s.match(/^u(?:ret)?probe:\/srv\/app:serve_order /gm)).toHaveLength(2); // uprobe + uretprobe, the duplicate dropped
    expect(s).not.toMatch(/\bfunc\b/);
  });

  it('usdt probes, and targets learned from the probes when no pid is known', () => {
    const s = buildScript({ ...BASE, usdt: [{ binary: '/srv/app', provider: 'app', probe: 'done' }], uprobes: [{ binary: '/srv/app', function: 'f' }] });
    expect(s).toContain('usdt:/srv/app:app:done { @tp[pid] = 1; @tt[tid] = 1; printf("%llu US %d %d %d app:done\\n", nsecs, cpu, pid, tid); }');
    expect(s).toContain('uprobe:/srv/app:f { @tp[pid] = 1; @tt[tid] = 1; printf(');
    expect(s).not.toMatch(/@tp\[\d+\]/);
  });

  it('a known bpftrace pid replaces $1; the owner pid makes bpftrace exit with it; the anchor interval is used', () => {
    const s = buildScript({ ...BASE, targetPids: [42], bpftracePid: 777, ownerPid: 555, anchorIntervalMs: 250 });
    expect(s).not.toContain('$1');
    expect(s).toContain('if (args->next_pid == 777) {');
    expect(s).toContain('if (tid == 555) { exit(); }');
    expect(s).toContain('interval:ms:250 {');
  });

  it('refuses names that would break the program', () => {
    expect(() => buildScript({ ...BASE, uprobes: [{ binary: '/bin/x', function: 'a"); system("rm' }] })).toThrow(ScriptError);
    expect(() => buildScript({ ...BASE, uprobes: [{ binary: '/bin/x y', function: 'f' }] })).toThrow(/binary "\/bin\/x y"/);
    expect(() => buildScript({ ...BASE, usdt: [{ binary: '/bin/x', provider: 'p:q', probe: 'r' }] })).toThrow(/provider "p:q"/);
    expect(() => buildScript({ ...BASE, targetPids: [0] })).toThrow(/target pid: 0/);
    expect(() => buildScript({ ...BASE, anchorIntervalMs: 0 })).toThrow(/anchor interval/);
  });

  it('probeWords: the # probes: words, without duplicates', () => {
    expect(probeWords([{ binary: '/a', function: 'f' }, { binary: '/a', function: 'f' }], [{ binary: '/a', provider: 'p', probe: 'q' }])).toEqual(['uprobe:/a:f', 'usdt:/a:p:q']);
  });
});

const skip = bpftraceSkipReason();
describe.skipIf(skip !== undefined)(`buildScript compiled by the installed bpftrace${skip !== undefined ? ` (SKIPPED: ${skip})` : ''}`, () => {
  it('every variant compiles (bpftrace --emit-elf: parse, semantic checks, codegen)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpath-script-'));
    const node = process.execPath;
    const variants: [string, ScriptOptions][] = [
      ['system', { ...BASE, targetPids: [1] }],
      ['target-only + stacks', { ...BASE, targetPids: [1], targetTids: [1], targetOnly: true, stacks: true }],
      ['uprobes, no pid known', { ...BASE, uprobes: [{ binary: node, function: 'uv_queue_work' }] }],
      ['everything', { ...BASE, targetPids: [1], targetOnly: true, stacks: true, bpftracePid: 2, ownerPid: 3, uprobes: [{ binary: node, function: 'uv_queue_work' }, { binary: node, function: 'uv__queue_work' }] }],
    ];
    try {
      for (const [name, o] of variants) {
        const elf = join(dir, `${name.replace(/\W+/g, '-')}.elf`);
        try {
          execFileSync('bpftrace', ['--emit-elf', elf, '-e', buildScript(o), '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
        } catch (e) {
          const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
          throw new Error(`variant "${name}" does not compile:\n${stderr}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the program and the event-log grammar', () => {
  it('prints every kind of line the grammar has, each with the grammar\'s fields', () => {
    const script = buildScript({ ...BASE, targetPids: [10], stacks: true, uprobes: [{ binary: '/bin/x', function: 'f' }], usdt: [{ binary: '/bin/x', provider: 'p', probe: 'q' }] });
    const seen = new Set<string>();
    for (const m of script.matchAll(/printf\("%llu ([A-Z]{2}) ([^"]*?)(?:\\n)?"/g)) {
      const kind = m[1] ?? '';
      expect(EVENT_LINE_KINDS).toContain(kind);
      // Two comms separated by a TAB are one field of the grammar.
      const fields = (m[2] ?? '').split(' ');
      expect(fields.length, `${kind}: ${m[2]}`).toBe(Object.entries(EVENT_LINE_FIELDS).find(([k]) => k === kind)?.[1].length);
      seen.add(kind);
    }
    expect([...seen].sort()).toEqual([...EVENT_LINE_KINDS].sort());
  });
});
