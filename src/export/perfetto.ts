// Chrome Trace Event JSON (opens in Perfetto UI and chrome://tracing): every span as a complete
// event (`ph: "X"`) on its service's process (one `pid` per service, named by `M` metadata),
// overlapping spans on separate lanes (`tid`) so that events on a track nest; each trace's
// critical path on a process of its own ("critical path", pid 1, one lane per overlapping trace);
// a flow arrow from each parent to a child in another service. `ts`/`dur` are microseconds
// (fractions down to ns) from the earliest span start, which `otherData.startUnixNano` gives.
// Span tracks show the times as imported; the critical path's, after clock-skew adjustment.
import type { AttrValue, SpanInput } from '../model/span.js';
import { sections, type AnalysedTrace } from '../report/trace-json.js';
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

export class PerfettoExporter implements Exporter {
  /** Service -> its slices; insertion order gives pids 2, 3... */
  private readonly byService = new Map<string, Slice[]>();
  private readonly paths: Slice[] = [];
  /** Parent-child pairs across services: [parent service, child service, child span]. */
  private readonly flows: { from: string; to: string; at: bigint; parent: Slice; child: Slice }[] = [];

  trace(a: AnalysedTrace): undefined {
    const { trace, analysis } = a;
    const slices = new Map<string, { span: SpanInput; slice: Slice }>();
    for (const s of trace.spans) {
      const slice: Slice = {
        start: s.startNs,
        end: s.endNs,
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
      if (parent && parent.span.resource.service !== span.resource.service) this.flows.push({ from: parent.span.resource.service, to: span.resource.service, at: span.startNs, parent: parent.slice, child: slice });
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

  end(): string {
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
    return `${JSON.stringify({ traceEvents: events, displayTimeUnit: 'ns', otherData: { exporter: `cpath@${VERSION}`, startUnixNano: base.toString() } })}\n`;
  }
}
