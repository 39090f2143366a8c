// `cpath analyze --store PATH`: what a `cpath serve` stored, read back as spans. Opened
// read-only, so it works while the server keeps writing.
import type { SpanInput } from '../model/span.js';
import { SpanStore } from './span-store.js';
import type { ImportContext } from '../../collectors/format.js';

/** Emits the spans of every stored trace that may start in [sinceNs, untilNs). Returns the span count. */
export function readStore(dir: string, ctx: Pick<ImportContext, 'resources' | 'emit'>, sinceNs?: bigint, untilNs?: bigint): number {
  const store = SpanStore.openReadOnly(dir);
  let n = 0;
  try {
    for (const s of store.iterateSpans(ctx.resources, sinceNs, untilNs)) {
      ctx.emit(s satisfies SpanInput);
      n++;
    }
  } finally {
    store.close();
  }
  return n;
}
