// One partition's durable JetStream consumer, while this analyser holds its lease: messages are
// decoded, their spans committed to PostgreSQL in one transaction per batch, and only then
// acknowledged (issue 11: nothing acked that is not stored). While the store refuses, the
// batch is retried and its messages kept alive with in-progress acks; nothing more is fetched
// meanwhile (max_ack_pending bounds what JetStream hands out).
import { AckPolicy, DeliverPolicy, nanos, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from 'nats';
import type { ResourceInterner, SpanInput } from '../model/span.js';
import { nowUnixNano } from '../model/time.js';
import type { PgStore } from '../store/pg-store.js';
import { decodeSpanMessage } from './span-codec.js';
import { partitionSubject } from './stream.js';

export interface ConsumerOptions {
  readonly stream: string;
  readonly partitions: number;
  /** JetStream redelivers a message not acked within this (the dead owner's, to the next one). */
  readonly ackWaitMs: number;
  readonly log: (line: string) => void;
}

/** What the analyser is told after each committed batch. */
export interface Committed {
  readonly partition: number;
  readonly traces: readonly string[];
  readonly spans: number;
}

/** Messages JetStream hands out to one partition's consumer before acks, at most. */
const MAX_ACK_PENDING = 512;

export function durableName(p: number): string {
  return `cpath-p${p}`;
}

/** Creates the partition's durable consumer, or finds it (every analyser may). */
export async function ensureConsumer(jsm: JetStreamManager, o: ConsumerOptions, p: number): Promise<void> {
  const name = durableName(p);
  try {
    await jsm.consumers.info(o.stream, name);
    return;
  } catch {
    // not there yet
  }
  try {
    await jsm.consumers.add(o.stream, {
      durable_name: name,
      filter_subject: partitionSubject(p),
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(o.ackWaitMs),
      max_ack_pending: MAX_ACK_PENDING,
      deliver_policy: DeliverPolicy.All,
    });
  } catch (e) {
    // Another analyser created it in between: fine if it is there now.
    await jsm.consumers.info(o.stream, name).catch(() => {
      throw e;
    });
  }
}

export class PartitionConsumer {
  private messages: ConsumerMessages | undefined;
  private readonly pending: JsMsg[] = [];
  private flushing: Promise<void> | undefined;
  private stopped = false;
  /** Messages received and not yet acknowledged or terminated. */
  unacked = 0;
  invalid = 0;
  /** Last batch's commit time, ms (for /metrics). */
  lastWriteMs = 0;

  constructor(
    readonly partition: number,
    private readonly js: JetStreamClient,
    private readonly store: PgStore,
    private readonly resources: ResourceInterner,
    private readonly o: ConsumerOptions,
    private readonly committed: (c: Committed) => void,
    /** True while the analysis is too far behind: stop taking spans. */
    private readonly saturated: () => boolean,
  ) {}

  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(this.o.stream, durableName(this.partition));
    if (this.stopped) return;
    this.messages = await consumer.consume({
      max_messages: 256,
      callback: (m) => {
        this.unacked++;
        this.pending.push(m);
        this.flushing ??= this.flushLoop().finally(() => (this.flushing = undefined));
      },
    });
  }

  /** Stops taking messages; waits (at most `waitMs`) for what was taken to be committed. Unacked messages are redelivered later. */
  async stop(waitMs: number): Promise<void> {
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    const flushing = this.flushing;
    if (flushing) await Promise.race([flushing, new Promise((r) => setTimeout(r, waitMs).unref())]);
  }

  private async flushLoop(): Promise<void> {
    let backoff = 100;
    while (this.pending.length > 0) {
      while (this.saturated() && !this.stopped) {
        this.keepAlive(this.pending);
        await sleep(200);
      }
      const batch = this.pending.splice(0, 256);
      const spans: SpanInput[] = [];
      const good: JsMsg[] = [];
      for (const m of batch) {
        const d = decodeSpanMessage(m.data, this.resources, `nats ${m.subject}#${m.seq}`);
        if (d.ok) {
          for (const s of d.spans) spans.push(s);
          good.push(m);
        } else {
          // Never retried: it can never decode. Counted and logged, not silent.
          this.invalid++;
          this.o.log(`partition ${this.partition}: message dropped: ${d.message}`);
          m.term();
          this.unacked--;
        }
      }
      for (;;) {
        try {
          const t0 = performance.now();
          const r = await this.store.append(spans, nowUnixNano(), this.o.partitions);
          this.lastWriteMs = performance.now() - t0;
          for (const m of good) m.ack();
          this.unacked -= good.length;
          backoff = 100;
          this.committed({ partition: this.partition, traces: r.traces, spans: spans.length });
          break;
        } catch (e) {
          if (this.stopped) return; // redelivered to whoever owns the partition next
          this.o.log(`partition ${this.partition}: store write failed (${e instanceof Error ? e.message : String(e)}); retrying, nothing acknowledged`);
          // The batch and the messages queued behind it: JetStream must not redeliver any of
          // them while the store is down (each copy would be queued again, without bound).
          this.keepAlive(good);
          this.keepAlive(this.pending);
          await sleep(backoff);
          backoff = Math.min(5_000, this.o.ackWaitMs / 3, backoff * 2);
        }
      }
    }
  }

  /** In-progress acks: JetStream must not hand these to another consumer while this one retries. */
  private keepAlive(msgs: readonly JsMsg[]): void {
    for (const m of msgs) m.working();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
