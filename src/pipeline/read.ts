// Stage 1: the inputs read into traces (span files, a `cpath serve` store) and thread models
// (event logs of `cpath record`), with every problem counted in the diagnostics.
import { InputError, readInput, type InputFormat, type InputSummary } from '../../collectors/index.js';
import { buildThreadModel } from '../../analysis/threads/timelines.js';
import type { ThreadModel } from '../../analysis/threads/types.js';
import type { TraceFilter } from '../../analysis/filters.js';
import type { Diagnostics } from '../model/diagnostics.js';
import type { EventLog } from '../model/event-log.js';
import { ResourceInterner, type SpanInput } from '../model/span.js';
import { TraceSetBuilder, type Trace } from '../model/trace-builder.js';
import { readStore } from '../store/store-input.js';
import { isPostgresUrl } from '../store/store-url.js';

export interface ReadRequest {
  readonly files: readonly string[];
  /** Event logs of `cpath record` (`--threads`): only that format is accepted there. */
  readonly threads?: readonly string[];
  /** A `cpath serve` store (`--store`): a directory (SQLite) or a postgres:// URL (the cluster's store), read after the files. */
  readonly store?: string;
  readonly inputFormat?: InputFormat;
  /** Span attributes to keep (see `attributesToKeep`); undefined keeps them all. */
  readonly attributeKeys?: ReadonlySet<string>;
  /** Only the stored traces that may start in this window are read from the store. */
  readonly storeWindow?: Pick<TraceFilter, 'sinceNs' | 'untilNs'>;
  readonly onBytes?: (file: string, bytesRead: number) => void;
}

export interface ReadInputs {
  /** Every trace built, in no particular order. */
  readonly traces: Trace[];
  /** Valid spans read (after dropping resends). */
  readonly spanCount: number;
  /** One per event log. */
  readonly models: readonly ThreadModel[];
  /** What each file and event log held, in the order given. */
  readonly inputs: readonly InputSummary[];
}

/**
 * Span attributes are most of the memory: keep only those a filter or --group-by reads (and
 * `thread.id`, which places spans on threads when an event log comes with them), unless the
 * output shows spans in full.
 */
export function attributesToKeep(groupBy: string | undefined, filter: TraceFilter, all: boolean): ReadonlySet<string> | undefined {
  if (all) return undefined;
  return new Set(['thread.id', ...(groupBy !== undefined ? [groupBy] : []), ...(filter.where ?? []).map((w) => w.key)]);
}

export async function readInputs(req: ReadRequest, diag: Diagnostics): Promise<ReadInputs> {
  const builder = new TraceSetBuilder(diag);
  const logs: EventLog[] = [];
  const sink = { diag, resources: new ResourceInterner(), emit: (s: SpanInput) => builder.add(s), eventLog: (l: EventLog) => logs.push(l) };
  const inputs: InputSummary[] = [];
  for (const file of req.files) {
    inputs.push(
      await readInput(file, sink, {
        ...(req.inputFormat ? { format: req.inputFormat } : {}),
        ...(req.attributeKeys ? { attributeKeys: req.attributeKeys } : {}),
        onBytes: (b) => req.onBytes?.(file, b),
      }),
    );
  }
  for (const file of req.threads ?? []) {
    const summary = await readInput(file, sink, { onBytes: (b) => req.onBytes?.(file, b) });
    if (summary.format !== 'cpath-events') throw new InputError(`${file}: --threads takes an event log of cpath record, not ${summary.format ?? 'an empty input'}`);
    inputs.push(summary);
  }
  if (req.store !== undefined) {
    // the PostgreSQL driver is loaded only when a URL asks for it
    if (isPostgresUrl(req.store)) await (await import('../store/pg-store.js')).readPgStore(req.store, sink, req.storeWindow?.sinceNs, req.storeWindow?.untilNs);
    else readStore(req.store, sink, req.storeWindow?.sinceNs, req.storeWindow?.untilNs);
  }
  const models = logs.map((l) => buildThreadModel(l, diag));
  logs.length = 0;
  const { traces, spanCount } = builder.build();
  return { traces, spanCount, models, inputs };
}
