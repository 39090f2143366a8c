// `npm run bench:hostile`: one hostile client against `cpath serve` while honest clients send,
// against the same honest load alone (issue 15). The honest clients send real OpenTelemetry JS
// payloads (the SDK's spans through the exporters' ProtobufTraceSerializer) at a fixed rate and
// time every request; the hostile client loops over poison spans (start time 2^63), one span of
// 10^6 attributes (16 MB protobuf, then 44 MB JSON) and 100,000 levels of nested arrayValue,
// as fast as it is answered. Checked: every honest request is acknowledged (200) and its spans
// are in the store; honest p99 with the hostile client within 2x of p99 without. Also printed:
// the slowest /healthz and the largest WAL file seen in each phase.
//
// Usage: node dist/test/bench/hostile.js [seconds per phase, default 20]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ExportTraceServiceRequest } from '../../collectors/otlp-schema.js';
import { ResourceInterner } from '../../src/model/span.js';
import { SpanStore } from '../../src/store/span-store.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SECONDS = process.argv[2] === '--attacker' ? 0 : Number(process.argv[2] ?? 20);
const HONEST_CLIENTS = 4;
const HONEST_INTERVAL_MS = 50; // each client: 20 requests/s
const SPANS_PER_REQUEST = 64;
const T0 = 1_764_151_200_000_000_000n;

/** One honest request: SDK spans (a server span and its children) serialized by the exporter. */
function honestRequest(client: number, n: number): { body: Buffer; traceIds: string[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': `honest-${client}` }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('bench-hostile');
  const traceIds = new Set<string>();
  for (let t = 0; t < SPANS_PER_REQUEST / 8; t++) {
    const root = tracer.startSpan('GET /honest', { kind: SpanKind.SERVER, attributes: { 'http.route': '/honest', client, n } }, ROOT_CONTEXT);
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    for (let c = 0; c < 7; c++) tracer.startSpan(`child ${c}`, { kind: SpanKind.INTERNAL }, ctx).end();
    root.end();
    traceIds.add(root.spanContext().traceId);
  }
  const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans()) ?? new Uint8Array());
  return { body, traceIds: [...traceIds] };
}

function post(url: string, body: Buffer, type: string, agent?: Agent): Promise<{ status: number; ms: number }> {
  return new Promise((resolve) => {
    const t = performance.now();
    const req = request(url, { method: 'POST', agent: agent ?? false, headers: { 'Content-Type': type, 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t }));
    req.end(body);
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const t = performance.now();
    request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t));
    })
      .on('error', () => resolve(performance.now() - t))
      .end();
  });
}

const hugeAttributes = (): { key: string; value: { intValue: number } }[] => Array.from({ length: 1_000_000 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } }));

/** The hostile client's requests, in the order it loops over them. */
function hostileRequests(): { name: string; body: Buffer; type: string }[] {
  const id = (n: number, bytes: number): Buffer => Buffer.from(n.toString(16).padStart(bytes * 2, 'f'), 'hex');
  const span = (n: number, extra: Record<string, unknown>): Record<string, unknown> => ({ traceId: id(n, 16), spanId: id(n, 8), name: 'hostile', kind: 2, startTimeUnixNano: T0.toString(), endTimeUnixNano: (T0 + 1000n).toString(), ...extra });
  const proto = (spans: Record<string, unknown>[]): Buffer => Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hostile' } }] }, scopeSpans: [{ spans }] }] })).finish());
  const poison = proto(Array.from({ length: 100 }, (_, i) => span(i + 1, { startTimeUnixNano: (1n << 63n).toString(), endTimeUnixNano: ((1n << 64n) - 1n).toString() })));
  const hugeProto = proto([span(1000, { attributes: hugeAttributes() })]);
  const hex = (n: number, bytes: number): string => n.toString(16).padStart(bytes * 2, 'f');
  const hugeJson = Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: hex(1001, 16), spanId: hex(1001, 8), name: 'hostile', kind: 2, startTimeUnixNano: T0.toString(), endTimeUnixNano: (T0 + 1000n).toString(), attributes: hugeAttributes() }] }] }] }));
  const depth = 100_000;
  const deep = Buffer.from(
    `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${hex(1002, 16)}","spanId":"${hex(1002, 8)}","name":"hostile","startTimeUnixNano":"${T0}","endTimeUnixNano":"${T0 + 1000n}","attributes":[{"key":"deep","value":${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"x"}${']}}'.repeat(depth)}}]}]}]}]}`,
  );
  return [
    { name: 'poison times (100 spans at 2^63)', body: poison, type: 'application/x-protobuf' },
    { name: '10^6 attributes, protobuf', body: hugeProto, type: 'application/x-protobuf' },
    { name: '10^6 attributes, JSON', body: hugeJson, type: 'application/json' },
    { name: '100,000-deep arrayValue, JSON', body: deep, type: 'application/json' },
  ];
}

type HostileCounts = [name: string, status: number, count: number][];

/** The hostile client's loop: as fast as it is answered, over its requests in turn, until `ms` have passed. */
async function attack(hostile: readonly { name: string; body: Buffer; type: string }[], otlp: string, ms: number): Promise<HostileCounts> {
  const end = performance.now() + ms;
  const counts = new Map<string, number>();
  for (let i = 0; performance.now() < end; i++) {
    const h = hostile[i % hostile.length];
    if (!h) break;
    const r = await post(`${otlp}/v1/traces`, h.body, h.type);
    const key = `${h.name}\t${r.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => {
    const [name = '', status = '0'] = k.split('\t');
    return [name, Number(status), n];
  });
}

/**
 * The hostile client runs in a process of its own, as it would on another machine: building
 * and writing its 16–44 MB bodies in the honest clients' process would stall their timers and
 * charge the server for the load generator's pauses.
 */
class Attacker {
  private readonly child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--attacker'], { stdio: ['pipe', 'pipe', 'inherit'] });
  private out = '';
  private readonly ready: Promise<void>;

  constructor() {
    this.child.stdout.setEncoding('utf8');
    this.ready = new Promise((resolve, reject) => {
      this.child.stdout.on('data', (c: string) => {
        this.out += c;
        if (this.out.startsWith('ready\n')) resolve();
      });
      this.child.on('exit', (code) => reject(new Error(`the hostile client exited ${code}`)));
    });
  }

  /** Waits until its requests are built (outside the timed phase). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Attacks for `ms`; the counts of answers by request and status. */
  async run(otlp: string, ms: number): Promise<HostileCounts> {
    const done = new Promise<void>((resolve) => this.child.on('exit', () => resolve()));
    this.child.stdin.end(`${otlp} ${Math.round(ms)}\n`);
    await done;
    return JSON.parse(this.out.slice('ready\n'.length)) as HostileCounts;
  }
}

interface Phase {
  readonly latencies: number[];
  readonly honestFailed: number;
  readonly acked: string[];
  readonly hostile: Map<string, Map<number, number>>;
  readonly healthzMaxMs: number;
  readonly walMaxBytes: number;
}

/** Requests generated before the phases (building them during a phase would stall this process's own timing). */
const POOL_PER_CLIENT = 100;
type Pool = { body: Buffer; traceIds: string[] }[][];

function makePool(salt: number): Pool {
  return Array.from({ length: HONEST_CLIENTS }, (_, c) => Array.from({ length: POOL_PER_CLIENT }, (_, n) => honestRequest(salt * 100 + c, n)));
}

async function runPhase(otlp: string, api: string, walFile: string, hostile: Attacker | undefined, pool: Pool): Promise<Phase> {
  const end = performance.now() + SECONDS * 1000;
  const latencies: number[] = [];
  const acked: string[] = [];
  let honestFailed = 0;
  const hostileCounts = new Map<string, Map<number, number>>();
  let healthzMaxMs = 0;
  let walMaxBytes = 0;
  const clients = Array.from({ length: HONEST_CLIENTS }, async (_, c) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const inFlight: Promise<void>[] = [];
    for (let n = 0; performance.now() < end; n++) {
      const next = performance.now() + HONEST_INTERVAL_MS;
      const r = pool[c]?.[n % POOL_PER_CLIENT];
      if (!r) break;
      const { body, traceIds } = r;
      inFlight.push(
        post(`${otlp}/v1/traces`, body, 'application/x-protobuf', agent).then((r) => {
          latencies.push(r.ms);
          if (r.status === 200) acked.push(...traceIds);
          else honestFailed++;
        }),
      );
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    await Promise.all(inFlight);
    agent.destroy();
  });
  const attacker = hostile ? hostile.run(otlp, end - performance.now()).then((counts) => counts.forEach(([name, status, n]) => {
    const m = hostileCounts.get(name) ?? new Map<number, number>();
    m.set(status, n);
    hostileCounts.set(name, m);
  })) : Promise.resolve();
  const watch = (async () => {
    while (performance.now() < end) {
      healthzMaxMs = Math.max(healthzMaxMs, await get(`${api}/healthz`));
      try {
        walMaxBytes = Math.max(walMaxBytes, statSync(walFile).size);
      } catch {
        // no WAL yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await Promise.all([...clients, attacker, watch]);
  return { latencies, honestFailed, acked, hostile: hostileCounts, healthzMaxMs, walMaxBytes };
}

function percentile(v: readonly number[], p: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cpath-hostile-'));
  const child = spawn(process.execPath, ['bin/cpath.js', 'serve', '--store', dir, '--otlp-http', '127.0.0.1:0', '--otlp-grpc', 'off', '--api', '127.0.0.1:0', '--trace-idle', '1s'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const addr = await new Promise<{ otlp: string; api: string }>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /OTLP\/HTTP on (http:\/\/[^/\s;]+)\/v1\/traces; OTLP\/gRPC off; API on (http:\/\/[^/\s;]+)\//.exec(err);
      if (m?.[1] && m[2]) resolve({ otlp: m[1], api: m[2] });
    });
    child.on('exit', (code) => reject(new Error(`cpath serve exited ${code}: ${err}`)));
  });
  const walFile = join(dir, 'cpath.sqlite-wal');
  const hostile = new Attacker();
  await hostile.whenReady();
  const pools = [makePool(1), makePool(2)];
  process.stderr.write(`phase 1: honest only, ${SECONDS} s\n`);
  const alone = await runPhase(addr.otlp, addr.api, walFile, undefined, pools[0] ?? []);
  process.stderr.write(`phase 2: honest + hostile, ${SECONDS} s\n`);
  const attacked = await runPhase(addr.otlp, addr.api, walFile, hostile, pools[1] ?? []);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));

  // Every acknowledged honest trace is in the store, whole.
  const store = SpanStore.openReadOnly(dir);
  const resources = new ResourceInterner();
  let missing = 0;
  for (const id of [...alone.acked, ...attacked.acked]) if (store.spansOfTrace(id, resources).length !== 8) missing++;
  store.close();
  rmSync(dir, { recursive: true, force: true });

  const p = (ph: Phase, q: number): string => `${percentile(ph.latencies, q).toFixed(1)} ms`;
  const ratio = percentile(attacked.latencies, 99) / percentile(alone.latencies, 99);
  const rows: [string, string, string, string][] = [
    ['honest load', `${HONEST_CLIENTS} clients × ${1000 / HONEST_INTERVAL_MS} requests/s × ${SPANS_PER_REQUEST} spans (OTel JS SDK spans, ProtobufTraceSerializer; ${POOL_PER_CLIENT} distinct requests per client and phase, resent in turn), ${SECONDS} s per phase`, '', ''],
    ['honest requests sent (alone / with hostile)', `${alone.latencies.length} / ${attacked.latencies.length}`, '', ''],
    ['honest requests not acknowledged (alone / with hostile)', `${alone.honestFailed} / ${attacked.honestFailed}`, '0', alone.honestFailed + attacked.honestFailed === 0 ? 'yes' : '**no**'],
    ['acknowledged honest traces missing from the store', `${missing} of ${alone.acked.length + attacked.acked.length}`, '0', missing === 0 ? 'yes' : '**no**'],
    ['honest p50 / p99 / max, alone', `${p(alone, 50)} / ${p(alone, 99)} / ${p(alone, 100)}`, '', ''],
    ['honest p50 / p99 / max, with hostile', `${p(attacked, 50)} / ${p(attacked, 99)} / ${p(attacked, 100)}`, '', ''],
    ['honest p99 with hostile / alone', `${ratio.toFixed(2)}x`, '<= 2x', ratio <= 2 ? 'yes' : '**no**'],
    ['slowest /healthz, alone / with hostile', `${alone.healthzMaxMs.toFixed(0)} ms / ${attacked.healthzMaxMs.toFixed(0)} ms`, '< 1 s', attacked.healthzMaxMs < 1000 ? 'yes' : '**no**'],
    ['largest WAL seen, alone / with hostile', `${(alone.walMaxBytes / 1048576).toFixed(1)} MiB / ${(attacked.walMaxBytes / 1048576).toFixed(1)} MiB`, '', ''],
    ...[...attacked.hostile].map(([name, m]): [string, string, string, string] => [`hostile: ${name}`, [...m].map(([s, n]) => `${n}× ${s}`).join(', '), '', '']),
  ];
  const lines = [
    `- Command: \`npm run bench:hostile\` (${SECONDS} s per phase)`,
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}; the load generator (honest clients in one process, the hostile client in another) and the server share the machine`,
    '',
    '| measure | result | target | met |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function attackerMain(): Promise<void> {
  const hostile = hostileRequests(); // built before "ready": outside the timed phase
  process.stdout.write('ready\n');
  let input = '';
  for await (const c of process.stdin) input += String(c);
  const [otlp = '', ms = '0'] = input.trim().split(' ');
  process.stdout.write(JSON.stringify(await attack(hostile, otlp, Number(ms))));
}

(process.argv[2] === '--attacker' ? attackerMain() : main()).catch((e: unknown) => {
  process.stderr.write(`bench:hostile failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
