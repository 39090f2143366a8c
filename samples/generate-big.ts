// Generates large OTLP JSON Lines inputs for the benchmark (test/bench/run.ts).
//
//   node dist/samples/generate-big.js --spans 1000000 --out bench-data/big.otlp.jsonl
//   node dist/samples/generate-big.js --single-trace --spans 1000000 --out bench-data/single.otlp.jsonl
//   node dist/samples/generate-big.js --single-document --spans 1200000 --out bench-data/huge-doc.otlp.json
//   options: --seed N (default 20261120)
//
// The output looks like the OpenTelemetry Collector's file exporter: one ExportTraceServiceRequest
// per line (`{"resourceSpans":[{"resource":...,"scopeSpans":[{"scope":...,"spans":[...]}]}]}`),
// each line one batch of 100-500 spans from one service instance. Spans are handed to their
// instance's batch in the order they end, so a trace is spread over several lines and every line
// holds spans of many traces. protojson conventions: ids in hex, 64-bit integers (times,
// intValue) as decimal strings, default values omitted (no parentSpanId on roots, `status: {}`).
//
// Default mode: traces of 70-130 spans (about 100) over 8 services, depth up to 6: a frontend
// SERVER root, CLIENT -> SERVER calls between services (some in parallel), INTERNAL spans and
// database CLIENT spans (db.system). Children lie inside their parents in true time; then each
// host's clock error is added (payment runs 2.5 ms ahead, shipping-2 1.2 ms behind, others by a
// few µs) and catalog stamps whole microseconds. About 2 % of traces fail (a 5xx from a leaf,
// propagated up as status ERROR); 0.5 % of database calls are very slow.
//
// --single-trace: ONE trace: a root with a chain of 10 % of the spans (each the child of the
// previous: 100k deep for 1M spans) and a fan-out span with all the rest (~900k) as direct
// children, in lines of 1000 spans.
//
// --single-document: the default mode's traces and batches, but written as ONE OTLP JSON document
// on one line, `{"resourceSpans":[<every batch's ResourceSpans>,...]}`, with no newline at all
// (about 617 MB for 1.2M spans: longer than V8's longest string). Streamed like the other modes;
// never built in memory.
//
// Deterministic: the same arguments write the same bytes. The output is streamed (with
// backpressure) to `<out>.partial` and renamed when complete; `<out>.meta.json` records the
// counts.

import { createWriteStream, mkdirSync, renameSync, writeFileSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_SEED = 20261120;
/** 2025-11-20T10:00:00Z; times are written as this many seconds plus an offset in ns. */
const BASE_SEC = 1763632800;
const US = 1_000;
const MS = 1_000_000;

// ---------------------------------------------------------------------------------------------
// PRNG (sfc32) and formatting helpers

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.float() * xs.length)] as T;
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A long-tailed positive duration: lo + an exponential with the given mean, in integer ns. */
  tail(lo: number, mean: number): number {
    return Math.floor(lo - Math.log(1 - this.float()) * mean);
  }
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

function hex32(x: number): string {
  return (HEX[x >>> 24] as string) + (HEX[(x >>> 16) & 255] as string) + (HEX[(x >>> 8) & 255] as string) + (HEX[x & 255] as string);
}

function nonZeroU32(rng: Rng): number {
  let x = rng.u32();
  while (x === 0) x = rng.u32();
  return x;
}

export function traceIdHex(rng: Rng): string {
  return hex32(nonZeroU32(rng)) + hex32(rng.u32()) + hex32(rng.u32()) + hex32(rng.u32());
}

export function spanIdHex(rng: Rng): string {
  return hex32(nonZeroU32(rng)) + hex32(rng.u32());
}

const ZEROS = '000000000';

/** A non-negative integer offset in ns (< 2^53) as the decimal Unix-ns string BASE_SEC*1e9 + offset. */
export function unixNanoString(offsetNs: number): string {
  const s = Math.floor(offsetNs / 1e9);
  const ns = String(offsetNs - s * 1e9);
  return String(BASE_SEC + s) + ZEROS.slice(ns.length) + ns;
}

function strAttr(key: string, value: string): string {
  return `{"key":"${key}","value":{"stringValue":${JSON.stringify(value)}}}`;
}

function intAttr(key: string, value: number): string {
  return `{"key":"${key}","value":{"intValue":"${value}"}}`;
}

// ---------------------------------------------------------------------------------------------
// Output: items with backpressure

interface Framing {
  /** Written before the first item. */
  readonly head: string;
  /** Written between two items. */
  readonly between: string;
  /** Written after every item. */
  readonly after: string;
  /** Written at the end. */
  readonly tail: string;
}

/** JSON Lines: one item per line. */
const LINES: Framing = { head: '', between: '', after: '\n', tail: '' };
/** One document on one line: `{"resourceSpans":[item,item,...]}`, no newline anywhere. */
const ONE_DOCUMENT: Framing = { head: '{"resourceSpans":[', between: ',', after: '', tail: ']}' };

class ItemWriter {
  private readonly stream: WriteStream;
  private readonly partial: string;
  private pending: string[] = [];
  private pendingBytes = 0;
  bytes = 0;
  /** Items written (lines in JSON Lines, ResourceSpans in one document). */
  items = 0;
  /** Newline characters written. */
  newlines = 0;

  constructor(
    private readonly out: string,
    private readonly framing: Framing = LINES,
  ) {
    mkdirSync(dirname(resolve(out)), { recursive: true });
    this.partial = `${out}.partial`;
    this.stream = createWriteStream(this.partial, { highWaterMark: 4 << 20 });
    this.queue(framing.head);
  }

  private queue(text: string): void {
    if (text.length === 0) return;
    this.pending.push(text);
    this.pendingBytes += text.length;
  }

  /** Queues one item; resolves once the stream can take more. */
  async item(text: string): Promise<void> {
    if (this.items > 0) this.queue(this.framing.between);
    this.queue(text);
    this.queue(this.framing.after);
    this.items++;
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.bytes += Buffer.byteLength(chunk);
    for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) this.newlines++;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    this.queue(this.framing.tail);
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
    renameSync(this.partial, this.out);
  }
}

// ---------------------------------------------------------------------------------------------
// The simulated system

type DbSystem = 'postgresql' | 'mysql' | 'redis' | 'mongodb';

interface Instance {
  readonly host: string;
  readonly id: string;
  readonly pid: number;
  /** Added to every timestamp of this instance (its host clock error). */
  readonly skewNs: number;
  /** The JSON of the resource, written once per line. */
  resourceJson: string;
}

interface Service {
  readonly name: string;
  readonly index: number;
  readonly port: number;
  /** Timestamps truncated to this many ns (1 = exact). */
  readonly clockNs: number;
  readonly instances: readonly Instance[];
  readonly routes: readonly (readonly [method: string, route: string])[];
  /** Services this one calls. */
  readonly calls: readonly string[];
  readonly db?: { readonly system: DbSystem; readonly name: string; readonly host: string; readonly port: number; readonly ops: readonly string[] };
  readonly internal: readonly string[];
  readonly scope: string;
}

interface ServiceDef {
  readonly name: string;
  readonly port: number;
  readonly clockNs?: number;
  readonly instances: readonly Omit<Instance, 'resourceJson'>[];
  readonly routes: readonly (readonly [string, string])[];
  readonly calls: readonly string[];
  readonly db?: Service['db'];
  readonly internal: readonly string[];
  readonly scope: string;
}

const SERVICE_DEFS: readonly ServiceDef[] = [
  {
    name: 'frontend',
    port: 8080,
    instances: [
      { host: 'web-1', id: 'frontend-7f9c-1', pid: 4211, skewNs: 0 },
      { host: 'web-2', id: 'frontend-7f9c-2', pid: 4398, skewNs: 35 * US },
    ],
    routes: [
      ['GET', '/'],
      ['GET', '/product/{id}'],
      ['GET', '/cart'],
      ['POST', '/cart/items'],
      ['POST', '/checkout'],
      ['GET', '/search'],
    ],
    calls: ['auth', 'cart', 'catalog', 'recommendation', 'payment', 'shipping'],
    internal: ['render template', 'parse session cookie', 'build page model', 'serialize response'],
    scope: '@opentelemetry/instrumentation-http',
  },
  {
    name: 'auth',
    port: 9001,
    instances: [{ host: 'auth-1', id: 'auth-5d2a-1', pid: 1733, skewNs: -12 * US }],
    routes: [
      ['POST', '/auth/verify'],
      ['GET', '/auth/session'],
    ],
    calls: [],
    db: { system: 'redis', name: '0', host: 'redis-auth', port: 6379, ops: ['GET', 'HGETALL', 'EXPIRE'] },
    internal: ['verify jwt', 'load signing keys'],
    scope: 'io.opentelemetry.netty-4.1',
  },
  {
    name: 'cart',
    port: 9002,
    instances: [
      { host: 'app-1', id: 'cart-6b1e-1', pid: 3120, skewNs: 8 * US },
      { host: 'app-4', id: 'cart-6b1e-2', pid: 3377, skewNs: -20 * US },
    ],
    routes: [
      ['GET', '/cart/{userId}'],
      ['POST', '/cart/{userId}/items'],
      ['DELETE', '/cart/{userId}/items/{itemId}'],
    ],
    calls: ['inventory', 'catalog'],
    db: { system: 'redis', name: '1', host: 'redis-cart', port: 6379, ops: ['HGETALL', 'HSET', 'HDEL', 'EXPIRE'] },
    internal: ['merge cart lines', 'apply promotions'],
    scope: 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp',
  },
  {
    name: 'catalog',
    port: 9003,
    clockNs: US,
    instances: [
      { host: 'app-2', id: 'catalog-2c44-1', pid: 2877, skewNs: 0 },
      { host: 'app-3', id: 'catalog-2c44-2', pid: 2901, skewNs: 41 * US },
    ],
    routes: [
      ['GET', '/products/{id}'],
      ['GET', '/products'],
      ['GET', '/search'],
    ],
    calls: ['inventory'],
    db: { system: 'postgresql', name: 'catalog', host: 'pg-catalog', port: 5432, ops: ['SELECT products', 'SELECT prices', 'SELECT images'] },
    internal: ['rank results', 'localize prices'],
    scope: 'io.opentelemetry.spring-webmvc-6.0',
  },
  {
    name: 'inventory',
    port: 9004,
    instances: [
      { host: 'app-5', id: 'inventory-91f0-1', pid: 1502, skewNs: 3 * US },
      { host: 'app-6', id: 'inventory-91f0-2', pid: 1544, skewNs: -6 * US },
    ],
    routes: [
      ['GET', '/stock/{sku}'],
      ['POST', '/stock/reserve'],
    ],
    calls: [],
    db: { system: 'postgresql', name: 'inventory', host: 'pg-inventory', port: 5432, ops: ['SELECT stock', 'UPDATE stock', 'INSERT reservations'] },
    internal: ['check reservation rules'],
    scope: 'io.opentelemetry.spring-webmvc-6.0',
  },
  {
    name: 'payment',
    port: 9005,
    instances: [{ host: 'pay-1', id: 'payment-0a77-1', pid: 5064, skewNs: 2500 * US }],
    routes: [
      ['POST', '/payments/charge'],
      ['POST', '/payments/authorize'],
    ],
    calls: ['auth'],
    db: { system: 'mysql', name: 'payments', host: 'mysql-pay', port: 3306, ops: ['INSERT charges', 'SELECT cards', 'UPDATE charges'] },
    internal: ['fraud check', 'tokenize card', 'sign request'],
    scope: 'OpenTelemetry.Instrumentation.AspNetCore',
  },
  {
    name: 'recommendation',
    port: 9006,
    instances: [{ host: 'ml-1', id: 'recommendation-3e3e-1', pid: 7740, skewNs: 90 * US }],
    routes: [['GET', '/recommendations/{userId}']],
    calls: ['catalog'],
    db: { system: 'mongodb', name: 'reco', host: 'mongo-reco', port: 27017, ops: ['find user_profiles', 'find item_vectors'] },
    internal: ['score candidates', 'filter seen items'],
    scope: 'opentelemetry.instrumentation.flask',
  },
  {
    name: 'shipping',
    port: 9007,
    instances: [
      { host: 'ship-1', id: 'shipping-77aa-1', pid: 6120, skewNs: 0 },
      { host: 'ship-2', id: 'shipping-77aa-2', pid: 6188, skewNs: -1200 * US },
    ],
    routes: [
      ['POST', '/shipping/quote'],
      ['POST', '/shipping/orders'],
    ],
    calls: ['inventory'],
    db: { system: 'postgresql', name: 'shipping', host: 'pg-shipping', port: 5432, ops: ['SELECT rates', 'INSERT shipments'] },
    internal: ['compute parcel size', 'choose carrier'],
    scope: 'io.opentelemetry.spring-webmvc-6.0',
  },
];

/** Downstream services each frontend route uses. */
const ROOT_CALLS: Record<string, readonly string[]> = {
  '/': ['auth', 'catalog', 'recommendation'],
  '/product/{id}': ['auth', 'catalog', 'recommendation', 'cart'],
  '/cart': ['auth', 'cart'],
  '/cart/items': ['auth', 'cart', 'catalog'],
  '/checkout': ['auth', 'cart', 'payment', 'shipping'],
  '/search': ['auth', 'catalog', 'recommendation'],
};

function buildServices(): Service[] {
  return SERVICE_DEFS.map((d, index) => {
    const instances: Instance[] = d.instances.map((i) => ({
      ...i,
      resourceJson: `{"attributes":[${[strAttr('service.name', d.name), strAttr('host.name', i.host), strAttr('service.instance.id', i.id), intAttr('process.pid', i.pid)].join(',')}]}`,
    }));
    return { ...d, index, clockNs: d.clockNs ?? 1, instances };
  });
}

// ---------------------------------------------------------------------------------------------
// One trace

const enum Op {
  Server,
  Client,
  Db,
  Internal,
}

interface GSpan {
  readonly op: Op;
  readonly parent: GSpan | undefined;
  readonly depth: number;
  readonly svc: Service;
  readonly inst: Instance;
  readonly name: string;
  readonly spanId: string;
  /** Server / client: method and route of the server side. */
  readonly method: string;
  readonly route: string;
  /** Client: the called service; db: the op. */
  readonly target: string;
  readonly children: GSpan[];
  /** Starts together with the previous sibling. */
  parallel: boolean;
  error: boolean;
  start: number;
  end: number;
}

const MAX_SERVER_DEPTH_FOR_CALLS = 3;

class TraceGenerator {
  private readonly byName: Map<string, Service>;

  constructor(
    private readonly rng: Rng,
    readonly services: readonly Service[],
  ) {
    this.byName = new Map(services.map((s) => [s.name, s]));
  }

  /** Builds a trace of exactly `n` spans (n >= 1) starting at `t0` (ns offset), in end order. */
  trace(n: number, t0: number): { traceId: string; spans: GSpan[] } {
    const rng = this.rng;
    const traceId = traceIdHex(rng);
    const frontend = this.byName.get('frontend') as Service;
    const [method, route] = rng.pick(frontend.routes);
    const instOf = new Map<Service, Instance>();
    const inst = (s: Service): Instance => {
      let i = instOf.get(s);
      if (!i) instOf.set(s, (i = rng.pick(s.instances)));
      return i;
    };
    const all: GSpan[] = [];
    const mk = (op: Op, parent: GSpan | undefined, svc: Service, name: string, m: string, r: string, target: string): GSpan => {
      const s: GSpan = {
        op,
        parent,
        depth: parent ? parent.depth + 1 : 1,
        svc,
        inst: inst(svc),
        name,
        spanId: spanIdHex(rng),
        method: m,
        route: r,
        target,
        children: [],
        parallel: false,
        error: false,
        start: 0,
        end: 0,
      };
      if (parent) {
        s.parallel = parent.children.length > 0 && (op === Op.Client ? rng.chance(0.3) : rng.chance(0.08));
        parent.children.push(s);
      }
      all.push(s);
      return s;
    };

    const root = mk(Op.Server, undefined, frontend, `${method} ${route}`, method, route, '');
    const servers: GSpan[] = [root];
    while (all.length < n) {
      const left = n - all.length;
      const s = rng.pick(servers);
      const calls = s === root ? (ROOT_CALLS[route] ?? frontend.calls) : s.svc.calls;
      const r = rng.float();
      if (left >= 2 && calls.length > 0 && s.depth <= MAX_SERVER_DEPTH_FOR_CALLS && r < 0.4) {
        const callee = this.byName.get(rng.pick(calls)) as Service;
        const [cm, cr] = rng.pick(callee.routes);
        const client = mk(Op.Client, s, s.svc, `${cm} ${cr}`, cm, cr, callee.name);
        servers.push(mk(Op.Server, client, callee, `${cm} ${cr}`, cm, cr, ''));
      } else if (s.svc.db && r < 0.75) {
        const dbOp = rng.pick(s.svc.db.ops);
        mk(Op.Db, s, s.svc, dbOp, '', '', dbOp);
      } else {
        const internal = mk(Op.Internal, s, s.svc, rng.pick(s.svc.internal), '', '', '');
        if (left >= 2 && s.svc.db && s.depth <= MAX_SERVER_DEPTH_FOR_CALLS && rng.chance(0.3)) {
          const dbOp = rng.pick(s.svc.db.ops);
          mk(Op.Db, internal, s.svc, dbOp, '', '', dbOp);
        }
      }
    }

    // Errors: a failing leaf (db call or a callee server with no children), propagated up.
    if (rng.chance(0.02)) {
      const leaves = all.filter((x) => x.children.length === 0 && x.op !== Op.Internal);
      for (let x: GSpan | undefined = leaves.length > 0 ? rng.pick(leaves) : root; x; x = x.parent) x.error = true;
    }

    this.layout(root, t0);
    // True times -> each host's clock (skew, granularity).
    for (const x of all) {
      const c = x.svc.clockNs;
      x.start += x.inst.skewNs;
      x.end += x.inst.skewNs;
      if (c > 1) {
        x.start -= x.start % c;
        x.end -= x.end % c;
      }
    }
    all.sort((a, b) => a.end - b.end);
    return { traceId, spans: all };
  }

  /** Lays the subtree out from `start` (true time); returns its end. Children lie inside parents. */
  private layout(s: GSpan, start: number): number {
    const rng = this.rng;
    s.start = start;
    switch (s.op) {
      case Op.Db: {
        s.end = start + (rng.chance(0.005) ? rng.tail(40 * MS, 60 * MS) : rng.tail(150 * US, 1200 * US));
        return s.end;
      }
      case Op.Client: {
        const server = s.children[0];
        const out = start + rng.tail(60 * US, 250 * US);
        const serverEnd = server ? this.layout(server, out) : out + rng.tail(200 * US, 1 * MS);
        s.end = serverEnd + rng.tail(40 * US, 200 * US);
        return s.end;
      }
      default: {
        let cursor = start + rng.tail(s.op === Op.Server ? 30 * US : 5 * US, s.op === Op.Server ? 150 * US : 40 * US);
        let prevStart = cursor;
        let maxEnd = cursor;
        for (const c of s.children) {
          const cs = c.parallel ? prevStart : cursor;
          const ce = this.layout(c, cs);
          prevStart = cs;
          if (ce > maxEnd) maxEnd = ce;
          cursor = maxEnd + rng.tail(2 * US, 30 * US);
        }
        const self = s.children.length === 0 ? (s.op === Op.Internal ? rng.tail(20 * US, 400 * US) : rng.tail(300 * US, 2 * MS)) : rng.tail(20 * US, 300 * US);
        s.end = cursor + self;
        return s.end;
      }
    }
  }
}

function spanJson(traceId: string, s: GSpan): string {
  const a: string[] = [];
  const status = s.error ? 500 : s.method === 'POST' && s.route.endsWith('/orders') ? 201 : 200;
  switch (s.op) {
    case Op.Server:
      a.push(strAttr('http.method', s.method), strAttr('http.route', s.route), intAttr('http.status_code', status), strAttr('net.host.name', s.inst.host), intAttr('net.host.port', s.svc.port));
      break;
    case Op.Client:
      a.push(strAttr('http.method', s.method), strAttr('http.route', s.route), intAttr('http.status_code', status), strAttr('net.peer.name', s.target), intAttr('net.peer.port', 9000));
      break;
    case Op.Db: {
      const db = s.svc.db;
      if (db) a.push(strAttr('db.system', db.system), strAttr('db.name', db.name), strAttr('db.operation', s.target.split(' ')[0] ?? s.target), strAttr('net.peer.name', db.host), intAttr('net.peer.port', db.port));
      break;
    }
    case Op.Internal:
      a.push(strAttr('code.function', s.name.replace(/ /g, '_')), strAttr('code.namespace', s.svc.name), intAttr('thread.id', 1 + (s.inst.pid % 17)));
      break;
  }
  const kind = s.op === Op.Server ? 2 : s.op === Op.Internal ? 1 : 3;
  const parent = s.parent ? `"parentSpanId":"${s.parent.spanId}",` : '';
  const flags = s.op === Op.Server && s.parent ? 769 : 257;
  const st = s.error ? (s.op === Op.Db ? '{"message":"connection reset by peer","code":2}' : '{"code":2}') : '{}';
  return `{"traceId":"${traceId}","spanId":"${s.spanId}",${parent}"flags":${flags},"name":${JSON.stringify(s.name)},"kind":${kind},"startTimeUnixNano":"${unixNanoString(s.start)}","endTimeUnixNano":"${unixNanoString(s.end)}","attributes":[${a.join(',')}],"status":${st}}`;
}

function resourceSpansJson(resourceJson: string, scope: string, spans: readonly string[]): string {
  return `{"resource":${resourceJson},"scopeSpans":[{"scope":{"name":${JSON.stringify(scope)}},"spans":[${spans.join(',')}]}]}`;
}

function requestLine(resourceJson: string, scope: string, spans: readonly string[]): string {
  return `{"resourceSpans":[${resourceSpansJson(resourceJson, scope, spans)}]}`;
}

// ---------------------------------------------------------------------------------------------
// Entry points

export interface GenerateOptions {
  readonly spans: number;
  readonly out: string;
  readonly seed?: number;
  /** Many-traces mode only: write one `{"resourceSpans":[...]}` document on one line. */
  readonly singleDocument?: boolean;
  readonly onProgress?: (spansWritten: number) => void;
}

export interface GenerateSummary {
  readonly mode: 'many-traces' | 'single-trace' | 'single-document';
  readonly file: string;
  readonly seed: number;
  readonly spans: number;
  readonly traces: number;
  /** Lines of the file (1 for a single document, which has no newline at all). */
  readonly lines: number;
  /** ResourceSpans written (one per line in the JSON Lines modes). */
  readonly resourceSpans: number;
  /** Newline characters in the file (0 for a single document). */
  readonly newlines: number;
  readonly bytes: number;
}

/**
 * Many traces of about 100 spans (10k traces for 1M spans), batched per service instance: one
 * request per line, or with `singleDocument` every batch's ResourceSpans in one document.
 */
export async function generateBig(opts: GenerateOptions): Promise<GenerateSummary> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const rng = new Rng(seed);
  const services = buildServices();
  const gen = new TraceGenerator(rng, services);
  const doc = opts.singleDocument === true;
  const w = new ItemWriter(opts.out, doc ? ONE_DOCUMENT : LINES);
  const batchJson = doc ? resourceSpansJson : requestLine;

  interface Batch {
    readonly svc: Service;
    readonly inst: Instance;
    spans: string[];
    target: number;
  }
  const batches = new Map<Instance, Batch>();
  for (const s of services) for (const i of s.instances) batches.set(i, { svc: s, inst: i, spans: [], target: rng.int(100, 500) });

  let written = 0;
  let traces = 0;
  let t = 2_000 * MS;
  let nextProgress = 100_000;
  while (written < opts.spans) {
    const n = Math.min(opts.spans - written, rng.int(70, 130));
    const tr = gen.trace(n, t);
    traces++;
    t += rng.int(20 * MS, 100 * MS);
    for (const s of tr.spans) {
      const b = batches.get(s.inst) as Batch;
      b.spans.push(spanJson(tr.traceId, s));
      if (b.spans.length >= b.target) {
        await w.item(batchJson(b.inst.resourceJson, b.svc.scope, b.spans));
        b.spans = [];
        b.target = rng.int(100, 500);
      }
    }
    written += n;
    if (written >= nextProgress) {
      opts.onProgress?.(written);
      nextProgress += 100_000;
    }
  }
  for (const b of batches.values()) if (b.spans.length > 0) await w.item(batchJson(b.inst.resourceJson, b.svc.scope, b.spans));
  await w.close();
  const summary: GenerateSummary = {
    mode: doc ? 'single-document' : 'many-traces',
    file: opts.out,
    seed,
    spans: written,
    traces,
    lines: doc ? 1 : w.items,
    resourceSpans: w.items,
    newlines: w.newlines,
    bytes: w.bytes,
  };
  writeFileSync(`${opts.out}.meta.json`, `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/**
 * One trace of `spans` spans: root -> chain of 10 % of the spans, each the child of the previous
 * (100k deep for 1M); root -> fan-out span -> all the other spans as direct children (~900k).
 * Written in end order (the deepest chain span first, the root last), 1000 spans per line.
 */
export async function generateSingleTrace(opts: GenerateOptions): Promise<GenerateSummary> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const rng = new Rng(seed);
  const services = buildServices();
  const svc = (name: string): Service => services.find((s) => s.name === name) as Service;
  const frontend = svc('frontend');
  const chainSvc = svc('recommendation');
  const fanSvc = svc('inventory');
  const w = new ItemWriter(opts.out);
  const PER_LINE = 1000;

  const total = Math.max(3, opts.spans);
  const chainLen = Math.max(1, Math.floor(total / 10));
  const fanChildren = total - 2 - chainLen;
  const traceId = traceIdHex(rng);
  const rootId = spanIdHex(rng);
  const fanId = spanIdHex(rng);
  const t0 = 2_000 * MS;
  const STEP = 1_000; // ns

  let written = 0;
  let line: string[] = [];
  let lineSvc: Service | undefined;
  const emit = async (s: Service, json: string): Promise<void> => {
    if (lineSvc !== s || line.length >= PER_LINE) {
      if (lineSvc && line.length > 0) await w.item(requestLine((lineSvc.instances[0] as Instance).resourceJson, lineSvc.scope, line));
      line = [];
      lineSvc = s;
    }
    line.push(json);
    written++;
    if (written % 100_000 === 0) opts.onProgress?.(written);
  };
  const span = (s: Service, spanId: string, parent: string | undefined, name: string, kind: number, start: number, end: number, attrs: string[]): string =>
    `{"traceId":"${traceId}","spanId":"${spanId}",${parent ? `"parentSpanId":"${parent}",` : ''}"flags":257,"name":${JSON.stringify(name)},"kind":${kind},"startTimeUnixNano":"${unixNanoString(start)}","endTimeUnixNano":"${unixNanoString(end)}","attributes":[${attrs.join(',')}],"status":{}}`;

  // The chain: span k (0-based) starts at t0 + (k+1) STEP and ends at t0 + (2 chainLen + 1 - k) STEP,
  // so each lies inside the previous. Ids are drawn first so that parents are known; written deepest first.
  const chainIds: string[] = new Array<string>(chainLen);
  for (let k = 0; k < chainLen; k++) chainIds[k] = spanIdHex(rng);
  const chainAttrs = [strAttr('code.function', 'expand_candidates'), strAttr('code.namespace', 'reco.graph'), intAttr('thread.id', 3), strAttr('net.host.name', 'ml-1')];
  for (let k = chainLen - 1; k >= 0; k--) {
    // Up to 499 ns of jitter either way keeps the nesting and the times off whole microseconds.
    const start = t0 + (k + 1) * STEP + rng.int(0, 499);
    const end = t0 + (2 * chainLen + 1 - k) * STEP - rng.int(0, 499);
    await emit(chainSvc, span(chainSvc, chainIds[k] as string, k === 0 ? rootId : chainIds[k - 1], 'expand candidates', 1, start, end, [...chainAttrs, intAttr('recursion.depth', k)]));
  }
  // The fan-out: its children one after the other, each starting 500-599 ns into its 1000 ns
  // slot and lasting 300-399 ns.
  const fanStart = t0 + (2 * chainLen + 3) * STEP + 77;
  for (let j = 0; j < fanChildren; j++) {
    const start = fanStart + 423 + j * STEP + rng.int(0, 99);
    await emit(
      fanSvc,
      span(fanSvc, spanIdHex(rng), fanId, 'SELECT stock', 3, start, start + rng.int(300, 399), [
        strAttr('db.system', 'postgresql'),
        strAttr('db.name', 'inventory'),
        strAttr('db.operation', 'SELECT'),
        strAttr('net.peer.name', 'pg-inventory'),
        intAttr('net.peer.port', 5432),
      ]),
    );
  }
  const fanEnd = fanStart + 423 + fanChildren * STEP + 311;
  await emit(fanSvc, span(fanSvc, fanId, rootId, 'POST /stock/reserve', 2, fanStart, fanEnd, [strAttr('http.method', 'POST'), strAttr('http.route', '/stock/reserve'), intAttr('http.status_code', 200), strAttr('net.host.name', 'app-5'), intAttr('net.host.port', 9004)]));
  await emit(frontend, span(frontend, rootId, undefined, 'POST /checkout', 2, t0 - 389, fanEnd + STEP + 131, [strAttr('http.method', 'POST'), strAttr('http.route', '/checkout'), intAttr('http.status_code', 200), strAttr('net.host.name', 'web-1'), intAttr('net.host.port', 8080)]));
  if (lineSvc && line.length > 0) await w.item(requestLine((lineSvc.instances[0] as Instance).resourceJson, lineSvc.scope, line));
  await w.close();
  const summary: GenerateSummary = { mode: 'single-trace', file: opts.out, seed, spans: written, traces: 1, lines: w.items, resourceSpans: w.items, newlines: w.newlines, bytes: w.bytes };
  writeFileSync(`${opts.out}.meta.json`, `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv: readonly string[]): { spans: number; out: string | undefined; seed: number; single: boolean; document: boolean } {
  let spans = 1_000_000;
  let out: string | undefined;
  let seed = DEFAULT_SEED;
  let single = false;
  let document = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--spans') spans = Number(val());
    else if (a === '--out' || a === '-o') out = val();
    else if (a === '--seed') seed = Number(val());
    else if (a === '--single-trace') single = true;
    else if (a === '--single-document') document = true;
    else throw new Error(`unknown argument ${a}; usage: generate-big [--spans N] [--out FILE] [--seed N] [--single-trace | --single-document]`);
  }
  if (single && document) throw new Error('--single-trace and --single-document cannot be combined');
  if (!Number.isInteger(spans) || spans < 1) throw new Error('--spans must be a positive integer');
  if (!Number.isInteger(seed)) throw new Error('--seed must be an integer');
  return { spans, out, seed, single, document };
}

async function cli(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const out = a.out ?? (a.single ? 'bench-data/single.otlp.jsonl' : a.document ? 'bench-data/huge-doc.otlp.json' : 'bench-data/big.otlp.jsonl');
  const started = Date.now();
  const opts = { spans: a.spans, out, seed: a.seed, singleDocument: a.document, onProgress: (n: number) => process.stderr.write(`  ${n} spans\r`) };
  const s = a.single ? await generateSingleTrace(opts) : await generateBig(opts);
  process.stderr.write(`wrote ${s.file}: ${s.spans} spans, ${s.traces} traces, ${s.resourceSpans} ResourceSpans, ${s.lines} lines (${s.newlines} newlines), ${s.bytes} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((e: unknown) => {
    process.stderr.write(`generate-big: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
