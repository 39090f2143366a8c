// One partition's durable JetStream consumer, while this analyser holds its lease: messages are
// decoded, their spans committed to PostgreSQL in one transaction per batch, and only then
// acknowledged (issue 11: nothing acked that is not stored). While the store refuses, the
// batch is retried and its messages kept alive with in-progress acks; nothing more is fetched
// meanwhile (max_ack_pending bounds what JetStream hands out).
import { AckPolicy, DeliverPolicy, nanos, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from 'nats';
import type { ResourceInterner, SpanInput } from '../model/span.js';
import { nowUnixNano } from '../model/time.js';
import type { PgAppendResult, PgStore } from '../store/pg-store.js';
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
  /** The spans committed (resends included: PostgreSQL kept the first copy). */
  readonly spans: readonly SpanInput[];
  readonly result: PgAppendResult;
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

/**
 * One partition's subscription while this analyser holds its lease. Messages go to the
 * analyser's one SpanCommitter, which commits every partition's messages together.
 */
export class PartitionConsumer {
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  /** Messages received and not yet acknowledged or terminated. */
  unacked = 0;
  /** Messages acknowledged or terminated so far (in the order they were taken: one committer, first in, first out). */
  settledCount = 0;
  invalid = 0;

  constructor(
    readonly partition: number,
    private readonly js: JetStreamClient,
    private readonly o: ConsumerOptions,
    private readonly committer: SpanCommitter,
  ) {}

  get active(): boolean {
    return !this.stopped;
  }

  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(this.o.stream, durableName(this.partition));
    if (this.stopped) return;
    this.messages = await consumer.consume({
      max_messages: 256,
      callback: (m) => {
        this.unacked++;
        this.committer.take(this, m);
      },
    });
  }

  /**
   * Stops taking messages; waits (at most `waitMs`) for what was taken to be committed. What is
   * not acked by then is dropped here and redelivered by JetStream to the next owner.
   */
  async stop(waitMs: number): Promise<void> {
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    await this.committer.settled(this, waitMs);
  }
}

/**
 * Commits the spans of every owned partition's messages in one transaction per round (fewer,
 * larger transactions: the statements of a commit, not its rows, dominated the analyser's CPU),
 * then acks them. While the store refuses, the round is retried with back-off and every message
 * taken is kept alive with in-progress acks, so that JetStream does not hand it out again.
 */
export class SpanCommitter {
  private pending: { from: PartitionConsumer; m: JsMsg }[] = [];
  private flushing: Promise<void> | undefined;
  /** Last round's commit time, ms (for /metrics). */
  lastWriteMs = 0;

  constructor(
    private readonly store: PgStore,
    private readonly resources: ResourceInterner,
    private readonly o: Pick<ConsumerOptions, 'partitions' | 'ackWaitMs' | 'log'>,
    private readonly committed: (c: Committed) => void,
    /** True while the analysis is too far behind: stop taking spans. */
    private readonly saturated: () => boolean,
  ) {}

  take(from: PartitionConsumer, m: JsMsg): void {
    this.pending.push({ from, m });
    this.flushing ??= this.flushLoop().finally(() => (this.flushing = undefined));
  }

  /** Resolves once nothing of `c` waits (or after `waitMs`); then drops what of it is left. */
  async settled(c: PartitionConsumer, waitMs: number): Promise<void> {
    const end = Date.now() + waitMs;
    while (this.flushing && Date.now() < end && this.pending.some((x) => x.from === c)) await sleep(20);
    this.pending = this.pending.filter((x) => x.from !== c);
  }

  private async flushLoop(): Promise<void> {
    let backoff = 100;
    while (this.pending.length > 0) {
      while (this.saturated() && this.pending.length > 0) {
        this.keepAlive(this.pending);
        await sleep(200);
      }
      const batch = this.pending.splice(0, 2048).filter((x) => x.from.active);
      const spans: SpanInput[] = [];
      const good: { from: PartitionConsumer; m: JsMsg }[] = [];
      for (const x of batch) {
        const d = decodeSpanMessage(x.m.data, this.resources, `nats ${x.m.subject}#${x.m.seq}`);
        if (d.ok) {
          for (const s of d.spans) spans.push(s);
          good.push(x);
        } else {
          // Never retried: it can never decode. Counted and logged, not silent.
          x.from.invalid++;
          this.o.log(`partition ${x.from.partition}: message dropped: ${d.message}`);
          x.m.term();
          x.from.unacked--;
          x.from.settledCount++;
        }
      }
      for (;;) {
        const live = good.filter((x) => x.from.active);
        if (live.length === 0) break; // every partition of the round was given up: redelivered to the next owners
        try {
          const t0 = performance.now();
          const r = await this.store.append(spans, nowUnixNano(), this.o.partitions);
          this.lastWriteMs = performance.now() - t0;
          for (const x of good) {
            x.m.ack();
            x.from.unacked--;
            x.from.settledCount++;
          x.from.settledCount++;
          }
          backoff = 100;
          this.committed({ spans, result: r });
          break;
        } catch (e) {
          this.o.log(`store write failed (${e instanceof Error ? e.message : String(e)}); retrying, nothing acknowledged`);
          // The round and the messages queued behind it: JetStream must not redeliver any of
          // them while the store is down (each copy would be queued again, without bound).
          this.keepAlive(good);
          this.keepAlive(this.pending);
          await sleep(backoff);
          backoff = Math.min(5_000, this.o.ackWaitMs / 3, backoff * 2);
        }
      }
    }
  }

  private keepAlive(msgs: readonly { m: JsMsg }[]): void {
    for (const x of msgs) x.m.working();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
