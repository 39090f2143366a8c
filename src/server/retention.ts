// --retention and --max-store: whole traces go, oldest (by last batch received) first, in
// small transactions so that receivers keep being served between them.
import type { SpanStore } from '../store/span-store.js';
import { nowUnixNano } from '../model/time.js';

export interface RetentionPolicy {
  /** Delete traces whose last batch arrived longer ago than this, ns. */
  readonly maxAgeNs?: number;
  /** Delete the oldest traces while the store uses more than this many bytes. */
  readonly maxBytes?: number;
}

const CHUNK = 500;

export async function applyRetention(store: SpanStore, policy: RetentionPolicy, forget: (ids: readonly string[]) => void): Promise<{ deleted: number; reason: string; usedBytes: number }> {
  let deleted = 0;
  const reasons: string[] = [];
  if (policy.maxAgeNs !== undefined) {
    const cutoff = nowUnixNano() - BigInt(policy.maxAgeNs);
    let n = 0;
    for (;;) {
      const ids = store.oldestTraces(CHUNK, cutoff);
      if (ids.length === 0) break;
      store.deleteTraces(ids);
      forget(ids);
      n += ids.length;
      await yieldToIo();
    }
    if (n > 0) reasons.push(`${n} older than --retention`);
    deleted += n;
  }
  let used = store.usedBytes();
  if (policy.maxBytes !== undefined && used > policy.maxBytes) {
    let n = 0;
    // Counted once (a count scans the table); the deletions below keep it current.
    let traces = store.counts().traces;
    while (used > policy.maxBytes) {
      // Delete about as many traces as the excess holds, at most a chunk: never far below the limit.
      const perTrace = traces > 0 ? used / traces : used;
      const ids = store.oldestTraces(Math.min(CHUNK, Math.max(1, Math.ceil((used - policy.maxBytes) / perTrace))));
      if (ids.length === 0) break;
      store.deleteTraces(ids);
      forget(ids);
      n += ids.length;
      traces -= ids.length;
      used = store.usedBytes();
      await yieldToIo();
    }
    if (n > 0) reasons.push(`${n} over --max-store`);
    deleted += n;
  }
  if (deleted > 0) {
    store.compact();
    used = store.usedBytes();
  }
  return { deleted, reason: reasons.join(', '), usedBytes: used };
}

function yieldToIo(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
