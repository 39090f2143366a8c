// The one JetStream stream of spans that `cpath serve --cluster` nodes share (issue 11), and the
// rule that places each span on a partition.
//
// Partitioning: subject `cpath.spans.<p>`, p = FNV-1a-32(the 16 bytes of the trace id) mod P.
// Every span of a trace lands on one partition, so one analyser sees the whole trace. The hash
// is over the id's bytes (not its hex text), so it is the same whatever case or encoding the id
// arrived in; FNV-1a is fixed and documented, so every node and every version agrees on it.
//
// P is fixed when the stream is created. nats-server 2.9 (Debian 12) has no stream metadata
// (2.10 does), so the stream keeps P in its subject list (`cpath.spans.0` ... `cpath.spans.<P-1>`,
// which also makes JetStream refuse a publish to a partition that does not exist) and repeats it
// in its description. A node started with another P refuses to run.
//
// Retention is a work queue: a message is deleted once its partition's consumer acks it (after
// the analyser committed what it derived to PostgreSQL), and JetStream refuses a second consumer
// with the same partition filter, so two analysers can never both consume one partition. With
// `discard: new` and a byte limit, a full stream refuses publishes (the receivers answer 503)
// instead of dropping spans that were acknowledged.
import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  connect,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
  type StreamInfo,
} from 'nats';
import { ClusterError } from './errors.js';
import { fnv1a32Hex, partitionOf } from '../model/partition.js';

export { fnv1a32Hex, partitionOf };

export { ClusterError };

export const SPAN_STREAM = 'cpath-spans';
export const SUBJECT_PREFIX = 'cpath.spans';
export const DEFAULT_PARTITIONS = 16;
/** The stream refuses publishes beyond this many bytes (analysers behind): receivers answer 503. */
export const DEFAULT_STREAM_MAX_BYTES = 8 * 1024 ** 3;

export function partitionSubject(p: number): string {
  return `${SUBJECT_PREFIX}.${p}`;
}

/**
 * Splits a batch by partition, keeping each partition's items in batch order. Returns
 * `[partition, items]` pairs for the partitions that got some, by ascending partition.
 */
export function splitByPartition<T extends { readonly traceId: string }>(items: readonly T[], partitions: number): [number, T[]][] {
  const parts: (T[] | undefined)[] = new Array(partitions);
  // Spans of one trace usually come together: hash each trace id once per run of it.
  let lastId: string | undefined;
  let last: T[] | undefined;
  for (const it of items) {
    if (it.traceId !== lastId || last === undefined) {
      const p = partitionOf(it.traceId, partitions);
      last = parts[p] ??= [];
      lastId = it.traceId;
    }
    last.push(it);
  }
  const out: [number, T[]][] = [];
  parts.forEach((list, p) => {
    if (list !== undefined) out.push([p, list]);
  });
  return out;
}

export interface SpanStreamOptions {
  /** P: partitions. Fixed when the stream is created. */
  readonly partitions: number;
  /** R: copies JetStream keeps (1 on one server, 3 on a 3-server cluster). */
  readonly replicas: number;
  /** Stream name (tests use their own); default `cpath-spans`. */
  readonly name?: string;
  readonly maxBytes?: number;
}

export interface SpanStream {
  readonly name: string;
  readonly partitions: number;
  readonly replicas: number;
  /**
   * This call's create succeeded (false: it found the stream and checked it). JetStream accepts a
   * create identical to an existing stream, so two nodes racing may both see true.
   */
  readonly created: boolean;
}

/** The stream configuration for P partitions and R replicas. */
export function spanStreamConfig(o: SpanStreamOptions): Partial<StreamConfig> & { name: string } {
  checkCounts(o);
  return {
    name: o.name ?? SPAN_STREAM,
    description: describePartitions(o.partitions),
    subjects: Array.from({ length: o.partitions }, (_, p) => partitionSubject(p)),
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.New,
    max_bytes: o.maxBytes ?? DEFAULT_STREAM_MAX_BYTES,
    storage: StorageType.File,
    num_replicas: o.replicas,
  };
}

function describePartitions(p: number): string {
  return `cpath spans: partitions=${p}; subject ${SUBJECT_PREFIX}.<p>, p = fnv1a32(trace id bytes) mod ${p}`;
}

function checkCounts(o: SpanStreamOptions): void {
  if (!Number.isSafeInteger(o.partitions) || o.partitions < 1 || o.partitions > 4096) throw new ClusterError(`partitions must be an integer from 1 to 4096, not ${o.partitions}`);
  if (!Number.isSafeInteger(o.replicas) || o.replicas < 1 || o.replicas > 5) throw new ClusterError(`replicas must be an integer from 1 to 5, not ${o.replicas}`);
}

/** P as the stream records it: its subjects must be exactly `cpath.spans.0` ... `cpath.spans.<P-1>`. */
export function partitionsOfStream(info: StreamInfo): number | undefined {
  const subjects = info.config.subjects ?? [];
  const seen = new Set<number>();
  for (const s of subjects) {
    const m = /^cpath\.spans\.(0|[1-9][0-9]*)$/.exec(s);
    if (m === null) return undefined;
    seen.add(Number(m[1]));
  }
  for (let p = 0; p < seen.size; p++) if (!seen.has(p)) return undefined;
  return seen.size > 0 ? seen.size : undefined;
}

/**
 * Creates the span stream, or checks the existing one: same P and same R, else a ClusterError
 * naming both values. Nodes starting at once may all try to create it: identical creates succeed,
 * and a create that fails is followed by another look, so a node that lost the race checks the
 * winner's stream.
 */
export async function ensureStream(jsm: JetStreamManager, o: SpanStreamOptions): Promise<SpanStream> {
  const config = spanStreamConfig(o);
  const name = config.name;
  for (let attempt = 0; ; attempt++) {
    const existing = await streamInfo(jsm, name);
    if (existing !== undefined) {
      const p = partitionsOfStream(existing);
      if (p === undefined) throw new ClusterError(`NATS stream ${name} exists but is not a cpath span stream (subjects ${(existing.config.subjects ?? []).join(', ')})`);
      if (p !== o.partitions) throw new ClusterError(`NATS stream ${name} has ${p} partitions, this node was started with --partitions ${o.partitions}: P is fixed when the stream is created`);
      if (existing.config.num_replicas !== o.replicas) throw new ClusterError(`NATS stream ${name} has ${existing.config.num_replicas} replicas, this node was started with --replicas ${o.replicas}`);
      return { name, partitions: p, replicas: existing.config.num_replicas, created: false };
    }
    try {
      await jsm.streams.add(config);
      return { name, partitions: o.partitions, replicas: o.replicas, created: true };
    } catch (e) {
      // Another node created it in between ("stream name already in use"; in a cluster, while
      // that creation is still being applied, even "stream not found"): look again, then check it.
      if (attempt < 4) {
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
        continue;
      }
      throw new ClusterError(`cannot create NATS stream ${name} (P=${o.partitions}, R=${o.replicas}): ${message(e)}`);
    }
  }
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (e) {
    if (/stream not found/i.test(message(e))) return undefined;
    throw new ClusterError(`cannot read NATS stream ${name}: ${message(e)}`);
  }
}

/**
 * Connects to the NATS servers (`nats://h1:4222,nats://h2:4222`) and checks JetStream answers.
 * Unreachable servers or no JetStream: a ClusterError naming the servers, not a stack trace.
 */
export async function connectCluster(servers: readonly string[], o: { readonly timeoutMs?: number; readonly name?: string } = {}): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const list = servers.join(',');
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: [...servers], timeout: o.timeoutMs ?? 5000, maxReconnectAttempts: -1, reconnectTimeWait: 250, ...(o.name !== undefined ? { name: o.name } : {}) });
  } catch (e) {
    throw new ClusterError(`cannot reach NATS at ${list}: ${describeNatsError(e)}`);
  }
  try {
    const jsm = await nc.jetstreamManager();
    return { nc, jsm };
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw new ClusterError(`NATS at ${list} does not answer JetStream requests (is nats-server running with -js, and has the cluster a leader?): ${describeNatsError(e)}`);
  }
}

function describeNatsError(e: unknown): string {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
  if (code === 'CONNECTION_REFUSED') return 'connection refused';
  if (code === 'TIMEOUT') return 'timed out';
  return message(e);
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
