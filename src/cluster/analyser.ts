// The analyser role: holds leases on partitions (leases.ts), consumes them (partition-consumer.ts)
// and analyses each trace once no span of it arrived for the idle window, as the single node
// does, from the spans committed to PostgreSQL. All spans of a trace are on one partition, so
// one analyser sees a whole trace; a trace that gets late spans is dirty again and re-analysed.
//
// A partition just taken over may still have messages the previous owner fetched and never
// acked: JetStream hands them out again only after the ack wait. Until then the partition's
// traces are not analysed (they might be missing those spans): no trace is analysed from half
// its spans, and none is lost.
import { hostname } from 'node:os';
import type { JetStreamClient, JetStreamManager, KV } from 'nats';
import { addGranularity } from '../../analysis/granularity.js';
import { traceOutline } from '../../analysis/trace-outline.js';
import { analyzeTrace } from '../../analysis/trace-analysis.js';
import { ComponentKeys, summarizeTrace } from '../../analysis/trace-summary.js';
import { Diagnostics } from '../model/diagnostics.js';
import { partitionOf } from '../model/partition.js';
import { ResourceInterner, type ResourceInfo, type SpanInput } from '../model/span.js';
import { TraceSetBuilder } from '../model/trace-builder.js';
import type { PgAnalysis, PgStore } from '../store/pg-store.js';
import { PartitionLeases } from './leases.js';
import { PartitionConsumer, SpanCommitter, durableName, ensureConsumer, type Committed } from './partition-consumer.js';

export interface AnalyserOptions {
  readonly stream: string;
  readonly partitions: number;
  /** Quiet time after a trace's last batch before it is analysed, ms. */
  readonly idleMs: number;
  readonly skewAdjust: boolean;
  /** Lease time: a dead analyser's partitions move after at most this (plus the ack wait). */
  readonly leaseTtlMs: number;
  /** Traces waiting for analysis beyond which consumption pauses. */
  readonly maxPendingTraces: number;
  /** Spans kept in memory for their traces' analysis, at most (default 200,000). */
  readonly maxBufferedSpans?: number;
  readonly nodeId?: string;
  readonly log: (line: string) => void;
}

/** Traces analysed per store round trip. */
const ANALYSIS_BATCH = 64;

export class ClusterAnalyser {
  readonly nodeId: string;
  readonly resources = new ResourceInterner();
  private readonly leases: PartitionLeases;
  private readonly consumers = new Map<number, PartitionConsumer>();
  private readonly committer: SpanCommitter;
  /** Per held partition, its claim: a takeover tried again belongs to the claim it was made for. */
  private readonly claims = new Map<number, object>();
  /** Partitions whose traces may be analysed (nothing of the previous owner's left to redeliver). */
  private readonly ready = new Set<number>();
  /** Traces with unanalysed spans, by last batch time (ms), oldest first. */
  private readonly open = new Map<string, number>();
  /**
   * Spans of traces this analyser saw created, kept until their analysis so that it need not read
   * them back from PostgreSQL (the single node measured that read at a third of its CPU), with
   * the row version of the last batch. A trace created elsewhere (before a takeover) is read back.
   */
  private readonly buffered = new Map<string, { spans: SpanInput[]; ids: Set<string>; version: bigint }>();
  private bufferedSpans = 0;
  private readonly granularity = new Map<ResourceInfo, number>();
  /** Granularity per resource as the store had it at the last exchange. */
  private shared = new Map<ResourceInfo, number>();
  private readonly keys = new ComponentKeys();
  private timer: NodeJS.Timeout | undefined;
  private working = false;
  private stopped = false;
  /** Analyses saved (a re-analysed trace counts again). */
  analysed = 0;
  failures = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    kv: KV,
    private readonly store: PgStore,
    private readonly o: AnalyserOptions,
  ) {
    this.nodeId = o.nodeId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.committer = new SpanCommitter(store, this.resources, { partitions: o.partitions, ackWaitMs: o.leaseTtlMs, log: o.log }, (x) => this.committed(x), () => this.open.size >= this.o.maxPendingTraces);
    this.leases = new PartitionLeases(kv, { partitions: o.partitions, nodeId: this.nodeId, ttlMs: o.leaseTtlMs, log: o.log }, { claimed: (p) => this.claimed(p), released: (p, why) => this.released(p, why) });
  }

  start(): void {
    this.o.log(`analyser ${this.nodeId}: ${this.o.partitions} partitions, lease ${this.o.leaseTtlMs} ms`);
    this.leases.start();
  }

  owned(): number[] {
    return this.leases.owned();
  }

  get pending(): number {
    return this.open.size;
  }

  get members(): number {
    return this.leases.members;
  }

  /** Per owned partition: messages taken and not acked, and the last write time. */
  consumerStats(): { partition: number; unacked: number; invalid: number }[] {
    return [...this.consumers.values()].map((c) => ({ partition: c.partition, unacked: c.unacked, invalid: c.invalid }));
  }

  /** The last span commit's duration, ms. */
  get lastWriteMs(): number {
    return this.committer.lastWriteMs;
  }

  /** Messages waiting in JetStream per owned partition (consumer lag). */
  async lag(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const p of this.owned()) {
      const info = await this.jsm.consumers.info(this.o.stream, durableName(p)).catch(() => undefined);
      if (info) out.set(p, info.num_pending + info.num_ack_pending);
    }
    return out;
  }

  private claimed(p: number): void {
    const claim = {};
    this.claims.set(p, claim);
    // Not awaited: the lease round must go on renewing.
    void this.startPartition(p, claim);
  }

  /**
   * Takes the partition over. A takeover that fails (PostgreSQL or JetStream unreachable) is
   * undone and tried again as long as the claim stands: the lease stays ours and is renewed, so
   * nobody else would ever consume or analyse the partition.
   */
  private async startPartition(p: number, claim: object): Promise<void> {
    for (let wait = 500; this.claims.get(p) === claim && !this.stopped; wait = Math.min(5_000, wait * 2)) {
      try {
        await this.takeOver(p, claim);
        return;
      } catch (e) {
        this.o.log(`partition ${p}: cannot start consuming: ${e instanceof Error ? e.message : String(e)}; trying again in ${wait} ms`);
        const c = this.consumers.get(p);
        if (c && this.claims.get(p) === claim) {
          this.consumers.delete(p);
          await c.stop(0);
        }
        await new Promise((r) => setTimeout(r, wait).unref());
      }
    }
  }

  private async takeOver(p: number, claim: object): Promise<void> {
    await ensureConsumer(this.jsm, { stream: this.o.stream, partitions: this.o.partitions, ackWaitMs: this.o.leaseTtlMs, log: this.o.log }, p);
    const info = await this.jsm.consumers.info(this.o.stream, durableName(p));
    // Lost (or given back) in between: not ours to consume.
    if (this.claims.get(p) !== claim || this.stopped) return;
    const c = new PartitionConsumer(p, this.js, { stream: this.o.stream, partitions: this.o.partitions, ackWaitMs: this.o.leaseTtlMs, log: this.o.log }, this.committer);
    this.consumers.set(p, c);
    await c.start();
    // The traces the previous owner left unanalysed.
    const dirty = await this.store.dirtyTraces([p]);
    if (this.consumers.get(p) !== c) return; // released meanwhile
    const now = Date.now();
    for (const id of dirty) this.touch(id, now);
    if (info.num_ack_pending > 0) this.o.log(`partition ${p}: ${info.num_ack_pending} messages of the previous owner not acknowledged; analysis waits for their redelivery (${this.o.leaseTtlMs} ms at most)`);
    void this.whenCaughtUp(p, c).then(() => {
      if (this.consumers.get(p) !== c) return;
      this.ready.add(p);
      this.schedule();
    });
  }

  /**
   * Resolves once this consumer holds every message of the partition that was delivered before
   * (the previous owner's, redelivered after the ack wait) and has taken the backlog that
   * waited in the stream: only then are the partition's traces whole. Checked every 250 ms; after
   * three ack waits the partition is analysed anyway (a backlog that never drains must not stop
   * the analysis for good: late spans are re-analysed).
   */
  private async whenCaughtUp(p: number, c: PartitionConsumer): Promise<void> {
    const giveUp = Date.now() + 3 * this.o.leaseTtlMs;
    while (this.consumers.get(p) === c && Date.now() < giveUp) {
      const info = await this.jsm.consumers.info(this.o.stream, durableName(p)).catch(() => undefined);
      if (info && info.num_pending === 0 && info.num_ack_pending <= c.unacked) {
        // Every earlier delivery is ours now: wait until the ones taken so far are committed.
        const target = c.settledCount + c.unacked;
        while (this.consumers.get(p) === c && c.settledCount < target && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 50).unref());
        return;
      }
      await new Promise((r) => setTimeout(r, 250).unref());
    }
  }

  private async released(p: number, why: string): Promise<void> {
    this.claims.delete(p);
    this.ready.delete(p);
    const c = this.consumers.get(p);
    this.consumers.delete(p);
    await c?.stop(why === 'lost' ? 0 : Math.floor(this.o.leaseTtlMs / 3));
    // Its traces are the next owner's now (they stay dirty in the store).
    for (const id of [...this.open.keys()]) if (partitionOf(id, this.o.partitions) === p) this.open.delete(id);
    for (const [id, b] of [...this.buffered]) if (partitionOf(id, this.o.partitions) === p) this.dropBuffer(id, b);
  }

  private committed(c: Committed): void {
    const now = Date.now();
    for (const id of c.result.traces) this.touch(id, now);
    // Over budget, traces created now are not kept (they will be read back): the ones kept are the
    // oldest, the next to be analysed, so a lagging analysis does not turn into read-backs only.
    const room = this.bufferedSpans < (this.o.maxBufferedSpans ?? 200_000);
    if (room) for (const id of c.result.created) if (!this.buffered.has(id)) this.buffered.set(id, { spans: [], ids: new Set(), version: 0n });
    for (const s of c.spans) {
      const b = this.buffered.get(s.traceId);
      // A resend: the store kept the first copy, so does the buffer.
      if (b === undefined || b.ids.has(s.spanId)) continue;
      b.ids.add(s.spanId);
      b.spans.push(s);
      this.bufferedSpans++;
    }
    for (const [id, v] of c.result.versions) {
      const b = this.buffered.get(id);
      if (b) b.version = v;
    }
    this.schedule();
  }

  private dropBuffer(id: string, b: { spans: readonly SpanInput[] }): void {
    this.bufferedSpans -= b.spans.length;
    this.buffered.delete(id);
  }

  private touch(id: string, now: number): void {
    this.open.delete(id);
    this.open.set(id, now);
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.working || this.open.size === 0) return;
    const first = this.open.values().next();
    const wait = first.done ? this.o.idleMs : Math.max(0, first.value + this.o.idleMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.work();
    }, wait);
    this.timer.unref();
  }

  /** Analyses quiet traces of ready partitions, a batch at a time. */
  private async work(): Promise<void> {
    if (this.working || this.stopped) return;
    this.working = true;
    try {
      for (;;) {
        const batch = this.quiet();
        if (batch.length === 0) break;
        try {
          await this.analyseBatch(batch);
        } catch (e) {
          this.failures++;
          this.o.log(`analysis failed: ${e instanceof Error ? e.message : String(e)}; retrying after the idle window`);
          const now = Date.now();
          for (const id of batch) this.touch(id, now);
          break;
        }
      }
    } finally {
      this.working = false;
    }
    this.schedule();
  }

  private quiet(): string[] {
    const cutoff = Date.now() - this.o.idleMs;
    const out: string[] = [];
    for (const [id, seen] of this.open) {
      if (seen > cutoff || out.length >= ANALYSIS_BATCH) break;
      if (!this.ready.has(partitionOf(id, this.o.partitions))) continue;
      this.open.delete(id);
      out.push(id);
    }
    return out;
  }

  private async analyseBatch(ids: readonly string[]): Promise<void> {
    const loaded: { spans: readonly SpanInput[]; version: bigint }[] = [];
    const unbuffered: string[] = [];
    for (const id of ids) {
      const b = this.buffered.get(id);
      if (b) loaded.push(b);
      else unbuffered.push(id);
    }
    for (const r of (await this.store.tracesSpans(unbuffered, this.resources)).values()) loaded.push(r);
    const seen = new Map<ResourceInfo, number>();
    const results: PgAnalysis[] = [];
    for (const { spans, version } of loaded) {
      if (spans.length === 0) continue;
      const diag = new Diagnostics();
      const builder = new TraceSetBuilder(diag);
      for (const s of spans) builder.add(s);
      const trace = builder.build().traces[0];
      if (!trace) continue;
      addGranularity(this.granularity, trace);
      addGranularity(seen, trace);
      const analysis = analyzeTrace(trace, { skewAdjust: this.o.skewAdjust, granularity: this.granularity }, diag);
      const summary = analysis ? summarizeTrace(trace, analysis, undefined, this.keys) : undefined;
      if (summary) {
        let errors = 0;
        for (const s of trace.spans) if (s.status === 'error') errors++;
        results.push({ kind: 'analysed', version, problems: diag.entries(), trace: { summary, spans: trace.spans.length, errors } });
      } else {
        results.push({ kind: 'unanalysable', version, problems: diag.entries(), trace: { traceId: trace.traceId, ...traceOutline(trace), diagnostics: diag.entries() } });
      }
    }
    await this.store.saveAnalyses(results);
    this.analysed += results.length;
    for (const id of ids) {
      const b = this.buffered.get(id);
      if (b) this.dropBuffer(id, b);
    }
    // Share what this batch taught of clock granularity (only news: a resource not yet shared,
    // or a finer clock than shared), and learn the others' on the way.
    const news = new Map<ResourceInfo, number>();
    for (const [r, g] of seen) {
      const known = this.shared.get(r);
      if (known === undefined || g < known) news.set(r, g);
    }
    if (news.size > 0) {
      this.shared = await this.store.mergeGranularity(news, this.resources);
      for (const [r, g] of this.shared) this.granularity.set(r, Math.min(g, this.granularity.get(r) ?? g));
    }
  }

  /** Hands every partition back (what was taken is committed first, within the lease time) and stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.leases.stop();
  }
}
