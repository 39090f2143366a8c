// The receiver role's sink: a request's spans are split by partition, cut into messages and
// published to JetStream; the request is acknowledged only when every publish is (the
// durability point is JetStream's ack, issue 11). A publish that fails or times out fails the
// request (503: the exporter retries; spans already published are deduplicated downstream by
// trace id + span id). Spans in flight are bounded: past the bound, receivers answer busy.
//
// Requests decoded in the same turn of the event loop are published together (one message per
// partition for all of them, like the single node's group commit): with P = 16 a request of 512
// spans alone makes 16 messages of 32 spans, and the per-message cost dominated the receiver.
import type { JetStreamClient } from 'nats';
import type { SpanInput } from '../model/span.js';
import { encodeSpanMessages } from './span-codec.js';
import { partitionSubject, splitByPartition } from './stream.js';

export interface PublisherOptions {
  readonly partitions: number;
  /** Spans published and not yet acknowledged by JetStream, at most (beyond: busy). */
  readonly maxInflightSpans: number;
  /** How long to wait for JetStream's ack of one message. */
  readonly timeoutMs: number;
  /** Largest message (NATS' max_payload less room for headers). */
  readonly maxMessageBytes: number;
}

/** Counters for /metrics. */
export interface PublisherCounts {
  messages: number;
  acked: number;
  failed: number;
  spans: number;
}

interface Waiting {
  readonly spans: readonly SpanInput[];
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class SpanPublisher {
  private inflight = 0;
  private closed = false;
  private group: Waiting[] = [];
  readonly counts: PublisherCounts = { messages: 0, acked: 0, failed: 0, spans: 0 };

  constructor(
    private readonly js: JetStreamClient,
    private readonly opts: PublisherOptions,
  ) {}

  get inflightSpans(): number {
    return this.inflight;
  }

  busy(): boolean {
    return this.closed || this.inflight >= this.opts.maxInflightSpans;
  }

  /** Resolves once JetStream stored every span; rejects when a publish failed (retryable). */
  submit(spans: readonly SpanInput[]): Promise<void> | 'busy' {
    if (this.closed) return 'busy';
    // One oversized request is still admitted when nothing is in flight: --max-body bounds it.
    if (this.inflight > 0 && this.inflight + spans.length > this.opts.maxInflightSpans) return 'busy';
    if (spans.length === 0) return Promise.resolve();
    this.inflight += spans.length;
    return new Promise<void>((resolve, reject) => {
      if (this.group.length === 0) setImmediate(() => this.flushGroup());
      this.group.push({ spans, resolve, reject });
    }).finally(() => (this.inflight -= spans.length));
  }

  /** Publishes this turn's requests together; each is answered when every message is acknowledged. */
  private flushGroup(): void {
    const group = this.group;
    this.group = [];
    const spans = group.length === 1 ? (group[0]?.spans ?? []) : group.flatMap((w) => w.spans);
    this.publishAll(spans).then(
      () => group.forEach((w) => w.resolve()),
      (e: unknown) => group.forEach((w) => w.reject(e instanceof Error ? e : new Error(String(e)))),
    );
  }

  private async publishAll(spans: readonly SpanInput[]): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const [p, list] of splitByPartition(spans, this.opts.partitions)) {
      for (const data of encodeSpanMessages(list, this.opts.maxMessageBytes)) sends.push(this.publish(partitionSubject(p), data));
    }
    // Every publish settles before the answer (allSettled): none is left running behind a 503.
    const results = await Promise.allSettled(sends);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    this.counts.spans += spans.length;
  }

  private async publish(subject: string, data: Buffer): Promise<void> {
    this.counts.messages++;
    try {
      await this.js.publish(subject, data, { timeout: this.opts.timeoutMs });
      this.counts.acked++;
    } catch (e) {
      this.counts.failed++;
      throw new Error(`JetStream did not acknowledge a publish to ${subject}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Refuses new requests; those in flight finish. */
  close(): void {
    this.closed = true;
  }
}
