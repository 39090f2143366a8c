// Chrome Trace Event JSON (opens in Perfetto UI and chrome://tracing): every span as a complete
// event (`ph: "X"`) on its service's process (one `pid` per service, named by `M` metadata),
// overlapping spans on separate lanes (`tid`) so that events on a track nest; each trace's
// critical path on a process of its own ("critical path", pid 1, one lane per overlapping trace);
// a flow arrow from each parent to a child in another service. `ts`/`dur` are microseconds
// (fractions down to ns) from the earliest span start, which `otherData.startUnixNano` gives.
// Spans and the critical path are drawn at their times after clock-skew adjustment (where they
// really ran: async subtrees included, never clipped); a shifted span gives its shift in
// `args.skewShiftNs`.
// With thread data (`--threads`): a process per OS process with a track per thread that the
// critical paths ran or waited on (and each thread that woke one), its states as slices over the
// traces' time, and every wakeup as a flow arrow from the waker's track to the wakee's.
import { threadLanes } from '../../analysis/threads/lanes.js';
import type { ThreadSource } from '../../analysis/threads/span-threads.js';
import type { AttrValue, SpanInput } from '../model/span.js';
import type { ReportTrace } from '../report/types.js';
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import { sections } from '../report/trace-json.js';
import { VERSION } from '../version.js';
import type { Exporter } from './exporter.js';

interface Slice {
  readonly start: bigint;
  readonly end: bigint;
  readonly name: string;
  readonly cat: string;
  readonly args: Record<string, unknown>;
  /** Filled in by lane assignment. */
  tid: number;
}

/** Assigns lanes (tid 1..) so that slices on one lane nest or follow each other. */
function assignLanes(slices: Slice[]): number {
  slices.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : a.end < b.end ? 1 : 0));
  const lanes: bigint[][] = [];
  for (const s of slices) {
    let lane = -1;
    for (let i = 0; i < lanes.length && lane < 0; i++) {
      const stack = lanes[i] ?? [];
      while (stack.length > 0 && (stack[stack.length - 1] ?? 0n) <= s.start) stack.pop();
      if (stack.length === 0 || (stack[stack.length - 1] ?? 0n) >= s.end) lane = i;
    }
    if (lane < 0) {
      lane = lanes.length;
      lanes.push([]);
    }
    lanes[lane]?.push(s.end);
    s.tid = lane + 1;
  }
  return lanes.length;
}

const plain = (v: AttrValue): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))) as unknown;

/** Thread processes are numbered from here: service processes use 1, 2, 3... */
const THREAD_PID_BASE = 1_000_000;

export class PerfettoExporter implements Exporter {
  /** Service -> its slices; insertion order gives pids 2, 3... */
  private readonly byService = new Map<string, Slice[]>();
  private readonly paths: Slice[] = [];
  /** Parent-child pairs across services: [parent service, child service, child span]. */
  private readonly flows: { from: string; to: string; at: bigint; parent: Slice; child: Slice }[] = [];
  /** With thread data: the threads on the paths (and their wakers), and the time the traces span. */
  private readonly pathThreads = new Set<number>();
  private window: { start: bigint; end: bigint } | undefined;

  threadPath(t: ReportTrace): void {
    for (const s of t.criticalPath) {
      if (s.thread) this.pathThreads.add(s.thread.tid);
      if (s.wait?.waker) this.pathThreads.add(s.wait.waker.tid);
    }
    const start = BigInt(t.startUnixNano);
    const end = start + BigInt(t.durationNs);
    this.window = this.window ? { start: start < this.window.start ? start : this.window.start, end: end > this.window.end ? end : this.window.end } : { start, end };
  }

  trace(a: AnalysedTrace): undefined {
    const { trace, analysis } = a;
    const slices = new Map<string, { span: SpanInput; slice: Slice }>();
    const shifts = analysis.prepared.shift;
    for (let i = 0; i < trace.spans.length; i++) {
      const s = trace.spans[i];
      if (!s) continue;
      const shift = shifts[i] ?? 0;
      const sh = BigInt(Math.round(shift));
      const slice: Slice = {
        start: s.startNs + sh,
        end: s.endNs + sh,
        name: s.name,
        cat: s.resource.service,
        args: {
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId !== undefined ? { parentSpanId: s.parentSpanId } : {}),
          kind: s.kind,
          status: s.status,
          ...(s.statusMessage !== undefined ? { statusMessage: s.statusMessage } : {}),
          durationNs: Number(s.endNs - s.startNs),
          ...(shift !== 0 ? { skewShiftNs: shift } : {}),
          ...Object.fromEntries(Object.entries(s.attributes).map(([k, v]) => [k, plain(v)])),
        },
        tid: 0,
      };
      let list = this.byService.get(s.resource.service);
      if (!list) {
        list = [];
        this.byService.set(s.resource.service, list);
      }
      list.push(slice);
      slices.set(s.spanId, { span: s, slice });
    }
    for (const { span, slice } of slices.values()) {
      const parent = span.parentSpanId !== undefined ? slices.get(span.parentSpanId) : undefined;
      if (parent && parent.span.resource.service !== span.resource.service) this.flows.push({ from: parent.span.resource.service, to: span.resource.service, at: slice.start, parent: parent.slice, child: slice });
    }
    const root = trace.spans[analysis.root];
    const start = a.startNs;
    this.paths.push({ start, end: start + BigInt(analysis.durationNs), name: `${a.endpoint.service} ${a.endpoint.operation}`, cat: 'critical path', args: { traceId: trace.traceId, rootSpanId: root?.spanId ?? '', durationNs: analysis.durationNs }, tid: 0 });
    for (const sec of sections(trace, analysis.path)) {
      if (sec.durationNs <= 0) continue;
      const s0 = BigInt(sec.startUnixNano);
      this.paths.push({ start: s0, end: s0 + BigInt(sec.durationNs), name: `${sec.service} ${sec.operation}`, cat: 'critical path', args: { traceId: trace.traceId, spanId: sec.spanId ?? '', durationNs: sec.durationNs, ...(sec.error ? { error: true } : {}) }, tid: 0 });
    }
    return undefined;
  }

  end(_report?: unknown, threads?: readonly ThreadSource[]): string {
    let t0: bigint | undefined;
    for (const list of [this.paths, ...this.byService.values()]) for (const s of list) if (t0 === undefined || s.start < t0) t0 = s.start;
    const base = t0 ?? 0n;
    const us = (ns: bigint): number => Number(ns - base) / 1000;
    const events: Record<string, unknown>[] = [];
    const emit = (pid: number, name: string, list: Slice[]): void => {
      const lanes = assignLanes(list);
      events.push({ ph: 'M', name: 'process_name', pid, tid: 0, args: { name } });
      events.push({ ph: 'M', name: 'process_sort_index', pid, tid: 0, args: { sort_index: pid } });
      for (let t = 1; t <= lanes; t++) events.push({ ph: 'M', name: 'thread_name', pid, tid: t, args: { name: `${name} ${t}` } });
      for (const s of list) events.push({ ph: 'X', name: s.name, cat: s.cat, pid, tid: s.tid, ts: us(s.start), dur: Number(s.end - s.start) / 1000, args: s.args });
    };
    emit(1, 'critical path', this.paths);
    const pids = new Map<string, number>();
    for (const [service, list] of this.byService) {
      pids.set(service, pids.size + 2);
      emit(pids.size + 1, service, list);
    }
    let id = 0;
    for (const f of this.flows) {
      id++;
      const ts = us(f.at);
      events.push({ ph: 's', name: 'call', cat: 'flow', id, pid: pids.get(f.from), tid: f.parent.tid, ts });
      events.push({ ph: 'f', bp: 'e', name: 'call', cat: 'flow', id, pid: pids.get(f.to), tid: f.child.tid, ts });
    }
    if (threads && this.window) id = this.threadTracks(threads, this.window, us, events, id);
    return `${JSON.stringify({ traceEvents: events, displayTimeUnit: 'ns', otherData: { exporter: `cpath@${VERSION}`, startUnixNano: base.toString() } })}\n`;
  }

  /**
   * Thread tracks: pid THREAD_PID_BASE + OS pid (clear of the service pids), tid = OS tid; one
   * slice per state segment (segments of a thread never overlap, so a track nests); a flow per
   * wakeup, from the waker's track to the wakee's at the instant of the wakeup.
   */
  private threadTracks(threads: readonly ThreadSource[], w: { start: bigint; end: bigint }, us: (ns: bigint) => number, events: Record<string, unknown>[], firstId: number): number {
    let id = firstId;
    const named = new Set<number>();
    for (const src of threads) {
      const tids = [...this.pathThreads].filter((t) => src.model.threads.has(t)).sort((a, b) => a - b);
      const from = src.names.rel(w.start);
      const lanes = threadLanes(src.model, tids, from, from + Number(w.end - w.start));
      const pidOf = (tid: number): number => THREAD_PID_BASE + Math.max(0, src.names.thread(tid).pid);
      for (const lane of lanes) {
        const t = src.names.thread(lane.tid);
        const pid = pidOf(lane.tid);
        if (!named.has(pid)) {
          named.add(pid);
          events.push({ ph: 'M', name: 'process_name', pid, tid: 0, args: { name: `${src.names.process(t.pid)} (pid ${t.pid})` } });
          events.push({ ph: 'M', name: 'process_sort_index', pid, tid: 0, args: { sort_index: pid } });
        }
        events.push({ ph: 'M', name: 'thread_name', pid, tid: lane.tid, args: { name: `${t.comm} ${lane.tid}` } });
        for (const g of lane.segments) {
          if (g.end <= g.start) continue;
          const s0 = src.names.unixNs(g.start);
          events.push({ ph: 'X', name: g.state, cat: 'thread state', pid, tid: lane.tid, ts: us(s0), dur: (g.end - g.start) / 1000, args: { state: g.state } });
        }
        for (const wk of lane.wakes) {
          const ts = us(src.names.unixNs(wk.t));
          // Only task wakeups have a track to start from; interrupt wakeups are an instant on the wakee.
          if (wk.wakerTid !== undefined && src.model.threads.has(wk.wakerTid) && this.pathThreads.has(wk.wakerTid)) {
            id++;
            events.push({ ph: 's', name: 'wakeup', cat: 'wakeup', id, pid: pidOf(wk.wakerTid), tid: wk.wakerTid, ts });
            events.push({ ph: 'f', bp: 'e', name: 'wakeup', cat: 'wakeup', id, pid, tid: lane.tid, ts });
          } else {
            events.push({ ph: 'i', s: 't', name: `wakeup (${wk.reason}${wk.wakerTid !== undefined ? ` by tid ${wk.wakerTid}` : ''})`, cat: 'wakeup', pid, tid: lane.tid, ts });
          }
        }
      }
    }
    return id;
  }
}
