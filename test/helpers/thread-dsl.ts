// A tiny language for thread models in tests, one thread per line, its calls on the lines after:
//
//   acceptor 101: run 0-1 | sleep 1-48 by db-pool | run 48-50
//     call serve_order 0-48
//   db-pool 103 pid=100: sleep 0-8 by worker stack=futex_wait,pool_take | block 8-39 by network
//   ghost 104:
//
// Segment: STATE START-END [by WHO] [irq=N] [stack=f,g,...] where STATE is run(ning),
// runnable (or preempted), sleep(ing), block(ed); WHO is a wait reason (timer, network,
// block-io, irq, unknown), a tid, or the comm of a thread in the model (`by 103`, `by worker`),
// or `task` (a wakeup without a waker tid). `by` is only read on sleeping/blocked segments; the
// wake time is the segment's end. A thread line with no segments is a thread with no history.
// Call: `call NAME START-END [incomplete] [depth=N]`; the depth defaults to the number of the
// thread's earlier calls that contain it. Times are multiplied by `unit` (default 1).
import type { FunctionCall, Segment, ThreadModel, ThreadSection, ThreadState, ThreadTimeline, WaitReason } from '../../analysis/threads/types.js';

const STATES: Record<string, ThreadState> = {
  run: 'running',
  running: 'running',
  runnable: 'runnable',
  preempted: 'runnable',
  sleep: 'sleeping',
  sleeping: 'sleeping',
  block: 'blocked',
  blocked: 'blocked',
};

const REASONS = new Set<WaitReason>(['timer', 'network', 'block-io', 'irq', 'unknown']);

interface RawThread {
  tid: number;
  pid: number;
  comm: string;
  segs: { start: number; end: number; state: ThreadState; by?: string; irq?: number; stack?: string[] }[];
  calls: { name: string; start: number; end: number; depth?: number; complete: boolean }[];
}

function range(s: string, unit: number, line: string): [number, number] {
  const m = /^(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)$/.exec(s);
  if (!m) throw new Error(`bad range "${s}" in: ${line}`);
  return [Math.round(Number(m[1]) * unit), Math.round(Number(m[2]) * unit)];
}

export function threadModel(text: string, unit = 1): ThreadModel {
  const raw: RawThread[] = [];
  for (const line0 of text.split('\n')) {
    const line = line0.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('call ')) {
      const th = raw[raw.length - 1];
      if (!th) throw new Error(`call before any thread: ${line}`);
      const [, name, times, ...opts] = line.split(/\s+/);
      if (!name || !times) throw new Error(`bad call: ${line}`);
      const [start, end] = range(times, unit, line);
      const depth = opts.find((o) => o.startsWith('depth='));
      th.calls.push({ name, start, end, complete: !opts.includes('incomplete'), ...(depth ? { depth: Number(depth.slice(6)) } : {}) });
      continue;
    }
    const m = /^(\S+)\s+(\d+)(?:\s+pid=(\d+))?\s*:(.*)$/.exec(line);
    if (!m) throw new Error(`bad thread line: ${line}`);
    const th: RawThread = { comm: m[1] ?? '', tid: Number(m[2]), pid: m[3] !== undefined ? Number(m[3]) : -1, segs: [], calls: [] };
    for (const part of (m[4] ?? '').split('|')) {
      const words = part.trim().split(/\s+/).filter((w) => w !== '');
      if (words.length === 0) continue;
      const [st, times, ...rest] = words;
      const state = STATES[st ?? ''];
      if (!state || !times) throw new Error(`bad segment "${part}" in: ${line}`);
      const [start, end] = range(times, unit, line);
      const seg: RawThread['segs'][number] = { start, end, state };
      for (let k = 0; k < rest.length; k++) {
        const w = rest[k] ?? '';
        if (w === 'by') seg.by = rest[++k];
        else if (w.startsWith('irq=')) seg.irq = Number(w.slice(4));
        else if (w.startsWith('stack=')) seg.stack = w.slice(6).split(',');
        else throw new Error(`bad segment word "${w}" in: ${line}`);
      }
      th.segs.push(seg);
    }
    raw.push(th);
  }
  const byComm = new Map(raw.map((t) => [t.comm, t.tid]));
  const threads = new Map<number, ThreadTimeline>();
  let endNs = 0;
  for (const t of raw) {
    const segments: Segment[] = t.segs.map((s) => {
      endNs = Math.max(endNs, s.end);
      let wake: Segment['wake'];
      if (s.by !== undefined && (s.state === 'sleeping' || s.state === 'blocked')) {
        const irq = s.irq !== undefined ? { irq: s.irq } : {};
        if (REASONS.has(s.by as WaitReason)) wake = { t: s.end, reason: s.by as WaitReason, ...irq };
        else if (s.by === 'task') wake = { t: s.end, reason: 'wakeup' };
        else {
          const w = /^\d+$/.test(s.by) ? Number(s.by) : byComm.get(s.by);
          if (w === undefined) throw new Error(`unknown waker ${s.by}`);
          wake = { t: s.end, reason: 'wakeup', wakerTid: w };
        }
      }
      return { start: s.start, end: s.end, state: s.state, ...(wake ? { wake } : {}), ...(s.stack ? { stack: s.stack } : {}) };
    });
    const calls: FunctionCall[] = t.calls
      .map((c, i) => ({
        name: c.name,
        start: c.start,
        end: c.end,
        complete: c.complete,
        depth: c.depth ?? t.calls.slice(0, i).filter((o) => o.start <= c.start && c.end <= o.end).length,
      }))
      .sort((x, y) => x.start - y.start || x.depth - y.depth);
    for (const c of calls) endNs = Math.max(endNs, c.end);
    threads.set(t.tid, { tid: t.tid, pid: t.pid, comm: t.comm, comms: [{ t: 0, comm: t.comm }], segments, calls });
  }
  return { originBootNs: 0n, bootToUnixNs: 0n, anchorSpreadNs: 0, endNs, threads, targetPids: [] };
}

/**
 * Sections as `COMM STATE[(WAIT)] [FUNCTION] START-END`, times divided by `unit`, e.g.
 * `worker running validate 1-8, db-pool blocked(network) query 8-39, t sleeping(by db-pool) 2-8`.
 * Threads not in the model show as `#tid`.
 */
export function describeSections(model: ThreadModel, sections: readonly ThreadSection[], unit = 1): string {
  const name = (tid: number): string => model.threads.get(tid)?.comm ?? `#${tid}`;
  const fmt = (v: number): string => String(Math.round((v / unit) * 1000) / 1000);
  return sections
    .map((s) => {
      const wait = s.wait ? `(${s.wait.reason === 'wakeup' ? (s.wait.wakerTid !== undefined ? `by ${name(s.wait.wakerTid)}` : 'wakeup') : s.wait.reason})` : '';
      return `${name(s.tid)} ${s.state}${wait}${s.function !== undefined ? ` ${s.function}` : ''} ${fmt(s.start)}-${fmt(s.end)}`;
    })
    .join(', ');
}
