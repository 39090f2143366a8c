// A generated load for the cluster failure tests (issue 11): an OTLP JSON Lines file cut into
// OTLP/HTTP JSON requests, sent by a sender that behaves as an exporter behind a load balancer
// (a 503 or a timeout: the same request again later; a connection refused or reset: the same
// request to the next receiver), and the checks of the final state in PostgreSQL and JetStream.
//
// Requests: the file's traces in the order they first appear, two per group; request k holds
// the first half of group k's spans and the second half of group k-1's. Every trace thus
// arrives in two requests sent one after the other (well within the idle window when nothing
// fails), and every request mixes traces of several partitions.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JetStreamManager } from 'nats';
import pg from 'pg';
import { analyzeFiles } from '../../src/pipeline/analyze.js';
import type { ReportEndpoint } from '../../src/report/types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `node dist/samples/generate-big.js --spans N --out FILE` (deterministic). */
export function generateLoad(dir: string, spans: number): string {
  const file = join(dir, `load-${spans}.otlp.jsonl`);
  execFileSync(process.execPath, [join(ROOT, 'dist/samples/generate-big.js'), '--spans', String(spans), '--out', file]);
  return file;
}

export interface Load {
  readonly file: string;
  readonly spans: number;
  /** Spans per trace id (lowercase hex), as in the file. */
  readonly traces: ReadonlyMap<string, number>;
  /** OTLP/HTTP JSON bodies, in sending order. */
  readonly requests: readonly Buffer[];
  readonly requestSpans: readonly number[];
  /** Per trace id, the requests that carry its spans (indexes into `requests`). */
  readonly traceRequests: ReadonlyMap<string, readonly number[]>;
}

interface Entry {
  readonly resource: string;
  readonly scope: string;
  readonly span: unknown;
}

/** Reads an OTLP JSON Lines file and cuts it into requests (see the top of this file). */
export function loadRequests(file: string, tracesPerGroup = 2): Load {
  const byTrace = new Map<string, Entry[]>();
  let spans = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const doc = JSON.parse(line) as { resourceSpans: { resource?: unknown; scopeSpans: { scope?: unknown; spans: { traceId: string }[] }[] }[] };
    for (const rs of doc.resourceSpans) {
      const resource = JSON.stringify(rs.resource ?? {});
      for (const ss of rs.scopeSpans) {
        const scope = JSON.stringify(ss.scope ?? {});
        for (const span of ss.spans) {
          const id = span.traceId.toLowerCase();
          let list = byTrace.get(id);
          if (list === undefined) byTrace.set(id, (list = []));
          list.push({ resource, scope, span });
          spans++;
        }
      }
    }
  }
  const ids = [...byTrace.keys()];
  const groups: Entry[][][] = [];
  for (let i = 0; i < ids.length; i += tracesPerGroup) groups.push(ids.slice(i, i + tracesPerGroup).map((id) => byTrace.get(id) ?? []));
  const requests: Buffer[] = [];
  const requestSpans: number[] = [];
  const traceRequests = new Map<string, number[]>();
  for (let k = 0; k <= groups.length; k++) {
    for (const id of [...ids.slice((k - 1) * tracesPerGroup, k * tracesPerGroup), ...ids.slice(k * tracesPerGroup, (k + 1) * tracesPerGroup)]) {
      let list = traceRequests.get(id);
      if (list === undefined) traceRequests.set(id, (list = []));
      list.push(requests.length);
    }
    const entries: Entry[] = [];
    for (const t of groups[k - 1] ?? []) entries.push(...t.slice(Math.ceil(t.length / 2)));
    for (const t of groups[k] ?? []) entries.push(...t.slice(0, Math.ceil(t.length / 2)));
    if (entries.length === 0) continue;
    requests.push(otlpJson(entries));
    requestSpans.push(entries.length);
  }
  return { file, spans, traces: new Map([...byTrace].map(([id, list]) => [id, list.length])), requests, requestSpans, traceRequests };
}

function otlpJson(entries: readonly Entry[]): Buffer {
  const byResource = new Map<string, Map<string, unknown[]>>();
  for (const e of entries) {
    let scopes = byResource.get(e.resource);
    if (scopes === undefined) byResource.set(e.resource, (scopes = new Map()));
    let list = scopes.get(e.scope);
    if (list === undefined) scopes.set(e.scope, (list = []));
    list.push(e.span);
  }
  const resourceSpans = [...byResource].map(([resource, scopes]) => ({
    resource: JSON.parse(resource) as unknown,
    scopeSpans: [...scopes].map(([scope, spans]) => ({ scope: JSON.parse(scope) as unknown, spans })),
  }));
  return Buffer.from(JSON.stringify({ resourceSpans }));
}

export interface SendStats {
  /** Requests answered 200 (each counted once). */
  ok: number;
  okSpans: number;
  /** Answers 503 (each retried). */
  status503: number;
  /** Retry-After values seen on 503s. */
  retryAfter: Set<string>;
  /** Requests that got no answer (refused, reset, timed out), each retried. */
  connectionErrors: number;
  /** Retries sent to another receiver than the one that failed. */
  failovers: number;
  /** Per receiver URL, requests it answered 200. */
  okBy: Map<string, number>;
  /** Per request index, when it was answered 200 (ms since the epoch). */
  okAt: Map<number, number>;
}

export interface Sending {
  readonly stats: SendStats;
  /** Resolves once every request was answered 200; rejects on an answer that cannot be retried. */
  readonly done: Promise<SendStats>;
}

/**
 * Sends every request of `load`, `concurrency` at a time, request i first to receiver
 * i mod n, `paceMs` between a worker's requests. A 503 (or 429) is retried on the same receiver
 * after `retryMs`; a request without an answer (connection refused or reset, timeout) is retried
 * on the next receiver. Any other answer than 200 {} fails the sending.
 */
export function sendLoad(load: Load, receivers: readonly string[], o: { concurrency?: number; paceMs?: number; retryMs?: number; timeoutMs?: number; deadlineMs?: number } = {}): Sending {
  const stats: SendStats = { ok: 0, okSpans: 0, status503: 0, retryAfter: new Set(), connectionErrors: 0, failovers: 0, okBy: new Map(), okAt: new Map() };
  const retryMs = o.retryMs ?? 200;
  const deadline = Date.now() + (o.deadlineMs ?? 120_000);
  let next = 0;
  const sendOne = async (i: number): Promise<void> => {
    const body = load.requests[i];
    if (body === undefined) return;
    let target = i % receivers.length;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`request ${i} not accepted before the deadline (${JSON.stringify({ ...stats, retryAfter: [...stats.retryAfter], okBy: [...stats.okBy], okAt: stats.okAt.size })})`);
      const url = receivers[target] ?? '';
      let r: { status: number; headers: Record<string, string | string[] | undefined>; body: string };
      try {
        r = await post(`${url}/v1/traces`, body, o.timeoutMs ?? 20_000);
      } catch {
        stats.connectionErrors++;
        if (receivers.length > 1) {
          target = (target + 1) % receivers.length;
          stats.failovers++;
        }
        await sleep(retryMs);
        continue;
      }
      if (r.status === 200) {
        const reply = JSON.parse(r.body === '' ? '{}' : r.body) as { partialSuccess?: { rejectedSpans?: string | number } };
        if (Number(reply.partialSuccess?.rejectedSpans ?? 0) > 0) throw new Error(`request ${i}: 200 with spans rejected: ${r.body}`);
        stats.ok++;
        stats.okSpans += load.requestSpans[i] ?? 0;
        stats.okBy.set(url, (stats.okBy.get(url) ?? 0) + 1);
        stats.okAt.set(i, Date.now());
        return;
      }
      if (r.status === 503 || r.status === 429) {
        stats.status503++;
        const ra = r.headers['retry-after'];
        stats.retryAfter.add(String(ra));
        await sleep(retryMs);
        continue;
      }
      throw new Error(`request ${i} to ${url}: ${r.status} ${r.body.slice(0, 300)}`);
    }
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= load.requests.length) return;
      await sendOne(i);
      if (o.paceMs) await sleep(o.paceMs);
    }
  };
  const done = Promise.all(Array.from({ length: o.concurrency ?? 1 }, worker)).then(() => stats);
  done.catch(() => undefined);
  return { stats, done };
}

function post(url: string, body: Buffer, timeoutMs: number): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `cpath analyze FILE`'s endpoints (the reference every failure test compares with). */
export async function fileEndpoints(file: string): Promise<ReportEndpoint[]> {
  return (await analyzeFiles({ files: [file], skewAdjust: true, filter: {}, outliers: { kind: 'auto' }, top: 20 })).report.endpoints;
}

/**
 * Waits until the load is stored and analysed: every span row there, every trace analysed
 * and not dirty, and the span stream empty (every message acknowledged).
 */
export async function settled(probe: StoreProbe, jsm: () => Promise<JetStreamManager>, load: Load, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const s = await probe.state();
      last = s;
      if (s.spanRows === load.spans && s.traces === load.traces.size && s.waiting === 0) {
        const left = await streamMessages(await jsm());
        last = { ...s, streamMessages: left };
        if (left === 0) return;
      }
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > end) throw new Error(`not settled after ${ms} ms: ${JSON.stringify(last)} (want ${load.spans} spans, ${load.traces.size} traces)`);
    await sleep(200);
  }
}

/** A connection to the cluster's database, for the checks. */
export class StoreProbe {
  private constructor(private readonly client: pg.Client) {}

  static async open(url: string): Promise<StoreProbe> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    return new StoreProbe(client);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  /**
   * Logs every analysis the analysers save (a trigger on cpath.traces): trace, spans seen,
   * analysed or not. Call once the schema exists (a node with a store started).
   */
  async logAnalyses(): Promise<void> {
    await this.client.query(`
      CREATE TABLE public.analysis_log (trace_id bytea NOT NULL, spans int4, analysed boolean, at timestamptz NOT NULL DEFAULT clock_timestamp());
      CREATE FUNCTION public.log_analysis() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.analysis_log (trace_id, spans, analysed) VALUES (NEW.trace_id, NEW.spans, NEW.analysed); RETURN NEW; END $$;
      CREATE TRIGGER log_analysis AFTER UPDATE ON cpath.traces FOR EACH ROW WHEN (NEW.change_seq IS DISTINCT FROM OLD.change_seq) EXECUTE FUNCTION public.log_analysis();
    `);
  }

  /** Every logged analysis: trace id, the spans it was made from, when (ms since the epoch). */
  async analyses(): Promise<{ traceId: string; spans: number | null; analysed: boolean | null; atMs: number }[]> {
    const r = await this.client.query<{ t: string; spans: number | null; analysed: boolean | null; ms: string }>(
      "SELECT encode(trace_id, 'hex') AS t, spans, analysed, (extract(epoch FROM at) * 1000)::int8 AS ms FROM public.analysis_log ORDER BY at",
    );
    return r.rows.map((x) => ({ traceId: x.t, spans: x.spans, analysed: x.analysed, atMs: Number(x.ms) }));
  }

  /** Spans stored (rows), spans counted (cpath.counts), traces, and traces dirty or never analysed. */
  async state(): Promise<{ spanRows: number; countedSpans: number; countedTraces: number; traces: number; waiting: number }> {
    const r = await this.client.query<{ rows: string; counted: string | null; ctraces: string | null; traces: string; waiting: string }>(
      `SELECT (SELECT count(*) FROM cpath.spans) AS rows, (SELECT sum(spans) FROM cpath.counts) AS counted, (SELECT sum(traces) FROM cpath.counts) AS ctraces,
              (SELECT count(*) FROM cpath.traces) AS traces, (SELECT count(*) FROM cpath.traces WHERE dirty OR change_seq IS NULL) AS waiting`,
    );
    const row = r.rows[0];
    return { spanRows: Number(row?.rows ?? 0), countedSpans: Number(row?.counted ?? 0), countedTraces: Number(row?.ctraces ?? 0), traces: Number(row?.traces ?? 0), waiting: Number(row?.waiting ?? 0) };
  }

  /** Per trace, the spans its current analysis was made from. */
  async analysedSpans(): Promise<Map<string, number | null>> {
    const r = await this.client.query<{ t: string; spans: number | null }>("SELECT encode(trace_id, 'hex') AS t, spans FROM cpath.traces");
    return new Map(r.rows.map((x) => [x.t, x.spans]));
  }
}

/** Messages still in the span stream (a work queue: acknowledged messages are deleted). */
export async function streamMessages(jsm: JetStreamManager, stream = 'cpath-spans'): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}

/** Per partition consumer `cpath-p<p>`: the stream sequence acknowledged up to, and messages redelivered now. */
export async function consumerFloors(jsm: JetStreamManager, partitions: number, stream = 'cpath-spans'): Promise<{ ackFloor: number[]; ackPending: number; redelivered: number }> {
  const ackFloor: number[] = [];
  let ackPending = 0;
  let redelivered = 0;
  for (let p = 0; p < partitions; p++) {
    const info = await jsm.consumers.info(stream, `cpath-p${p}`).catch(() => undefined);
    ackFloor.push(info?.ack_floor.stream_seq ?? 0);
    ackPending += info?.num_ack_pending ?? 0;
    redelivered += info?.num_redelivered ?? 0;
  }
  return { ackFloor, ackPending, redelivered };
}

/** Lines `name{labels} value` of a /metrics text whose name is `name`: labels and value. */
export function metricLines(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const kv of (m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[kv[1] ?? ''] = kv[2] ?? '';
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

/** Partitions a node owns, from its /metrics (`cpath_partition_owned`); undefined when it does not answer. */
export async function ownedPartitions(api: string): Promise<number[] | undefined> {
  try {
    const r = await fetch(`${api}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (r.status !== 200) return undefined;
    return metricLines(await r.text(), 'cpath_partition_owned')
      .filter((l) => l.value === 1)
      .map((l) => Number(l.labels['partition']))
      .sort((a, b) => a - b);
  } catch {
    return undefined;
  }
}
