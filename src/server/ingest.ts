// Between the receivers and the store: a bounded queue with group commit. Requests decoded in
// the same turn of the event loop are written in one transaction; each is acknowledged only
// after that transaction commits. When the group's transaction fails, each request is written
// again alone, so that one request the store cannot take never refuses the others. When the queue, or the analysis behind it, is full, a
// receiver is told "busy" at once (HTTP 503 / gRPC UNAVAILABLE) instead of memory growing.
import { UnstorableRequest } from '../../collectors/otlp-http.js';
import type { SpanInput } from '../model/span.js';
import { nowUnixNano } from '../model/time.js';
import { isPermanentStoreError, type SpanStore, type StoredBatch } from '../store/span-store.js';
import type { LiveAnalysis } from './live-analysis.js';

export interface IngestOptions {
  /** Spans decoded but not yet committed, at most. */
  readonly maxQueuedSpans: number;
}

interface Waiting {
  readonly batch: StoredBatch;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export type SubmitResult = Promise<void> | 'busy';

export class Ingest {
  private queue: Waiting[] = [];
  private queuedSpans = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly store: SpanStore,
    private readonly live: LiveAnalysis,
    private readonly opts: IngestOptions,
  ) {}

  get queued(): number {
    return this.queuedSpans;
  }

  /** True when a new request would be refused (checked before reading a body, to save the work). */
  busy(): boolean {
    return this.closed || this.queuedSpans >= this.opts.maxQueuedSpans || this.live.saturated();
  }

  /** Resolves once the spans are committed; rejects when the store refused them. */
  submit(spans: readonly SpanInput[]): SubmitResult {
    if (this.closed || this.live.saturated()) return 'busy';
    // One oversized request is still admitted into an empty queue: --max-body bounds it.
    if (this.queuedSpans > 0 && this.queuedSpans + spans.length > this.opts.maxQueuedSpans) return 'busy';
    if (spans.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ batch: { spans, receivedNs: nowUnixNano() }, resolve, reject });
      this.queuedSpans += spans.length;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commit());
      }
    });
  }

  private commit(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    this.queuedSpans = 0;
    if (batch.length === 0) return;
    try {
      this.store.append(batch.map((w) => w.batch));
    } catch (e) {
      if (batch.length === 1) return void this.refuse(batch[0], e);
      // Nothing of the group was committed: each request alone, so only the guilty one fails.
      for (const w of batch) this.commitAlone(w);
      return;
    }
    for (const w of batch) this.live.touch(w.batch.spans);
    for (const w of batch) w.resolve();
  }

  private commitAlone(w: Waiting): void {
    try {
      this.store.append([w.batch]);
    } catch (e) {
      return this.refuse(w, e);
    }
    this.live.touch(w.batch.spans);
    w.resolve();
  }

  /** Data the store can never hold is answered "do not retry"; anything else (disk full, I/O) "retry later". */
  private refuse(w: Waiting | undefined, e: unknown): void {
    if (!w) return;
    if (isPermanentStoreError(e)) w.reject(new UnstorableRequest(`the span store cannot hold this request's data (${e instanceof Error ? e.message : String(e)}); it was not stored`));
    else w.reject(e);
  }

  /** Refuses new spans and commits what is queued (graceful shutdown). */
  close(): void {
    this.closed = true;
    this.commit();
  }
}
