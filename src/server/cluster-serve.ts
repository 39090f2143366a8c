// `cpath serve --cluster`: one node of a cluster on NATS JetStream and PostgreSQL (issue 11),
// playing one role or several. Receivers publish to the span stream; analysers own partitions
// by lease, commit spans and analyses to PostgreSQL; the api role follows the analyses there.
// Every role answers /healthz and /metrics on --api when given. Everything is checked before
// anything listens: unreachable NATS or PostgreSQL, another P or R: a ClusterError or
// StoreError of one line, and nothing started.
import { createServer, type Server } from 'node:http';
import type { NatsConnection } from 'nats';
import type { OtlpSink } from '../../collectors/otlp-http.js';
import { ClusterAnalyser } from '../cluster/analyser.js';
import { ClusterError } from '../cluster/errors.js';
import { SpanPublisher } from '../cluster/publisher.js';
import { SPAN_STREAM, connectCluster, ensureStream } from '../cluster/stream.js';
import { Diagnostics } from '../model/diagnostics.js';
import { DEFAULT_SPAN_LIMITS } from '../model/limits.js';
import { ResourceInterner } from '../model/span.js';
import { nowUnixNano } from '../model/time.js';
import { PgStore } from '../store/pg-store.js';
import { createApiHandler } from './api.js';
import { TokenCheck } from './auth.js';
import { ClusterQuery } from './cluster-query.js';
import { hostPolicy } from './host-check.js';
import { Metrics } from './metrics.js';
import { closeHttp, listen, startReceivers, type Listen, type Receivers } from './receivers.js';
import type { RetentionPolicy } from './retention.js';
import type { SharedServeOptions } from './serve.js';

export type ClusterRole = 'receiver' | 'analyser' | 'api';

export interface ClusterServeOptions extends SharedServeOptions {
  /** NATS server URLs. */
  readonly cluster: readonly string[];
  readonly roles: ReadonlySet<ClusterRole>;
  readonly partitions: number;
  readonly replicas: number;
  /** postgres:// URL (analyser and api roles). */
  readonly storeUrl?: string;
  readonly otlpHttp?: Listen;
  readonly otlpGrpc?: Listen;
  /** Undefined: no HTTP at all (a receiver or analyser may run without). */
  readonly api?: Listen;
  /** Analyser lease time, ms (default 10 s). */
  readonly leaseTtlMs?: number;
  /** Name of the stream (tests run several clusters on one NATS). */
  readonly streamName?: string;
}

export interface RunningClusterNode {
  readonly addresses: { readonly otlpHttp?: string; readonly otlpGrpc?: string; readonly api?: string };
  readonly analyser?: ClusterAnalyser;
  readonly query?: ClusterQuery;
  readonly publisher?: SpanPublisher;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

const LEASE_BUCKET = 'cpath-leases';

export async function startClusterNode(o: ClusterServeOptions): Promise<RunningClusterNode> {
  const roles = o.roles;
  if ((roles.has('analyser') || roles.has('api')) && o.storeUrl === undefined) throw new ClusterError('the analyser and api roles need --store postgres://...');
  const streamName = o.streamName ?? SPAN_STREAM;
  const leaseTtlMs = o.leaseTtlMs ?? 10_000;
  const { nc, jsm } = await connectCluster(o.cluster, { name: `cpath ${[...roles].join('+')}` });
  const undo: (() => Promise<unknown>)[] = [() => nc.close()];
  const unwind = async (): Promise<void> => {
    for (const f of undo.reverse()) await f().catch(() => undefined);
  };
  try {
    // PostgreSQL before the stream: a node that cannot reach its store creates nothing in
    // JetStream (P is fixed by the first node that creates the stream) and says one line only.
    const store = o.storeUrl !== undefined && (roles.has('analyser') || roles.has('api')) ? await PgStore.open(o.storeUrl, { create: true, maxConnections: 8 }) : undefined;
    if (store) undo.push(() => store.close());
    const stream = await ensureStream(jsm, { partitions: o.partitions, replicas: o.replicas, name: streamName });
    o.log(`roles ${[...roles].join(', ')}; NATS ${o.cluster.join(',')}: stream ${stream.name} (${stream.partitions} partitions, ${stream.replicas} replicas${stream.created ? ', created now' : ''})`);
    const js = nc.jetstream();
    const metrics = new Metrics();
    const token = new TokenCheck(o.token);

    let publisher: SpanPublisher | undefined;
    let receivers: Receivers | undefined;
    if (roles.has('receiver')) {
      const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
      publisher = new SpanPublisher(js, { partitions: o.partitions, maxInflightSpans: o.maxQueuedSpans, timeoutMs: 5_000, maxMessageBytes: Math.max(16 * 1024, maxPayload - 4096) });
      receivers = await startReceivers({ ...(o.otlpHttp ? { otlpHttp: o.otlpHttp } : {}), ...(o.otlpGrpc ? { otlpGrpc: o.otlpGrpc } : {}), sink: receiverSink(publisher, metrics, o), token, maxBody: o.maxBody, cors: o.cors });
      const r = receivers;
      undo.push(() => r.close());
      receiverMetrics(metrics, publisher);
    }

    let analyser: ClusterAnalyser | undefined;
    if (roles.has('analyser') && store) {
      const kv = await js.views.kv(LEASE_BUCKET, { ttl: leaseTtlMs, history: 1, replicas: o.replicas }).catch((e: unknown) => {
        throw new ClusterError(`cannot open the lease bucket ${LEASE_BUCKET} in JetStream: ${e instanceof Error ? e.message : String(e)}`);
      });
      analyser = new ClusterAnalyser(js, jsm, kv, store, { stream: streamName, partitions: o.partitions, idleMs: o.traceIdleMs, skewAdjust: o.skewAdjust, leaseTtlMs, maxPendingTraces: o.maxPendingTraces, log: o.log });
      analyser.start();
      const a = analyser;
      undo.push(() => a.stop());
      analyserMetrics(metrics, analyser);
    }

    let query: ClusterQuery | undefined;
    if (roles.has('api') && store) {
      query = new ClusterQuery(store, { skewAdjust: o.skewAdjust, outliers: o.outliers, top: o.top, followMs: 500, log: o.log });
      await query.start();
      const q = query;
      undo.push(async () => q.stop());
      metrics.gauge('cpath_traces_stored', 'Analysed traces the api role knows of.', () => q.tracesKnown);
    }

    let api: Server | undefined;
    let apiAddress: string | undefined;
    if (o.api) {
      const settings = { skewAdjust: o.skewAdjust, outliers: o.outliers, top: o.top };
      api = createServer(createApiHandler({ query, health: () => health(nc, roles, query), metrics, token, settings, hosts: hostPolicy(o.api.host, o.allowedHosts ?? []) }));
      apiAddress = await listen(api, o.api, 'query API');
      const s = api;
      undo.push(() => closeHttp(s));
    }

    const retention = analyser && store ? startRetention(store, analyser, o) : undefined;
    let closing: Promise<void> | undefined;
    return {
      addresses: { ...(receivers?.addresses ?? {}), ...(apiAddress !== undefined ? { api: apiAddress } : {}) },
      ...(analyser ? { analyser } : {}),
      ...(query ? { query } : {}),
      ...(publisher ? { publisher } : {}),
      metrics,
      close: () =>
        (closing ??= (async () => {
          if (retention) clearInterval(retention);
          publisher?.close();
          await unwind();
        })()),
    };
  } catch (e) {
    await unwind();
    throw e;
  }
}

function receiverSink(publisher: SpanPublisher, metrics: Metrics, o: ClusterServeOptions): OtlpSink {
  let warned = false;
  return {
    resources: new ResourceInterner(),
    limits: o.spanLimits ?? DEFAULT_SPAN_LIMITS,
    busy: () => publisher.busy(),
    submit: (spans) => publisher.submit(spans),
    // Repairs and rejections are told to the client (partial success) and counted here.
    noteDiagnostics: (d: Diagnostics) => {
      for (const e of d.entries()) metrics.add('cpath_receiver_diagnostics_total', { code: e.code }, e.count);
    },
    count: (e) => {
      if (e.kind === 'answered') metrics.add('cpath_requests_total', { transport: e.transport, code: e.code });
      else if (e.kind === 'accepted') metrics.add('cpath_spans_received_total', { transport: e.transport }, e.spans);
      else if (e.kind === 'rejected') metrics.add('cpath_spans_rejected_total', { reason: e.reason }, e.spans);
      else if (!warned) {
        warned = true;
        o.log(`JetStream refused a publish (${e.error instanceof Error ? e.error.message : String(e.error)}); answering 503 until it works again`);
      }
    },
  };
}

function receiverMetrics(m: Metrics, p: SpanPublisher): void {
  m.gauge('cpath_publish_inflight_spans', 'Spans published to JetStream and not yet acknowledged.', () => p.inflightSpans);
  m.gauge('cpath_published_messages_total', 'Messages published to JetStream.', () => p.counts.messages, 'counter');
  m.gauge('cpath_published_acked_total', 'Publishes JetStream acknowledged.', () => p.counts.acked, 'counter');
  m.gauge('cpath_published_failed_total', 'Publishes that failed or timed out (their requests were answered 503).', () => p.counts.failed, 'counter');
}

function analyserMetrics(m: Metrics, a: ClusterAnalyser): void {
  let lag = new Map<number, number>();
  const refresh = setInterval(() => {
    void a.lag().then((l) => (lag = l)).catch(() => undefined);
  }, 2_000);
  refresh.unref();
  m.labelledGauge('cpath_partition_owned', 'Partitions this analyser holds the lease of (1 per partition).', () => a.owned().map((p) => [{ partition: String(p), node: a.nodeId }, 1] as const));
  m.labelledGauge('cpath_consumer_lag_messages', 'Messages waiting in JetStream or taken and not acknowledged, per owned partition (read every 2 s).', () => [...lag].map(([p, n]) => [{ partition: String(p) }, n] as const));
  m.gauge('cpath_store_write_ms', 'Duration of the last span commit to PostgreSQL (one commit takes every owned partition\'s messages), ms.', () => Math.round(a.lastWriteMs * 1000) / 1000);
  m.labelledGauge('cpath_messages_invalid_total', 'Messages that could not be decoded (terminated, logged).', () => a.consumerStats().map((c) => [{ partition: String(c.partition) }, c.invalid] as const), 'counter');
  m.gauge('cpath_queue_traces', 'Traces waiting for their quiet window to end and their analysis.', () => a.pending);
  m.gauge('cpath_traces_analysed_total', 'Trace analyses saved since start.', () => a.analysed, 'counter');
  m.gauge('cpath_analysers', 'Live analysers seen in the lease bucket.', () => a.members);
}

function health(nc: NatsConnection, roles: ReadonlySet<ClusterRole>, query: ClusterQuery | undefined): { ok: boolean; text: string } {
  const problems: string[] = [];
  if (nc.isClosed()) problems.push('NATS connection closed');
  if (roles.has('api') && query && !query.healthy) problems.push('cannot read PostgreSQL');
  return problems.length === 0 ? { ok: true, text: `ok (${[...roles].join(', ')})` } : { ok: false, text: `unhealthy: ${problems.join('; ')}` };
}

/** Retention runs on the analyser holding partition 0 (one node at a time), every minute. */
function startRetention(store: PgStore, analyser: ClusterAnalyser, o: ClusterServeOptions): NodeJS.Timeout | undefined {
  const policy = o.retention;
  if (policy.maxAgeNs === undefined && policy.maxBytes === undefined) return undefined;
  let running = false;
  const run = async (): Promise<void> => {
    if (running || !analyser.owned().includes(0)) return;
    running = true;
    try {
      const deleted = await retainOnce(store, policy, o.partitions);
      if (deleted > 0) o.log(`retention: ${deleted} traces deleted`);
    } catch (e) {
      o.log(`retention failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      running = false;
    }
  };
  const t = setInterval(() => void run(), 60_000);
  t.unref();
  return t;
}

/** One retention pass over the shared store: whole traces, oldest last batch first. Returns the traces deleted. */
export async function retainOnce(store: PgStore, policy: RetentionPolicy, partitions: number, now = nowUnixNano()): Promise<number> {
  let deleted = 0;
  if (policy.maxAgeNs !== undefined) {
    const cutoff = now - BigInt(policy.maxAgeNs);
    for (;;) {
      const ids = await store.oldestTraces(500, cutoff);
      if (ids.length === 0) break;
      deleted += await store.deleteTraces(ids, partitions, now);
    }
  }
  if (policy.maxBytes !== undefined) {
    // PostgreSQL gives space back only to its own later writes (and reports it late), so one
    // pass deletes about the excess's share of the traces and the next pass looks again.
    const used = await store.usedBytes();
    if (used > policy.maxBytes) {
      const { traces } = await store.storedCounts();
      const ids = await store.oldestTraces(Math.min(5_000, Math.max(1, Math.ceil((traces * (used - policy.maxBytes)) / used))));
      if (ids.length > 0) deleted += await store.deleteTraces(ids, partitions, now);
    }
  }
  return deleted;
}
