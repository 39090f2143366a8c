// `cpath diff` as a library call: analyse each side with the stages of `cpath analyze` (the same
// reading, repairs and critical paths: read.ts, span-traces.ts), hand every analysed trace to that side's
// DiffSideBuilder, then compute the diff (analysis/diff.ts) and the report model.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { redactUrl } from '../store/store-url.js';
import { StoreError } from '../store/span-store.js';
import { InputError, type InputFormat } from '../../collectors/index.js';
import { computeDiff, DEFAULT_DIFF_SETTINGS, DiffSideBuilder, differentialStacks, type DiffModel, type DiffSettings, type DiffSide, type DiffStack, type DiffTraceInput } from '../../analysis/diff.js';
import { ComponentKeys } from '../../analysis/trace-summary.js';
import type { TraceFilter } from '../../analysis/filters.js';
import { frameName, pathStacks, type AnalysedTrace } from '../../analysis/analysed-trace.js';
import { Diagnostics } from '../model/diagnostics.js';
import { attributesToKeep, readInputs } from './read.js';
import { noSpansError, spanReport } from './span-report.js';
import { SpanTraces } from './span-traces.js';
import type { DiffReport, DiffSideInput } from '../report/diff-types.js';
import { endpointSentence } from '../report/diff-text.js';
import { reportHeader } from '../report/header.js';

export const DIFF_TEST = 'Mann-Whitney U, two-sided, normal approximation with tie and continuity correction (as scipy.stats.mannwhitneyu method="asymptotic")';

/** Where one side's traces come from: files and/or a `cpath serve` store. */
export interface DiffSource {
  readonly files: readonly string[];
  readonly store?: string;
}

export type DiffSources =
  | { readonly kind: 'two'; readonly base: DiffSource; readonly new: DiffSource }
  /** One input, split in time: base starts before `atNs`, new at or after it. */
  | { readonly kind: 'split'; readonly source: DiffSource; readonly atNs: bigint };

export interface DiffOptions {
  readonly sources: DiffSources;
  readonly inputFormat?: InputFormat;
  readonly skewAdjust: boolean;
  readonly overlapToleranceNs?: number;
  /** --since / --until: both sides keep only traces starting in [since, until). */
  readonly sinceNs?: bigint;
  readonly untilNs?: bigint;
  readonly settings?: DiffSettings;
}

export interface DiffResult {
  readonly report: DiffReport;
  readonly model: DiffModel;
  /** The differential call paths (folded output and the HTML flame graphs). */
  readonly stacks: readonly DiffStack[];
}

export async function diffInputs(opts: DiffOptions): Promise<DiffResult> {
  const settings = opts.settings ?? DEFAULT_DIFF_SETTINGS;
  const base = new DiffSideBuilder();
  const next = new DiffSideBuilder();
  const convert = new DiffTraceConverter();
  let baseRun: SideRun;
  let newRun: SideRun;
  const src = opts.sources;
  const window = { ...(opts.sinceNs !== undefined ? { sinceNs: opts.sinceNs } : {}), ...(opts.untilNs !== undefined ? { untilNs: opts.untilNs } : {}) };
  let newSide: DiffSide | undefined;
  if (src.kind === 'two') {
    // The new side on a worker thread while this one analyses the base (when the compiled
    // worker is there: running from the TypeScript sources, the sides run one after the other).
    const worker = sideOnWorker(opts, src.new, window);
    const [b, n] = await Promise.allSettled([runSide(opts, src.base, window, (a) => base.add(convert.trace(a))), worker ?? analyseSide(opts, src.new, window)]);
    // The base side's error first, as when the sides ran in order.
    if (b.status === 'rejected') throw b.reason;
    if (n.status === 'rejected') throw n.reason;
    baseRun = b.value;
    newRun = n.value.run;
    newSide = n.value.side;
  } else {
    // One pass over the input; each trace goes to the side its start falls on.
    let nBase = 0;
    let nNew = 0;
    const run = await runSide(opts, src.source, window, (a) => {
      if (a.startNs < src.atNs) {
        nBase++;
        base.add(convert.trace(a));
      } else {
        nNew++;
        next.add(convert.trace(a));
      }
    });
    const until = opts.untilNs !== undefined && opts.untilNs < src.atNs ? opts.untilNs : src.atNs;
    const since = opts.sinceNs !== undefined && opts.sinceNs > src.atNs ? opts.sinceNs : src.atNs;
    baseRun = { ...run, input: { ...run.input, tracesAnalysed: nBase, window: windowJson(opts.sinceNs, until) } };
    newRun = { ...run, input: { ...run.input, tracesAnalysed: nNew, window: windowJson(since, opts.untilNs) } };
  }
  for (const [name, r] of [['base', baseRun], ['new', newRun]] as const) {
    if (r.input.tracesAnalysed === 0) {
      const w = r.input.window;
      const where = w ? ` starting${w.sinceUnixNano !== undefined ? ` at or after ${isoOf(w.sinceUnixNano)}` : ''}${w.sinceUnixNano !== undefined && w.untilUnixNano !== undefined ? ' and' : ''}${w.untilUnixNano !== undefined ? ` before ${isoOf(w.untilUnixNano)}` : ''}` : '';
      throw new InputError(`${name} side: no traces${where} in ${r.input.files.join(', ')} (${r.input.traces} traces read)`);
    }
  }
  const bs = base.build();
  const ns = newSide ?? next.build();
  const model = computeDiff(bs, ns, settings);
  const report: DiffReport = {
    ...reportHeader(),
    test: DIFF_TEST,
    settings: {
      alpha: settings.alpha,
      minRelativeShift: settings.minRelativeShift,
      skewAdjust: opts.skewAdjust,
      ...(opts.overlapToleranceNs !== undefined ? { overlapToleranceNs: opts.overlapToleranceNs } : {}),
      ...(src.kind === 'split' ? { splitAtUnixNano: src.atNs.toString() } : {}),
    },
    input: { base: baseRun.input, new: newRun.input },
    diagnostics: { base: baseRun.diagnostics, new: newRun.diagnostics },
    endpoints: model.endpoints.map((e) => ({
      service: e.service,
      operation: e.operation,
      summary: endpointSentence(e, settings.alpha),
      base: e.base,
      new: e.new,
      deltaNs: {
        p50: e.new.latencyNs.p50 - e.base.latencyNs.p50,
        p90: e.new.latencyNs.p90 - e.base.latencyNs.p90,
        p99: e.new.latencyNs.p99 - e.base.latencyNs.p99,
        max: e.new.latencyNs.max - e.base.latencyNs.max,
        mean: e.new.meanNs - e.base.meanNs,
      },
      significant: e.significant,
      test: 'mann-whitney-u',
      pValue: e.test.pValue,
      u: e.test.u,
      z: e.test.z,
      changes: e.changes.map((c) => ({ ...c, ...(c.swappedWith ? { swappedWith: { ...c.swappedWith } } : {}) })),
      structure: e.structure.map((s) => ({ ...s })),
    })),
    onlyInBase: model.onlyInBase.map((o) => ({ ...o })),
    onlyInNew: model.onlyInNew.map((o) => ({ ...o })),
  };
  return { report, model, stacks: differentialStacks(bs, ns) };
}

export interface SideRun {
  readonly input: DiffSideInput;
  readonly diagnostics: DiffReport['diagnostics']['base'];
}

async function runSide(opts: DiffOptions, source: DiffSource, window: { sinceNs?: bigint; untilNs?: bigint }, onTrace: (a: AnalysedTrace) => void): Promise<SideRun> {
  const diag = new Diagnostics();
  const filter: TraceFilter = window;
  const read = await readInputs(
    {
      files: source.files,
      ...(source.store !== undefined ? { store: source.store } : {}),
      ...(opts.inputFormat ? { inputFormat: opts.inputFormat } : {}),
      attributeKeys: attributesToKeep(undefined, filter, false),
      storeWindow: filter,
    },
    diag,
  );
  const names = [...source.files, ...(source.store !== undefined ? [`store ${redactUrl(source.store)}`] : [])];
  if (read.spanCount === 0) throw noSpansError(names, diag.entries());
  const settings = { skewAdjust: opts.skewAdjust, ...(opts.overlapToleranceNs !== undefined ? { overlapToleranceNs: opts.overlapToleranceNs } : {}), filter, outliers: { kind: 'auto' as const }, top: 0 };
  const spans = new SpanTraces(read.traces, settings, diag);
  for (const a of spans.analysed()) onTrace(a);
  spans.finish();
  const r = spanReport(source, read, spans, settings, diag);
  const w = windowJson(window.sinceNs, window.untilNs);
  return {
    input: {
      files: r.input.files,
      formats: r.input.formats,
      spans: r.input.spans,
      traces: r.input.traces,
      tracesAnalysed: r.input.tracesAnalysed,
      ...(w ? { window: w } : {}),
      granularity: r.input.granularity,
    },
    diagnostics: r.diagnostics,
  };
}

/** One side analysed alone, with what the diff keeps of its traces. */
export async function analyseSide(opts: DiffOptions, source: DiffSource, window: { sinceNs?: bigint; untilNs?: bigint }): Promise<{ run: SideRun; side: DiffSide }> {
  const builder = new DiffSideBuilder();
  const convert = new DiffTraceConverter();
  const run = await runSide(opts, source, window, (a) => builder.add(convert.trace(a)));
  return { run, side: builder.build() };
}

/** What a side worker is given, and what it answers. */
export interface SideJob {
  readonly opts: DiffOptions;
  readonly source: DiffSource;
  readonly window: { sinceNs?: bigint; untilNs?: bigint };
}

export type SideReply = { readonly ok: true; readonly run: SideRun; readonly side: DiffSide } | { readonly ok: false; readonly name: string; readonly message: string };

const SIDE_WORKER = new URL('./diff-side-worker.js', import.meta.url);

/** `analyseSide` on a worker thread; undefined when the compiled worker is not there. */
function sideOnWorker(opts: DiffOptions, source: DiffSource, window: SideJob['window']): Promise<{ run: SideRun; side: DiffSide }> | undefined {
  if (!existsSync(fileURLToPath(SIDE_WORKER))) return undefined;
  return new Promise((resolve, reject) => {
    const w = new Worker(SIDE_WORKER, { workerData: { opts, source, window } satisfies SideJob });
    w.once('message', (m: SideReply) => {
      void w.terminate();
      if (m.ok) return resolve({ run: m.run, side: m.side });
      // The user's mistakes keep their class (a one-line message, exit 1); anything else is internal.
      reject(m.name === 'InputError' ? new InputError(m.message) : m.name === 'StoreError' ? new StoreError(m.message) : new Error(m.message));
    });
    w.once('error', reject);
  });
}

function windowJson(since: bigint | undefined, until: bigint | undefined): DiffSideInput['window'] {
  if (since === undefined && until === undefined) return undefined;
  return { ...(since !== undefined ? { sinceUnixNano: since.toString() } : {}), ...(until !== undefined ? { untilUnixNano: until.toString() } : {}) };
}

function isoOf(unixNano: string): string {
  return new Date(Number(BigInt(unixNano) / 1_000_000n)).toISOString();
}

/** AnalysedTrace -> what the diff keeps of it; caches component keys and frame names. */
export class DiffTraceConverter {
  private readonly keys = new ComponentKeys();
  private readonly frames = new Map<string, string>();

  trace(a: AnalysedTrace): DiffTraceInput {
    const { trace, analysis } = a;
    const components = [...a.components.values()].map((c) => ({ service: c.service, operation: c.operation, ns: c.ns, frame: this.frame(c.service, c.operation) }));
    const calls = new Map<string, { service: string; operation: string; count: number }>();
    for (const s of trace.spans) {
      const k = this.keys.get(s.resource.service, s.name);
      const c = calls.get(k);
      if (c) c.count++;
      else calls.set(k, { service: s.resource.service, operation: s.name, count: 1 });
    }
    return { service: a.endpoint.service, operation: a.endpoint.operation, durationNs: analysis.durationNs, components, calls: calls.values(), stacks: pathStacks(a) };
  }

  private frame(service: string, operation: string): string {
    const k = this.keys.get(service, operation);
    let f = this.frames.get(k);
    if (f === undefined) this.frames.set(k, (f = frameName(service, operation)));
    return f;
  }
}
