// The load generator of `npm run bench:ingest` (test/bench/ingest.ts starts it as a separate
// process, pinned to its own core, and drives it over the IPC channel).
//
// Payloads are what a real OpenTelemetry JS service sends: spans made by the SDK
// (@opentelemetry/sdk-trace-base BasicTracerProvider + InMemorySpanExporter), serialized by the
// exporters' own serializers (@opentelemetry/otlp-transformer ProtobufTraceSerializer /
// JsonTraceSerializer), 512 spans per request (BatchSpanProcessor's default
// maxExportBatchSize), one service (Resource) per request. A pool of distinct requests is
// generated once; so that nothing is deduplicated by the store (primary key trace_id, span_id),
// every send gets its own copy of a pool request with the last 4 bytes of every trace id XORed
// with a per-cycle number (the same for every request of a cycle, so a trace's spans sent by
// different services still meet). The offsets of the trace ids in the serialized bytes are found
// once per pool request (protobuf: field 1 of Span, `0a 10` + the 16 bytes; JSON: the hex after
// `"traceId":"`) and checked against the SDK's ids.
//
// Messages in (from ingest.ts): { cmd: 'capacity', ... } | { cmd: 'steady', ... } | { cmd: 'exit' }.
// Messages out: { type: 'ready', pool } once the pool is built, then one { type: 'result', ... }
// per command.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type HrTime, type Span } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

export const SPANS_PER_REQUEST = 512;
const SPANS_PER_SERVICE_PER_TRACE = 4;
const TRACES_PER_GROUP = SPANS_PER_REQUEST / SPANS_PER_SERVICE_PER_TRACE; // 128

export type Encoding = 'protobuf' | 'json';

export interface PoolInfo {
  readonly requests: number;
  readonly spansPerRequest: number;
  readonly services: readonly string[];
  readonly attributesPerSpan: { readonly min: number; readonly max: number; readonly mean: number };
  readonly protobufBytes: number;
  readonly protobufGzipBytes: number;
  readonly jsonBytes: number;
  readonly jsonGzipBytes: number;
  readonly buildMs: number;
}

export interface CapacityCmd {
  readonly cmd: 'capacity';
  readonly label: string;
  readonly url: string;
  readonly encoding: Encoding;
  readonly gzip: boolean;
  readonly connections: number;
  readonly durationMs: number;
  readonly serverPid: number;
  /** Gzipped bodies prepared before the phase (beyond them, bodies are gzipped when sent). */
  readonly pregzip: number;
}

export interface SteadyCmd {
  readonly cmd: 'steady';
  readonly label: string;
  readonly url: string;
  readonly encoding: Encoding;
  readonly gzip: boolean;
  /** Requests per second on a fixed schedule. */
  readonly requestsPerSecond: number;
  readonly durationMs: number;
  readonly serverPid: number;
  /** Sockets at most (requests beyond wait in the agent's queue, which the latency includes). */
  readonly maxSockets: number;
}

export type LoadCmd = CapacityCmd | SteadyCmd | { readonly cmd: 'exit' };

export interface PhaseResult {
  readonly type: 'result';
  readonly label: string;
  readonly kind: 'capacity' | 'steady';
  readonly encoding: Encoding;
  readonly gzip: boolean;
  readonly wallMs: number;
  /** Requests sent, and answered by status (0: transport error or timeout). */
  readonly sent: number;
  readonly codes: Record<string, number>;
  readonly spansSent: number;
  readonly spansAcked: number;
  readonly bytesSent: number;
  /** Server CPU (utime + stime of every thread, /proc/PID/stat) during the phase, seconds. */
  readonly serverCpuS: number;
  /** This process's CPU during the phase, seconds. */
  readonly loadCpuS: number;
  /** Request latencies of the 200 answers, ms (steady: from the scheduled send time). Sorted. */
  readonly latency: { readonly n: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number; readonly mean: number };
  /** Steady only: sends that left later than 1 ms after their scheduled time, and the worst lag. */
  readonly lateSends?: number;
  readonly maxSendLagMs?: number;
  readonly requestsPerSecond?: number;
  /** Capacity only: bodies gzipped while sending because the prepared ones ran out. */
  readonly gzippedLive?: number;
  /** Requests sent again after ECONNRESET on a reused keep-alive socket. */
  readonly retries: number;
  readonly errors: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// The spans: 4 services, each trace 16 spans (4 per service), cross-service parents.

const SERVICES = ['frontend', 'cart', 'inventory', 'payment'] as const;
type Service = (typeof SERVICES)[number];

class RandomIds implements IdGenerator {
  generateTraceId(): string {
    return randomBytes(16).toString('hex');
  }
  generateSpanId(): string {
    return randomBytes(8).toString('hex');
  }
}

function hr(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

interface Runtime {
  readonly provider: BasicTracerProvider;
  readonly exporter: InMemorySpanExporter;
}

function runtimes(): Record<Service, Runtime> {
  const ids = new RandomIds();
  const out = {} as Record<Service, Runtime>;
  SERVICES.forEach((name, i) => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': name,
        'service.namespace': 'shop',
        'service.version': `1.${i + 4}.2`,
        'service.instance.id': `${name}-7d9f${i}c-x${i}k2p`,
        'host.name': `ip-10-0-${i + 1}-17.ec2.internal`,
        'host.arch': 'amd64',
        'process.pid': 4000 + i * 37,
        'process.runtime.name': 'nodejs',
        'process.runtime.version': '20.19.0',
        'deployment.environment.name': 'production',
        'telemetry.sdk.name': 'opentelemetry',
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.version': '2.12.1',
      }),
      idGenerator: ids,
      spanLimits: { attributeCountLimit: 128 },
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    out[name] = { provider, exporter };
  });
  return out;
}

const ROUTES = ['/api/checkout', '/api/cart', '/api/products/{id}', '/api/orders/{id}', '/api/search'];
const TABLES = ['orders', 'carts', 'stock_levels', 'products', 'payments'];

function serverAttrs(method: string, route: string, status: number, peer: string): Attributes {
  return {
    'http.request.method': method,
    'http.method': method,
    'http.route': route,
    'url.path': route.replace('{id}', String(1000 + Math.floor(Math.random() * 9000))),
    'url.scheme': 'http',
    'server.address': peer,
    'server.port': 8080,
    'http.response.status_code': status,
    'network.protocol.version': '1.1',
    'client.address': `10.0.${Math.floor(Math.random() * 4)}.${Math.floor(Math.random() * 250)}`,
    'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36',
  };
}

function clientAttrs(method: string, peer: string, path: string, status: number): Attributes {
  return {
    'http.request.method': method,
    'http.method': method,
    'url.full': `http://${peer}:8080${path}`,
    'server.address': peer,
    'server.port': 8080,
    'net.peer.name': peer,
    'net.peer.port': 8080,
    'http.response.status_code': status,
    'network.protocol.version': '1.1',
  };
}

function dbAttrs(system: 'postgresql' | 'redis', op: string, table: string): Attributes {
  const a: Attributes = {
    'db.system': system,
    'db.operation': op,
    'db.operation.name': op,
    'net.peer.name': system === 'redis' ? 'cache.internal' : 'db.internal',
    'net.peer.port': system === 'redis' ? 6379 : 5432,
    'server.address': system === 'redis' ? 'cache.internal' : 'db.internal',
    'network.transport': 'tcp',
    'db.user': 'shop',
  };
  if (system === 'postgresql') {
    a['db.name'] = 'shop';
    a['db.sql.table'] = table;
    a['db.statement'] = `${op} * FROM ${table} WHERE id = $1`;
  } else {
    a['db.redis.database_index'] = 0;
    a['db.statement'] = `${op} session:?`;
  }
  return a;
}

/** One trace of 16 spans, 4 per service, starting at `t0` ms. */
function makeTrace(rt: Record<Service, Runtime>, t0: number): void {
  const tr = (s: Service) => rt[s].provider.getTracer('shop', '1.0.0');
  const under = (parent: Span, remote: boolean) =>
    remote ? trace.setSpanContext(ROOT_CONTEXT, { ...parent.spanContext(), isRemote: true }) : trace.setSpan(ROOT_CONTEXT, parent);
  const route = ROUTES[Math.floor(Math.random() * ROUTES.length)] as string;
  const fail = Math.random() < 0.02;
  const j = (): number => Math.random() * 2;
  const end = (s: Span, ms: number, error?: string): void => {
    if (error) {
      s.recordException({ name: 'Error', message: error }, hr(ms - 0.1));
      s.setStatus({ code: SpanStatusCode.ERROR, message: error });
    }
    s.end(hr(ms));
  };

  // frontend
  const f0 = tr('frontend').startSpan(`GET ${route}`, { kind: SpanKind.SERVER, startTime: hr(t0), attributes: serverAttrs('GET', route, fail ? 500 : 200, 'frontend.shop.internal') });
  const f1 = tr('frontend').startSpan('render', { kind: SpanKind.INTERNAL, startTime: hr(t0 + 0.3), attributes: { 'template.name': 'checkout.html', 'code.function': 'render', 'code.namespace': 'shop.frontend.views', 'thread.id': 1 } }, under(f0, false));
  end(f1, t0 + 1.2 + j());
  const f2 = tr('frontend').startSpan('POST', { kind: SpanKind.CLIENT, startTime: hr(t0 + 2), attributes: clientAttrs('POST', 'cart.shop.internal', '/cart/checkout', 200) }, under(f0, false));
  // cart
  const c0 = tr('cart').startSpan('POST /cart/checkout', { kind: SpanKind.SERVER, startTime: hr(t0 + 2.4), attributes: serverAttrs('POST', '/cart/checkout', 200, 'cart.shop.internal') }, under(f2, true));
  const c1 = tr('cart').startSpan('GET', { kind: SpanKind.CLIENT, startTime: hr(t0 + 2.6), attributes: dbAttrs('redis', 'GET', 'session') }, under(c0, false));
  end(c1, t0 + 3.1 + j() / 4);
  const c2 = tr('cart').startSpan('POST', { kind: SpanKind.CLIENT, startTime: hr(t0 + 3.3), attributes: clientAttrs('POST', 'inventory.shop.internal', '/inventory/reserve', 200) }, under(c0, false));
  // inventory
  const i0 = tr('inventory').startSpan('POST /inventory/reserve', { kind: SpanKind.SERVER, startTime: hr(t0 + 3.6), attributes: serverAttrs('POST', '/inventory/reserve', 200, 'inventory.shop.internal') }, under(c2, true));
  const i1 = tr('inventory').startSpan('SELECT shop.stock_levels', { kind: SpanKind.CLIENT, startTime: hr(t0 + 3.8), attributes: dbAttrs('postgresql', 'SELECT', 'stock_levels') }, under(i0, false));
  end(i1, t0 + 5 + j());
  const i2 = tr('inventory').startSpan('UPDATE shop.stock_levels', { kind: SpanKind.CLIENT, startTime: hr(t0 + 7.2), attributes: dbAttrs('postgresql', 'UPDATE', 'stock_levels') }, under(i0, false));
  end(i2, t0 + 9 + j());
  const i3 = tr('inventory').startSpan('reserve', { kind: SpanKind.INTERNAL, startTime: hr(t0 + 9.2), attributes: { 'code.function': 'reserve', 'code.namespace': 'shop.inventory', 'inventory.items': 3, 'inventory.warehouse': 'eu-west-1a' } }, under(i0, false));
  end(i3, t0 + 9.6);
  end(i0, t0 + 9.8);
  end(c2, t0 + 10.1);
  const table = TABLES[Math.floor(Math.random() * TABLES.length)] as string;
  const c3 = tr('cart').startSpan(`INSERT shop.${table}`, { kind: SpanKind.CLIENT, startTime: hr(t0 + 10.3), attributes: dbAttrs('postgresql', 'INSERT', table) }, under(c0, false));
  end(c3, t0 + 12 + j());
  end(c0, t0 + 14.5);
  end(f2, t0 + 14.8);
  const f3 = tr('frontend').startSpan('POST', { kind: SpanKind.CLIENT, startTime: hr(t0 + 15), attributes: clientAttrs('POST', 'payment.shop.internal', '/payment/charge', fail ? 502 : 200) }, under(f0, false));
  // payment
  const p0 = tr('payment').startSpan('POST /payment/charge', { kind: SpanKind.SERVER, startTime: hr(t0 + 15.3), attributes: serverAttrs('POST', '/payment/charge', fail ? 502 : 200, 'payment.shop.internal') }, under(f3, true));
  const p1 = tr('payment').startSpan('POST', { kind: SpanKind.CLIENT, startTime: hr(t0 + 15.6), attributes: clientAttrs('POST', 'api.stripe.com', '/v1/charges', fail ? 503 : 200) }, under(p0, false));
  end(p1, t0 + 40 + 20 * Math.random(), fail ? 'upstream unavailable' : undefined);
  const p2 = tr('payment').startSpan('INSERT shop.payments', { kind: SpanKind.CLIENT, startTime: hr(t0 + 61), attributes: dbAttrs('postgresql', 'INSERT', 'payments') }, under(p0, false));
  end(p2, t0 + 63 + j());
  const p3 = tr('payment').startSpan('payments publish', {
    kind: SpanKind.PRODUCER,
    startTime: hr(t0 + 65.5),
    attributes: { 'messaging.system': 'kafka', 'messaging.operation': 'publish', 'messaging.destination.name': 'payments', 'messaging.kafka.partition': 3, 'server.address': 'kafka.internal', 'net.peer.name': 'kafka.internal' },
  }, under(p0, false));
  end(p3, t0 + 66);
  end(p0, t0 + 66.5, fail ? 'charge failed' : undefined);
  end(f3, t0 + 67);
  end(f0, t0 + 68, fail ? 'checkout failed' : undefined);
}

// ---------------------------------------------------------------------------------------------
// The pool

interface PoolEntry {
  readonly service: Service;
  readonly protobuf: Buffer;
  readonly json: Buffer;
  /** Byte offsets of the last 4 bytes of every span's trace id (protobuf: raw bytes). */
  readonly pbOffsets: Uint32Array;
  /** Offsets of the last 8 hex characters of every span's trace id (JSON). */
  readonly jsonOffsets: Uint32Array;
}

function findProtobufTraceIds(buf: Buffer, traceIds: ReadonlySet<string>): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i + 18 <= buf.length; i++) {
    if (buf[i] === 0x0a && buf[i + 1] === 0x10 && traceIds.has(buf.toString('hex', i + 2, i + 18))) {
      out.push(i + 14);
      i += 17;
    }
  }
  return Uint32Array.from(out);
}

function findJsonTraceIds(buf: Buffer, traceIds: ReadonlySet<string>): Uint32Array {
  const key = Buffer.from('"traceId":"');
  const out: number[] = [];
  let i = buf.indexOf(key);
  while (i >= 0) {
    const at = i + key.length;
    const id = buf.toString('latin1', at, at + 32).toLowerCase();
    if (!traceIds.has(id)) throw new Error(`unexpected traceId ${id} in the JSON payload`);
    out.push(at + 24);
    i = buf.indexOf(key, at + 32);
  }
  return Uint32Array.from(out);
}

function buildPool(groups: number): { entries: PoolEntry[]; info: PoolInfo } {
  const t = performance.now();
  const rt = runtimes();
  const entries: PoolEntry[] = [];
  let attrMin = Infinity;
  let attrMax = 0;
  let attrSum = 0;
  let attrN = 0;
  const base = Date.now() - 60_000;
  for (let g = 0; g < groups; g++) {
    for (let k = 0; k < TRACES_PER_GROUP; k++) makeTrace(rt, base + g * 500 + k * 3.7);
    for (const s of SERVICES) {
      const spans: ReadableSpan[] = rt[s].exporter.getFinishedSpans().slice();
      rt[s].exporter.reset();
      if (spans.length !== SPANS_PER_REQUEST) throw new Error(`${s}: ${spans.length} spans in a batch, expected ${SPANS_PER_REQUEST}`);
      for (const sp of spans) {
        const n = Object.keys(sp.attributes).length;
        attrMin = Math.min(attrMin, n);
        attrMax = Math.max(attrMax, n);
        attrSum += n;
        attrN++;
      }
      const traceIds = new Set(spans.map((sp) => sp.spanContext().traceId));
      const pb = ProtobufTraceSerializer.serializeRequest(spans);
      const js = JsonTraceSerializer.serializeRequest(spans);
      if (!pb || !js) throw new Error('the serializer returned nothing');
      const protobuf = Buffer.from(pb.buffer, pb.byteOffset, pb.byteLength);
      const json = Buffer.from(js.buffer, js.byteOffset, js.byteLength);
      const pbOffsets = findProtobufTraceIds(protobuf, traceIds);
      const jsonOffsets = findJsonTraceIds(json, traceIds);
      if (pbOffsets.length !== spans.length || jsonOffsets.length !== spans.length) {
        throw new Error(`found ${pbOffsets.length} protobuf / ${jsonOffsets.length} JSON trace ids for ${spans.length} spans`);
      }
      entries.push({ service: s, protobuf, json, pbOffsets, jsonOffsets });
    }
  }
  const first = entries[0] as PoolEntry;
  const info: PoolInfo = {
    requests: entries.length,
    spansPerRequest: SPANS_PER_REQUEST,
    services: [...SERVICES],
    attributesPerSpan: { min: attrMin, max: attrMax, mean: attrSum / attrN },
    protobufBytes: Math.round(entries.reduce((a, e) => a + e.protobuf.length, 0) / entries.length),
    protobufGzipBytes: gzipSync(first.protobuf).length,
    jsonBytes: Math.round(entries.reduce((a, e) => a + e.json.length, 0) / entries.length),
    jsonGzipBytes: gzipSync(first.json).length,
    buildMs: performance.now() - t,
  };
  for (const s of SERVICES) void rt[s].provider.shutdown();
  return { entries, info };
}

// ---------------------------------------------------------------------------------------------
// Bodies: a copy of a pool request with its trace ids made unique

let sendSeq = 0;
let pool: PoolEntry[] = [];
const HEX = '0123456789abcdef';

function nextBody(encoding: Encoding): Buffer {
  const k = sendSeq++;
  const e = pool[k % pool.length] as PoolEntry;
  const cycle = Math.floor(k / pool.length) + 1; // never 0: every send differs from the pool itself
  const src = encoding === 'protobuf' ? e.protobuf : e.json;
  const body = Buffer.allocUnsafe(src.length);
  src.copy(body);
  if (encoding === 'protobuf') {
    for (const off of e.pbOffsets) body.writeUInt32BE((src.readUInt32BE(off) ^ cycle) >>> 0, off);
  } else {
    for (const off of e.jsonOffsets) {
      const v = (Number.parseInt(src.toString('latin1', off, off + 8), 16) ^ cycle) >>> 0;
      for (let d = 0; d < 8; d++) body[off + d] = HEX.charCodeAt((v >>> (28 - 4 * d)) & 15);
    }
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// Sending

function cpuTicks(pid: number): number {
  // /proc/PID/stat: the command may contain spaces; fields after the last ')' are fixed.
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
}
const TICKS_PER_S = 100; // USER_HZ on Linux

interface Answer {
  readonly status: number;
  readonly doneAt: number;
  readonly error?: string;
  /** Sent a second time after ECONNRESET on a reused keep-alive socket. */
  readonly retried: boolean;
}

function post(url: URL, agent: Agent, body: Buffer, encoding: Encoding, gzip: boolean, retry = true): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json',
          'Content-Length': body.length,
          ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve({ status: res.statusCode ?? 0, doneAt: performance.now(), retried: !retry }));
        res.on('error', (e) => resolve({ status: 0, doneAt: performance.now(), error: e.message, retried: !retry }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout after 30 s')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed just as we reused it (Node's documented race):
      // retry once on a new one, as the exporter would (ECONNRESET is retryable there).
      if (retry && req.reusedSocket && e.code === 'ECONNRESET') resolve(post(url, agent, body, encoding, gzip, false));
      else resolve({ status: 0, doneAt: performance.now(), error: e.message, retried: !retry });
    });
    req.end(body);
  });
}

function summarize(lat: number[]): PhaseResult['latency'] {
  lat.sort((a, b) => a - b);
  const q = (p: number): number => (lat.length === 0 ? NaN : (lat[Math.min(lat.length - 1, Math.max(0, Math.ceil(p * lat.length) - 1))] as number));
  return { n: lat.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: lat.length ? (lat[lat.length - 1] as number) : NaN, mean: lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : NaN };
}

async function capacity(c: CapacityCmd): Promise<PhaseResult> {
  const url = new URL(c.url);
  const agent = new Agent({ keepAlive: true, maxSockets: c.connections });
  const prepared: Buffer[] = [];
  for (let i = 0; i < c.pregzip; i++) prepared.push(gzipSync(nextBody(c.encoding)));
  let gzippedLive = 0;
  let retries = 0;
  const codes: Record<string, number> = {};
  const errors: string[] = [];
  const lat: number[] = [];
  let sent = 0;
  let acked = 0;
  let bytes = 0;
  const cpu0 = cpuTicks(c.serverPid);
  const my0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + c.durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      let body: Buffer;
      if (!c.gzip) body = nextBody(c.encoding);
      else {
        const p = prepared.pop();
        if (p) body = p;
        else {
          gzippedLive++;
          body = gzipSync(nextBody(c.encoding));
        }
      }
      const start = performance.now();
      sent++;
      bytes += body.length;
      const a = await post(url, agent, body, c.encoding, c.gzip);
      if (a.retried) retries++;
      codes[a.status] = (codes[a.status] ?? 0) + 1;
      if (a.status === 200) {
        acked += SPANS_PER_REQUEST;
        lat.push(a.doneAt - start);
      } else {
        if (a.error && errors.length < 5) errors.push(a.error);
        // Back off a little on 503 (the exporter would wait Retry-After; we keep the pressure on).
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: c.connections }, worker));
  const wallMs = performance.now() - t0;
  const cpu1 = cpuTicks(c.serverPid);
  const my = process.cpuUsage(my0);
  agent.destroy();
  return {
    type: 'result',
    label: c.label,
    kind: 'capacity',
    encoding: c.encoding,
    gzip: c.gzip,
    wallMs,
    sent,
    codes,
    spansSent: sent * SPANS_PER_REQUEST,
    spansAcked: acked,
    bytesSent: bytes,
    serverCpuS: (cpu1 - cpu0) / TICKS_PER_S,
    loadCpuS: (my.user + my.system) / 1e6,
    latency: summarize(lat),
    gzippedLive,
    retries,
    errors,
  };
}

async function steady(c: SteadyCmd): Promise<PhaseResult> {
  const url = new URL(c.url);
  const agent = new Agent({ keepAlive: true, maxSockets: c.maxSockets });
  const n = Math.max(1, Math.round((c.requestsPerSecond * c.durationMs) / 1000));
  const interval = 1000 / c.requestsPerSecond;
  // Everything a send needs is prepared before the clock starts (gzip included).
  const bodies: Buffer[] = [];
  for (let i = 0; i < n; i++) bodies.push(c.gzip ? gzipSync(nextBody(c.encoding)) : nextBody(c.encoding));
  // Open a few connections first so that the first sends do not pay the TCP handshake.
  await Promise.all(Array.from({ length: Math.min(4, c.maxSockets) }, () => new Promise<void>((r) => {
    const req = request(url, { method: 'GET', agent }, (res) => {
      res.resume();
      res.on('end', () => r());
    });
    req.on('error', () => r());
    req.end();
  })));
  const codes: Record<string, number> = {};
  const errors: string[] = [];
  const lat: number[] = [];
  let acked = 0;
  let bytes = 0;
  let late = 0;
  let retries = 0;
  let maxLag = 0;
  const pending: Promise<void>[] = [];
  const cpu0 = cpuTicks(c.serverPid);
  const my0 = process.cpuUsage();
  const t0 = performance.now() + 5;
  let i = 0;
  await new Promise<void>((done) => {
    const tick = (): void => {
      const now = performance.now();
      while (i < n && t0 + i * interval <= now) {
        const scheduled = t0 + i * interval;
        const lag = now - scheduled;
        if (lag > 1) late++;
        if (lag > maxLag) maxLag = lag;
        const body = bodies[i] as Buffer;
        bodies[i] = Buffer.alloc(0);
        bytes += body.length;
        pending.push(
          post(url, agent, body, c.encoding, c.gzip).then((a) => {
            if (a.retried) retries++;
            codes[a.status] = (codes[a.status] ?? 0) + 1;
            if (a.status === 200) {
              acked += SPANS_PER_REQUEST;
              lat.push(a.doneAt - scheduled);
            } else if (a.error && errors.length < 5) errors.push(a.error);
          }),
        );
        i++;
      }
      if (i >= n) return done();
      setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  await Promise.all(pending);
  const wallMs = performance.now() - t0;
  const cpu1 = cpuTicks(c.serverPid);
  const my = process.cpuUsage(my0);
  agent.destroy();
  return {
    type: 'result',
    label: c.label,
    kind: 'steady',
    encoding: c.encoding,
    gzip: c.gzip,
    wallMs,
    sent: n,
    codes,
    spansSent: n * SPANS_PER_REQUEST,
    spansAcked: acked,
    bytesSent: bytes,
    serverCpuS: (cpu1 - cpu0) / TICKS_PER_S,
    loadCpuS: (my.user + my.system) / 1e6,
    latency: summarize(lat),
    lateSends: late,
    maxSendLagMs: maxLag,
    requestsPerSecond: c.requestsPerSecond,
    retries,
    errors,
  };
}

// ---------------------------------------------------------------------------------------------

function send(m: unknown): void {
  if (process.send) process.send(m);
  else process.stdout.write(`${JSON.stringify(m)}\n`);
}

function main(): void {
  const groups = Number(process.argv[2] ?? '16');
  const built = buildPool(groups);
  pool = built.entries;
  send({ type: 'ready', pool: built.info });
  let chain = Promise.resolve();
  process.on('message', (m: LoadCmd) => {
    chain = chain.then(async () => {
      if (m.cmd === 'exit') {
        process.disconnect?.();
        return;
      }
      try {
        send(m.cmd === 'capacity' ? await capacity(m) : await steady(m));
      } catch (e) {
        send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      }
    });
  });
}

main();
