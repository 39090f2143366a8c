// `cpath serve` as a library call: receivers -> ingest queue -> store -> live analysis -> query
// API. The CLI parses flags and handles signals; tests start it on port 0.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ByteBudget } from '../../collectors/http-body.js';
import { bearerFromMetadata, startOtlpGrpcServer } from '../../collectors/otlp-grpc.js';
import { createOtlpHttpHandler, type OtlpSink, type ReceiverEvent } from '../../collectors/otlp-http.js';
import { OffThreadDecoders } from '../../collectors/otlp-request.js';
import type { OutlierPolicy } from '../../analysis/endpoints.js';
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from '../model/limits.js';
import type { SpanInput } from '../model/span.js';
import { SpanStore, damagedStore, type FsyncMode } from '../store/span-store.js';
import { createApiHandler } from './api.js';
import { TokenCheck } from './auth.js';
import { hostPolicy } from './host-check.js';
import { Forwarder } from './forwarder.js';
import { Ingest } from './ingest.js';
import { LiveAnalysis } from './live-analysis.js';
import { Metrics } from './metrics.js';
import { applyRetention, type RetentionPolicy } from './retention.js';

export interface Listen {
  readonly host: string;
  readonly port: number;
}

export interface ServeOptions {
  /** Undefined: off. */
  readonly otlpHttp?: Listen;
  readonly otlpGrpc?: Listen;
  readonly api: Listen;
  readonly token?: string;
  /** Request size limit after decompression, bytes. */
  readonly maxBody: number;
  readonly cors: readonly string[];
  /** Names besides localhost, 127.0.0.1 and [::1] that the API answers in `Host` (`name` or `name:port`; `*`: any). */
  readonly allowedHosts?: readonly string[];
  readonly forward?: string;
  readonly traceIdleMs: number;
  readonly storeDir: string;
  readonly fsync: FsyncMode;
  readonly retention: RetentionPolicy;
  readonly skewAdjust: boolean;
  readonly outliers: OutlierPolicy;
  readonly top: number;
  /** Spans decoded and waiting for their commit, at most. */
  readonly maxQueuedSpans: number;
  /** Traces waiting for analysis, at most. */
  readonly maxPendingTraces: number;
  /** Attributes, value length, events and links kept per span (default DEFAULT_SPAN_LIMITS). */
  readonly spanLimits?: SpanLimits;
  /** Spans of new traces kept in memory for their analysis (default 200,000); beyond, they are read back from the store. */
  readonly maxBufferedSpans?: number;
  readonly log: (line: string) => void;
}

export interface RunningServer {
  /** `host:port` actually bound, per listener. */
  readonly addresses: { readonly otlpHttp?: string; readonly otlpGrpc?: string; readonly api: string };
  readonly live: LiveAnalysis;
  readonly store: SpanStore;
  readonly metrics: Metrics;
  /** Stops accepting, answers what is in flight, commits, closes the store. */
  close(): Promise<void>;
}

export async function startServe(opts: ServeOptions): Promise<RunningServer> {
  const store = SpanStore.open(opts.storeDir, opts.fsync);
  const metrics = new Metrics();
  const live = new LiveAnalysis(store, { idleMs: opts.traceIdleMs, skewAdjust: opts.skewAdjust, maxPending: opts.maxPendingTraces, maxBufferedSpans: opts.maxBufferedSpans ?? 200_000, outliers: opts.outliers, top: opts.top, onError: opts.log });
  let restored: { traces: number; pending: number };
  try {
    restored = live.restore();
    // Counted once at start (a whole-index read); the store keeps the counts current from here.
    store.counts();
  } catch (e) {
    store.close(opts.log);
    throw damagedStore(store.file, e);
  }
  const stopCheckpointer = store.startCheckpointer(1000);
  if (restored.traces > 0 || restored.pending > 0) opts.log(`store ${store.file}: ${restored.traces} analysed traces restored, ${restored.pending} waiting for analysis`);
  const ingest = new Ingest(store, live, { maxQueuedSpans: opts.maxQueuedSpans });
  const token = new TokenCheck(opts.token);
  const forwarder = opts.forward !== undefined ? new Forwarder({ url: Forwarder.resolveUrl(opts.forward), maxQueuedBytes: 64 * 1024 * 1024, concurrency: 4, timeoutMs: 10_000 }, metrics) : undefined;

  let storeSize = store.usedBytes();
  metrics.gauge('cpath_queue_spans', 'Spans decoded and waiting for their commit.', () => ingest.queued);
  metrics.gauge('cpath_queue_traces', 'Traces waiting for their quiet window to end and their analysis.', () => live.pending);
  metrics.gauge('cpath_traces_stored', 'Analysed traces in the store.', () => live.tracesKnown);
  metrics.gauge('cpath_store_bytes', 'Bytes of the store in use (updated every retention pass).', () => storeSize);
  if (forwarder) metrics.gauge('cpath_forward_queue_requests', 'Requests waiting to be forwarded.', () => forwarder.depth);

  let storeWarned = false;
  const sink: OtlpSink = {
    resources: live.resources,
    limits: opts.spanLimits ?? DEFAULT_SPAN_LIMITS,
    busy: () => ingest.busy(),
    submit: (spans: readonly SpanInput[]) => ingest.submit(spans),
    noteDiagnostics: (d) => live.diag.merge(d),
    ...(forwarder ? { accepted: (body: Buffer, encoding: 'protobuf' | 'json') => forwarder.push(body, encoding) } : {}),
    count: (e: ReceiverEvent) => {
      if (e.kind === 'answered') metrics.add('cpath_requests_total', { transport: e.transport, code: e.code });
      else if (e.kind === 'accepted') metrics.add('cpath_spans_received_total', { transport: e.transport }, e.spans);
      else if (e.kind === 'rejected') metrics.add('cpath_spans_rejected_total', { reason: e.reason }, e.spans);
      else if (!storeWarned) {
        storeWarned = true;
        opts.log(`the store refused a write (${e.error instanceof Error ? e.error.message : String(e.error)}); answering 503 until it works again`);
      }
    },
  };
  metrics.gauge('cpath_traces_analysed_total', 'Trace analyses run since start (a trace reopened by late spans counts again).', () => live.analysed, 'counter');

  // Big request bodies are decoded on worker threads, shared by both receivers.
  const decoders = new OffThreadDecoders();
  const budget = new ByteBudget(Math.max(4 * opts.maxBody, 256 * 1024 * 1024));
  let httpReceiver: Server | undefined;
  let api: Server | undefined;
  const addresses: { otlpHttp?: string; otlpGrpc?: string; api: string } = { api: '' };
  let grpc: { port: number; close(): Promise<void> } | undefined;
  try {
    if (opts.otlpHttp) {
      httpReceiver = createServer({ requestTimeout: 60_000 }, createOtlpHttpHandler({ sink, maxBody: opts.maxBody, budget, cors: opts.cors, authorize: (req) => token.bearer(req.headers.authorization), retryAfterSeconds: 1, decoders }));
      addresses.otlpHttp = await listen(httpReceiver, opts.otlpHttp, 'OTLP/HTTP');
    }
    if (opts.otlpGrpc) {
      grpc = await startOtlpGrpcServer({ host: opts.otlpGrpc.host, port: opts.otlpGrpc.port, sink, maxBody: opts.maxBody, authorize: (md) => token.matches(bearerFromMetadata(md)), decoders });
      addresses.otlpGrpc = hostPort(opts.otlpGrpc.host, grpc.port);
    }
    api = createServer(createApiHandler({ store, live, metrics, token, settings: { skewAdjust: opts.skewAdjust, outliers: opts.outliers, top: opts.top }, hosts: hostPolicy(opts.api.host, opts.allowedHosts ?? []) }));
    addresses.api = await listen(api, opts.api, 'query API');
  } catch (e) {
    httpReceiver?.close();
    api?.close();
    await grpc?.close();
    await decoders.close();
    live.stop();
    await stopCheckpointer();
    store.close(opts.log);
    throw e;
  }

  let retentionRunning = false;
  const retain = async (): Promise<void> => {
    if (retentionRunning) return;
    retentionRunning = true;
    try {
      const r = await applyRetention(store, opts.retention, (ids) => live.forget(ids));
      storeSize = r.usedBytes;
      if (r.deleted > 0) opts.log(`retention: ${r.deleted} traces deleted (${r.reason})`);
    } catch (e) {
      opts.log(`retention failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      retentionRunning = false;
    }
  };
  void retain();
  const retentionTimer = setInterval(() => void retain(), 60_000);
  retentionTimer.unref();

  let closing: Promise<void> | undefined;
  return {
    addresses,
    live,
    store,
    metrics,
    close: () =>
      (closing ??= (async () => {
        clearInterval(retentionTimer);
        // Receivers first: they stop accepting and answer what is in flight (each answer waits
        // for its commit), then the queue is committed and the store closed.
        await Promise.all([httpReceiver && closeHttp(httpReceiver), grpc?.close()]);
        await decoders.close();
        ingest.close();
        await forwarder?.drain(5_000);
        if (api) await closeHttp(api);
        while (retentionRunning) await new Promise((r) => setTimeout(r, 10));
        // No analysis may run on a closed store (its timer would throw "database connection is not open").
        live.stop();
        await stopCheckpointer();
        store.close(opts.log);
      })()),
  };
}

function listen(s: Server, l: Listen, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => reject(new ListenError(`cannot listen for ${what} on ${hostPort(l.host, l.port)}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`));
    s.once('error', onError);
    s.listen(l.port, l.host, () => {
      s.off('error', onError);
      resolve(hostPort(l.host, (s.address() as AddressInfo).port));
    });
  });
}

export class ListenError extends Error {}

function closeHttp(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeIdleConnections();
    // Keep-alive clients that never go idle are cut after a grace period.
    setTimeout(() => s.closeAllConnections(), 5_000).unref();
  });
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
