// Generates the sample traces in samples/ with the real OpenTelemetry JS SDK.
//
//   npm run samples        (tsc -p tsconfig.json && node dist/samples/generate.js)
//
// A small simulated shop (frontend, cart, inventory, payment, catalog, worker; plus an
// uninstrumented database and cache) handles 200 requests over about two simulated minutes. Every
// random choice comes from a seeded PRNG and every timestamp is passed explicitly, so reruns write
// byte-identical files. The known slow paths, the clock skew and the other traps are written to
// samples/README.md together with the trace ids that exhibit them.

import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type HrTime,
  type Span,
  type SpanStatus,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { frameLengthPrefixed, hrToNs, toJaegerDownload, toZipkinSpan } from './formats.js';
import { SeededIdGenerator, mulberry32 } from './seeded.js';

// ---------------------------------------------------------------------------------------------
// Parameters (the README facts depend on these)

const SEED = 20261120;
const BASE_NS = BigInt(Date.UTC(2026, 10, 20, 10, 0, 0)) * 1_000_000n; // 2026-11-20T10:00:00Z
const REQUESTS = 130;
const CHECKOUTS = 100; // the other 30 are GET /product
const OUTLIERS = 5; // 5 % of checkouts: inventory db.query 80-150 ms instead of 3-7 ms
const PAYMENT_ERRORS = 3; // 3 % of checkouts: payment fails with status ERROR
const CACHE_MISS_PROBABILITY = 0.08; // cart cache.get outlasts hash-session
const REQUEST_SPACING_MS = 900; // request i arrives at i*900 ms + U(0, 600) ms
const REQUEST_JITTER_MS = 600;
const PAYMENT_SKEW_NS = 40_000_000n; // payment's host clock runs 40 ms ahead
const MAX_FILE_BYTES = 1_000_000;

const MS = 1_000_000n;
const US = 1_000n;

type ServiceName = 'frontend' | 'cart' | 'inventory' | 'payment' | 'catalog' | 'worker';

/**
 * clock: how the service's SDK stamps times.
 *  - 'js-ms': like the OpenTelemetry JS SDK: start = Date.now() (whole milliseconds), end = start
 *    + a high-resolution duration. So recorded times are up to 1 ms earlier than the true ones.
 *  - 'us': a microsecond clock (start and end truncated to whole microseconds).
 *  - 'ns': exact nanoseconds.
 * skewNs is added to every timestamp of the service (its host clock is off).
 */
interface ServiceConfig {
  host: string;
  instance: string;
  pid: number;
  clock: 'js-ms' | 'us' | 'ns';
  skewNs: bigint;
}

const SERVICES: Record<ServiceName, ServiceConfig> = {
  frontend: { host: 'web-1', instance: 'frontend-2', pid: 4211, clock: 'js-ms', skewNs: 0n },
  cart: { host: 'app-1', instance: 'cart-1', pid: 3120, clock: 'ns', skewNs: 0n },
  inventory: { host: 'app-2', instance: 'inventory-1', pid: 2877, clock: 'ns', skewNs: 0n },
  payment: { host: 'pay-1', instance: 'payment-1', pid: 1502, clock: 'ns', skewNs: PAYMENT_SKEW_NS },
  catalog: { host: 'app-3', instance: 'catalog-3', pid: 3391, clock: 'us', skewNs: 0n },
  worker: { host: 'worker-1', instance: 'worker-1', pid: 5064, clock: 'ns', skewNs: 0n },
};
const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

// ---------------------------------------------------------------------------------------------
// Seeded randomness (samples/seeded.ts)

const rand = mulberry32(SEED);

/** Uniform duration in [loMs, hiMs), as whole nanoseconds. */
function between(loMs: number, hiMs: number): bigint {
  return BigInt(Math.round((loMs + (hiMs - loMs) * rand()) * 1e6));
}

function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}


// ---------------------------------------------------------------------------------------------
// Planned spans: the simulation decides true times, then each service's clock records them.

interface PlannedEvent {
  name: string;
  time: bigint;
  attributes: Attributes;
}

interface PlannedSpan {
  service: ServiceName;
  name: string;
  kind: SpanKind;
  start: bigint; // recorded (by the service's clock), ns since epoch
  end: bigint;
  attributes: Attributes;
  status?: SpanStatus;
  events: PlannedEvent[];
  children: PlannedSpan[];
  traceId?: string; // filled in when emitted
  spanId?: string;
}

function recordTime(service: ServiceName, t: bigint): bigint {
  const cfg = SERVICES[service];
  const skewed = t + cfg.skewNs;
  switch (cfg.clock) {
    case 'us':
      return skewed - (skewed % US);
    case 'js-ms':
      return skewed - (skewed % MS);
    case 'ns':
      return skewed;
  }
}

function plan(
  service: ServiceName,
  name: string,
  kind: SpanKind,
  trueStart: bigint,
  trueEnd: bigint,
  attributes: Attributes,
  children: PlannedSpan[] = [],
): PlannedSpan {
  const start = recordTime(service, trueStart);
  let end: bigint;
  if (SERVICES[service].clock === 'js-ms') {
    // JS SDK: end = (whole-ms start) + performance.now() duration.
    end = start + (trueEnd - trueStart);
  } else {
    end = recordTime(service, trueEnd);
  }
  return { service, name, kind, start, end, attributes, events: [], children };
}

interface ServerWork {
  trueEnd: bigint;
  children: PlannedSpan[];
  statusCode: number;
  status?: SpanStatus;
  events?: { name: string; trueTime: bigint; attributes: Attributes }[];
}

interface CallResult {
  client: PlannedSpan;
  server: PlannedSpan;
  trueEnd: bigint;
}

/** An HTTP call: CLIENT span on `from`, SERVER span on `to` (its parent is the CLIENT span). */
function httpCall(
  from: ServiceName,
  to: ServiceName,
  method: string,
  route: string,
  trueStart: bigint,
  work: (serverTrueStart: bigint) => ServerWork,
  symmetricNetwork = false,
): CallResult {
  // Network time at least 1 ms each way, so that a server span always fits inside its client
  // span even after the JS SDK's whole-millisecond truncation of the client's start.
  const out = between(1.0, 2.0);
  const back = symmetricNetwork ? out : between(1.0, 2.0);
  const serverStart = trueStart + out;
  const w = work(serverStart);
  const server = plan(to, `${method} ${route}`, SpanKind.SERVER, serverStart, w.trueEnd, {
    'http.route': route,
    'http.response.status_code': w.statusCode,
  }, w.children);
  if (w.status) server.status = w.status;
  for (const e of w.events ?? []) server.events.push({ name: e.name, time: recordTime(to, e.trueTime), attributes: e.attributes });
  const trueEnd = w.trueEnd + back;
  const client = plan(from, `${method} ${route}`, SpanKind.CLIENT, trueStart, trueEnd, {
    'server.address': to,
    'http.response.status_code': w.statusCode,
  }, [server]);
  if (w.statusCode >= 500) client.status = { code: SpanStatusCode.ERROR };
  return { client, server, trueEnd };
}

function dbQuery(service: ServiceName, trueStart: bigint, dur: bigint): PlannedSpan {
  return plan(service, 'db.query', SpanKind.CLIENT, trueStart, trueStart + dur, { 'db.system': 'postgresql' });
}

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

// ---------------------------------------------------------------------------------------------
// The two endpoints

interface CheckoutFlags {
  outlier: boolean;
  paymentError: boolean;
  cacheMiss: boolean;
}

interface Request {
  index: number;
  endpoint: 'GET /checkout' | 'GET /product';
  root: PlannedSpan;
  flags: CheckoutFlags & { frontendBackToBack: boolean };
  dbQueryNs?: bigint;
}

function checkout(t0: bigint, flags: CheckoutFlags): { root: PlannedSpan; dbQueryNs: bigint } {
  const children: PlannedSpan[] = [];
  let t = t0 + between(0.3, 1.5);

  const cart = httpCall('frontend', 'cart', 'GET', '/cart', t, (ss) => {
    // Two parallel calls: hash-session (CPU) is usually the longer, hiding cache.get.
    const cStart = ss + between(0.05, 0.15);
    const cEnd = cStart + (flags.cacheMiss ? between(9, 14) : between(0.8, 2.5));
    const hStart = ss + between(0.1, 0.2);
    const hEnd = hStart + between(4, 7);
    return {
      trueEnd: maxBig(cEnd, hEnd) + between(0.1, 0.4),
      statusCode: 200,
      children: [
        plan('cart', 'cache.get', SpanKind.CLIENT, cStart, cEnd, { 'db.system': 'redis' }),
        plan('cart', 'hash-session', SpanKind.INTERNAL, hStart, hEnd, {}),
      ],
    };
  });
  children.push(cart.client);
  t = cart.trueEnd + between(0.05, 0.8);

  let dbQueryNs = 0n;
  const inventory = httpCall('frontend', 'inventory', 'POST', '/inventory/reserve', t, (ss) => {
    const dStart = ss + between(0.1, 0.3);
    dbQueryNs = flags.outlier ? between(80, 150) : between(3, 7);
    const dEnd = dStart + dbQueryNs;
    return {
      trueEnd: dEnd + between(0.2, 0.6),
      statusCode: 200,
      children: [dbQuery('inventory', dStart, dbQueryNs)],
    };
  });
  children.push(inventory.client);
  t = inventory.trueEnd + between(0.05, 0.8);

  const payment = httpCall('frontend', 'payment', 'POST', '/payment/charge', t, (ss) => {
    const fStart = ss + between(0.1, 0.3);
    const fEnd = fStart + between(3, 6);
    const end = fEnd + between(8, 15); // the charge itself: payment SERVER self time
    const w: ServerWork = {
      trueEnd: end,
      statusCode: flags.paymentError ? 503 : 200,
      children: [plan('payment', 'fraud-check', SpanKind.INTERNAL, fStart, fEnd, {})],
    };
    if (flags.paymentError) {
      w.status = { code: SpanStatusCode.ERROR, message: 'payment gateway unavailable' };
      w.events = [{
        name: 'exception',
        trueTime: end - between(0.05, 0.2),
        attributes: { 'exception.type': 'GatewayUnavailableError', 'exception.message': 'payment gateway unavailable' },
      }];
    }
    return w;
  }, /* symmetricNetwork */ true);
  children.push(payment.client);
  t = payment.trueEnd;

  let publish: PlannedSpan | undefined;
  let publishTrueEnd = 0n;
  if (!flags.paymentError) {
    const pStart = t + between(0.05, 0.8);
    publishTrueEnd = pStart + between(0.3, 0.8);
    publish = plan('frontend', 'publish order', SpanKind.PRODUCER, pStart, publishTrueEnd, { 'messaging.system': 'kafka' });
    children.push(publish);
    t = publishTrueEnd;
  }
  const rootTrueEnd = t + between(1.0, 2.0); // >= 1 ms after the last child: no clipping
  const root = plan('frontend', 'GET /checkout', SpanKind.SERVER, t0, rootTrueEnd, {
    'http.request.method': 'GET',
    'http.route': '/checkout',
    'http.response.status_code': flags.paymentError ? 502 : 200,
  }, children);
  if (flags.paymentError) root.status = { code: SpanStatusCode.ERROR };

  if (publish) {
    // Async: the worker consumes the order after the checkout response has been sent.
    const cStart = rootTrueEnd + between(3, 20);
    const consumer = plan('worker', 'process order', SpanKind.CONSUMER, cStart, cStart + between(5, 15), { 'messaging.system': 'kafka' });
    consumer.status = { code: SpanStatusCode.OK };
    publish.children.push(consumer);
  }
  return { root, dbQueryNs };
}

function product(t0: bigint, frontendBackToBack: boolean): PlannedSpan {
  let t = t0 + between(0.3, 1.5);
  const catalog = httpCall('frontend', 'catalog', 'GET', '/catalog/item', t, (ss) => {
    // catalog.lookup and catalog.price run back to back: price starts exactly when lookup ends.
    const lStart = ss + between(0.1, 0.2);
    const lEnd = lStart + between(1.5, 4);
    const pEnd = lEnd + between(0.5, 2);
    return {
      trueEnd: pEnd + between(0.1, 0.3),
      statusCode: 200,
      children: [
        plan('catalog', 'catalog.lookup', SpanKind.INTERNAL, lStart, lEnd, {}),
        plan('catalog', 'catalog.price', SpanKind.INTERNAL, lEnd, pEnd, {}),
      ],
    };
  });
  let invStart: bigint;
  if (frontendBackToBack) {
    // The inventory call starts on a whole millisecond and the catalog CLIENT span is recorded
    // as ending exactly then: back-to-back siblings on the frontend.
    invStart = catalog.trueEnd + (MS - (catalog.trueEnd % MS));
    catalog.client.end = recordTime('frontend', invStart);
  } else {
    invStart = catalog.trueEnd + between(0.05, 0.8);
  }
  const inventory = httpCall('frontend', 'inventory', 'GET', '/inventory/stock', invStart, (ss) => {
    const dStart = ss + between(0.1, 0.3);
    const dur = between(1.5, 4);
    return {
      trueEnd: dStart + dur + between(0.2, 0.5),
      statusCode: 200,
      children: [dbQuery('inventory', dStart, dur)],
    };
  });
  t = inventory.trueEnd;
  return plan('frontend', 'GET /product', SpanKind.SERVER, t0, t + between(1.0, 2.0), {
    'http.request.method': 'GET',
    'http.route': '/product',
    'http.response.status_code': 200,
  }, [catalog.client, inventory.client]);
}

// ---------------------------------------------------------------------------------------------
// Build the workload

function buildRequests(): Request[] {
  const kinds = shuffle([
    ...Array.from({ length: CHECKOUTS }, () => 'checkout' as const),
    ...Array.from({ length: REQUESTS - CHECKOUTS }, () => 'product' as const),
  ]);
  const checkoutOrdinals = shuffle(Array.from({ length: CHECKOUTS }, (_, i) => i));
  const outliers = new Set(checkoutOrdinals.slice(0, OUTLIERS));
  const errors = new Set(checkoutOrdinals.slice(OUTLIERS, OUTLIERS + PAYMENT_ERRORS));

  const requests: Request[] = [];
  let checkoutOrdinal = 0;
  let firstProduct = true;
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = BASE_NS + BigInt(i * REQUEST_SPACING_MS) * MS + between(0, REQUEST_JITTER_MS);
    if (kinds[i] === 'checkout') {
      const flags: CheckoutFlags = {
        outlier: outliers.has(checkoutOrdinal),
        paymentError: errors.has(checkoutOrdinal),
        cacheMiss: rand() < CACHE_MISS_PROBABILITY,
      };
      checkoutOrdinal++;
      const { root, dbQueryNs } = checkout(t0, flags);
      requests.push({ index: i, endpoint: 'GET /checkout', root, flags: { ...flags, frontendBackToBack: false }, dbQueryNs });
    } else {
      const b2b = firstProduct;
      firstProduct = false;
      requests.push({
        index: i,
        endpoint: 'GET /product',
        root: product(t0, b2b),
        flags: { outlier: false, paymentError: false, cacheMiss: false, frontendBackToBack: b2b },
      });
    }
  }
  return requests;
}

// ---------------------------------------------------------------------------------------------
// Emit through the SDK: one BasicTracerProvider (own Resource) per service

function toHr(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

interface ServiceRuntime {
  provider: BasicTracerProvider;
  exporter: InMemorySpanExporter;
}

function makeRuntimes(): Record<ServiceName, ServiceRuntime> {
  const idGenerator = new SeededIdGenerator(mulberry32(SEED ^ 0x5eed));
  const out = {} as Record<ServiceName, ServiceRuntime>;
  for (const name of SERVICE_NAMES) {
    const cfg = SERVICES[name];
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': name,
        'service.instance.id': cfg.instance,
        'host.name': cfg.host,
        'process.pid': cfg.pid,
      }),
      idGenerator,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    out[name] = { provider, exporter };
  }
  return out;
}

function emit(runtimes: Record<ServiceName, ServiceRuntime>, p: PlannedSpan, parent?: { span: Span; service: ServiceName }): void {
  const tracer = runtimes[p.service].provider.getTracer('shop');
  let ctx: Context = ROOT_CONTEXT;
  if (parent) {
    ctx = parent.service === p.service
      ? trace.setSpan(ROOT_CONTEXT, parent.span)
      // Across services the parent arrives by propagation (traceparent): a remote span context.
      : trace.setSpanContext(ROOT_CONTEXT, { ...parent.span.spanContext(), isRemote: true });
  }
  const span = tracer.startSpan(p.name, { kind: p.kind, startTime: toHr(p.start), attributes: p.attributes }, ctx);
  p.traceId = span.spanContext().traceId;
  p.spanId = span.spanContext().spanId;
  for (const e of p.events) span.addEvent(e.name, e.attributes, toHr(e.time));
  for (const c of p.children) emit(runtimes, c, { span, service: p.service });
  if (p.status) span.setStatus(p.status);
  span.end(toHr(p.end));
}

// ---------------------------------------------------------------------------------------------
// Checks and facts

function walk(p: PlannedSpan, f: (s: PlannedSpan, parent: PlannedSpan | undefined) => void, parent?: PlannedSpan): void {
  f(p, parent);
  for (const c of p.children) walk(c, f, p);
}

function fail(msg: string): never {
  throw new Error(`samples/generate: ${msg}`);
}

const fmtMs = (ns: bigint): string => (Number(ns) / 1e6).toFixed(3);

function percentile(sorted: bigint[], p: number): bigint {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

interface Facts {
  traces: number;
  spans: number;
  spansPerService: Record<string, number>;
  endpoints: Record<string, { count: number; minMs: string; p50Ms: string; p90Ms: string; p99Ms: string; maxMs: string }>;
  outlierTraceIds: string[];
  outlierDbQueryMs: string[];
  outlierRootMs: string[];
  normalCheckoutMaxMs: string;
  outlierCheckoutMinMs: string;
  paymentErrorTraceIds: string[];
  cacheMissTraceIds: string[];
  frontendBackToBackTraceId: string;
  catalogBackToBackPairs: number;
  frontendApparentOverlapTraces: number;
  frontendMaxApparentOverlapMs: string;
  paymentSkewShiftMs: { min: string; max: string };
  consumerSpans: number;
  consumerDelayAfterRootEndMs: { min: string; max: string };
  firstRootStart: string;
  lastRootEnd: string;
}

function checkAndCollectFacts(requests: Request[], spans: ReadableSpan[]): Facts {
  const spansPerService: Record<string, number> = {};
  for (const s of spans) {
    const n = String(s.resource.attributes['service.name']);
    spansPerService[n] = (spansPerService[n] ?? 0) + 1;
  }
  let planned = 0;
  let catalogB2B = 0;
  let overlapTraces = 0;
  let maxOverlap = 0n;
  let minShift: bigint | undefined;
  let maxShift: bigint | undefined;
  let consumers = 0;
  let minDelay: bigint | undefined;
  let maxDelay: bigint | undefined;
  let frontendB2BTrace = '';

  for (const r of requests) {
    const root = r.root;
    walk(root, (s, parent) => {
      planned++;
      if (s.end < s.start) fail(`${s.name} ends before it starts`);
      if (s.service === 'frontend' && s.start % MS !== 0n) fail('frontend start is not a whole millisecond');
      if (s.service === 'catalog' && (s.start % US !== 0n || s.end % US !== 0n)) fail('catalog time is not a whole microsecond');
      if (!parent) return;
      if (s.kind === SpanKind.CONSUMER) {
        consumers++;
        const d = s.start - root.end;
        if (d <= 0n) fail('consumer does not start after the checkout ends');
        minDelay = minDelay === undefined || d < minDelay ? d : minDelay;
        maxDelay = maxDelay === undefined || d > maxDelay ? d : maxDelay;
        return;
      }
      const inside = s.start >= parent.start && s.end <= parent.end;
      if (s.service === 'payment' && parent.service === 'frontend') {
        // Skewed: the server span lies wholly after its client span.
        if (!(s.start > parent.end)) fail('payment server span is not wholly after its client span');
        const shift = (parent.start + parent.end - s.start - s.end) / 2n; // centring shift
        minShift = minShift === undefined || shift < minShift ? shift : minShift;
        maxShift = maxShift === undefined || shift > maxShift ? shift : maxShift;
      } else if (!inside) {
        fail(`${s.service} ${s.name} is not inside its parent ${parent.name}`);
      }
    });
    // Frontend siblings: apparent overlaps from whole-millisecond starts, exact back-to-back.
    const kids = [...root.children].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    let overlapped = false;
    for (let i = 1; i < kids.length; i++) {
      const prev = kids[i - 1]!;
      const next = kids[i]!;
      if (next.start < prev.end) {
        overlapped = true;
        const o = prev.end - next.start;
        if (o >= MS) fail('frontend apparent overlap of 1 ms or more');
        if (o > maxOverlap) maxOverlap = o;
      }
      if (next.start === prev.end) {
        if (!r.flags.frontendBackToBack || frontendB2BTrace) fail('unexpected frontend back-to-back pair');
        frontendB2BTrace = root.traceId!;
      }
    }
    if (overlapped) overlapTraces++;
    walk(root, (s) => {
      if (s.name === 'GET /catalog/item' && s.kind === SpanKind.SERVER) {
        const [a, b] = s.children;
        if (!a || !b || a.end !== b.start) fail('catalog.lookup / catalog.price not back to back');
        catalogB2B++;
      }
    });
  }
  if (planned !== spans.length) fail(`planned ${planned} spans but the SDK exported ${spans.length}`);
  if (!frontendB2BTrace) fail('no frontend back-to-back trace');

  const endpoints: Facts['endpoints'] = {};
  for (const ep of ['GET /checkout', 'GET /product'] as const) {
    const durs = requests.filter((r) => r.endpoint === ep).map((r) => r.root.end - r.root.start);
    durs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    endpoints[ep] = {
      count: durs.length,
      minMs: fmtMs(durs[0]!),
      p50Ms: fmtMs(percentile(durs, 50)),
      p90Ms: fmtMs(percentile(durs, 90)),
      p99Ms: fmtMs(percentile(durs, 99)),
      maxMs: fmtMs(durs[durs.length - 1]!),
    };
  }
  const checkouts = requests.filter((r) => r.endpoint === 'GET /checkout');
  const outliers = checkouts.filter((r) => r.flags.outlier);
  const normal = checkouts.filter((r) => !r.flags.outlier);
  const normalMax = normal.reduce((m, r) => maxBig(m, r.root.end - r.root.start), 0n);
  const outlierMin = outliers.reduce((m, r) => (r.root.end - r.root.start < m ? r.root.end - r.root.start : m), 1n << 62n);
  if (!(outlierMin > 2n * normalMax)) fail('outliers are not clearly separated');

  return {
    traces: requests.length,
    spans: spans.length,
    spansPerService,
    endpoints,
    outlierTraceIds: outliers.map((r) => r.root.traceId!),
    outlierDbQueryMs: outliers.map((r) => fmtMs(r.dbQueryNs!)),
    outlierRootMs: outliers.map((r) => fmtMs(r.root.end - r.root.start)),
    normalCheckoutMaxMs: fmtMs(normalMax),
    outlierCheckoutMinMs: fmtMs(outlierMin),
    paymentErrorTraceIds: checkouts.filter((r) => r.flags.paymentError).map((r) => r.root.traceId!),
    cacheMissTraceIds: checkouts.filter((r) => r.flags.cacheMiss).map((r) => r.root.traceId!),
    frontendBackToBackTraceId: frontendB2BTrace,
    catalogBackToBackPairs: catalogB2B,
    frontendApparentOverlapTraces: overlapTraces,
    frontendMaxApparentOverlapMs: fmtMs(maxOverlap),
    paymentSkewShiftMs: { min: fmtMs(minShift!), max: fmtMs(maxShift!) },
    consumerSpans: consumers,
    consumerDelayAfterRootEndMs: { min: fmtMs(minDelay!), max: fmtMs(maxDelay!) },
    firstRootStart: new Date(Number(requests[0]!.root.start / MS)).toISOString(),
    lastRootEnd: new Date(Number(requests[requests.length - 1]!.root.end / MS)).toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Batching like a Collector file exporter: per-service batches, interleaved

interface Batch {
  spans: ReadableSpan[];
  flushAt: bigint;
}

function makeBatches(runtimes: Record<ServiceName, ServiceRuntime>): Batch[] {
  const batches: Batch[] = [];
  for (const name of SERVICE_NAMES) {
    const finished = [...runtimes[name].exporter.getFinishedSpans()];
    // A BatchSpanProcessor exports spans in the order they ended.
    finished.sort((a, b) => {
      const d = hrToNs(a.endTime) - hrToNs(b.endTime);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    });
    for (let i = 0; i < finished.length;) {
      const size = 20 + Math.floor(rand() * 61); // 20..80 spans (a service's last batch may be smaller)
      const chunk = finished.slice(i, i + size);
      i += size;
      const lastEnd = hrToNs(chunk[chunk.length - 1]!.endTime);
      batches.push({ spans: chunk, flushAt: lastEnd + between(0, 5000) });
    }
  }
  batches.sort((a, b) => (a.flushAt < b.flushAt ? -1 : a.flushAt > b.flushAt ? 1 : 0));
  return batches;
}

// ---------------------------------------------------------------------------------------------
// README

function readme(f: Facts, sizes: Record<string, number>, lines: number): string {
  const list = (ids: string[]): string => ids.map((id) => `   - \`${id}\``).join('\n');
  const ep = (name: string): string => {
    const e = f.endpoints[name]!;
    return `| \`${name}\` | ${e.count} | ${e.minMs} | ${e.p50Ms} | ${e.p90Ms} | ${e.p99Ms} | ${e.maxMs} |`;
  };
  return `# Sample traces

Generated by \`npm run samples\` (\`samples/generate.ts\`, converters in \`samples/formats.ts\`).
Do not edit this file or the data files by hand: rerun the script. Every random choice comes from a
seeded PRNG (seed ${SEED}) and every timestamp is explicit, so reruns write identical files.

The spans are made by the real OpenTelemetry JS SDK (\`BasicTracerProvider\` + \`SimpleSpanProcessor\`
+ \`InMemorySpanExporter\`, sdk-trace-base 2.12), one provider per service, each with its own
Resource (\`service.name\`, \`service.instance.id\`, \`host.name\`, \`process.pid\`) and a
tracer (instrumentation scope) named \`shop\` without a version. Start and end times are passed explicitly as HrTime.

## Files

| file | bytes | what |
|---|---|---|
| \`shop.otlp.jsonl\` | ${sizes['shop.otlp.jsonl']} | OTLP JSON Lines as the Collector file exporter writes them: one \`ExportTraceServiceRequest\` (\`{"resourceSpans":[...]}\`) per line, ${lines} lines; each line is one batch of up to 80 spans from **one** service (\`JsonTraceSerializer.serializeRequest\`). Batches of different services are interleaved, so a trace's spans are spread over several lines. Ids are hex, times are decimal strings of Unix ns. |
| \`shop.otlp.pb\` | ${sizes['shop.otlp.pb']} | The same ${lines} batches in the same order as OTLP protobuf (\`ProtobufTraceSerializer.serializeRequest\`), Collector \`format: proto\` framing: each message prefixed by its length as a 4-byte big-endian integer. |
| \`shop.zipkin.json\` | ${sizes['shop.zipkin.json']} | The same spans as one Zipkin v2 JSON array, as \`@opentelemetry/exporter-zipkin\` 2.12 builds them (its \`toZipkinSpan\` is not exported, so \`samples/formats.ts\` mirrors it): 32-hex \`traceId\`, 16-hex \`id\`/\`parentId\`, \`kind\` (absent for INTERNAL), \`timestamp\`/\`duration\` in integer µs (rounded), \`localEndpoint.serviceName\`, tags = span attributes (as strings) + \`otel.status_code\` (\`OK\`/\`ERROR\`, absent when unset) + \`error\` (the status message, only when ERROR with a message) + the resource attributes; events as \`annotations\`. No \`shared\` spans. |
| \`shop.jaeger.json\` | ${sizes['shop.jaeger.json']} | The same traces as a Jaeger UI download (\`{"data":[...],"total":0,"limit":0,"offset":0,"errors":null}\`), one entry per trace, spans sorted by start; \`startTime\`/\`duration\` in µs (truncated, as Jaeger does), \`references\` \`CHILD_OF\` the parent, typed tags as Jaeger's OTLP ingestion shows them: span attributes, \`otel.scope.name\` (\`otel.scope.version\` is absent: the scope has no version), \`span.kind\` (\`server\`/\`client\`/\`producer\`/\`consumer\`/\`internal\`), \`otel.status_code\` (\`OK\`/\`ERROR\`), \`error\` (bool true) and \`otel.status_description\`; events as \`logs\`; \`processes\` \`p1\`.. per trace (serviceName + the other resource attributes as tags). |

## The simulated system

${f.traces} requests (${f.endpoints['GET /checkout']!.count} \`GET /checkout\`, ${f.endpoints['GET /product']!.count} \`GET /product\`), one trace each, ${f.spans} spans, from
${f.firstRootStart} to ${f.lastRootEnd} (request *i* arrives at 2026-11-20T10:00:00Z + *i*·${REQUEST_SPACING_MS} ms + U(0, ${REQUEST_JITTER_MS} ms)).
Spans per service: ${Object.entries(f.spansPerService).map(([k, v]) => `${k} ${v}`).join(', ')}.

Every cross-service call is a CLIENT span on the caller whose child is the callee's SERVER span
(parent propagated as a remote span context, so OTLP \`flags\` carry 0x300 on those server spans).
Span names are \`METHOD route\`; SERVER spans carry \`http.route\`.

\`\`\`
GET /checkout   frontend SERVER (http.route /checkout)
  GET /cart                 frontend CLIENT -> cart SERVER
      cache.get             cart CLIENT (db.system redis)      } in parallel; hash-session usually
      hash-session          cart INTERNAL                       } the longer, hiding cache.get
  POST /inventory/reserve   frontend CLIENT -> inventory SERVER
      db.query              inventory CLIENT (db.system postgresql)  3-7 ms; 80-150 ms in outliers
  POST /payment/charge      frontend CLIENT -> payment SERVER (host pay-1, clock +40 ms)
      fraud-check           payment INTERNAL 3-6 ms, then 8-15 ms of payment SERVER self time
  publish order             frontend PRODUCER (not in payment-error traces)
      process order         worker CONSUMER, starts 3-20 ms after the checkout ends (async)

GET /product    frontend SERVER (http.route /product)
  GET /catalog/item         frontend CLIENT -> catalog SERVER
      catalog.lookup        catalog INTERNAL  } back to back: price starts exactly
      catalog.price         catalog INTERNAL  } when lookup ends
  GET /inventory/stock      frontend CLIENT -> inventory SERVER
      db.query              inventory CLIENT 1.5-4 ms
\`\`\`

The frontend calls are sequential (cart, then inventory, then payment, then publish). Network time
is 1-2 ms each way, so every server span lies inside its client span (except payment's, see skew).
Every parent ends at least 0.1 ms (frontend root: 1 ms) after its last synchronous child: no
clipping is needed anywhere once the payment skew is corrected.

Hosts: frontend web-1, cart app-1, inventory app-2, payment pay-1, catalog app-3, worker worker-1
(all different, so every CLIENT -> SERVER edge crosses hosts).

## Clocks (granularity)

- **frontend** stamps like the JS SDK: every start is a whole millisecond (\`Date.now()\`), the end
  is start + the exact duration, so its spans are recorded up to 1 ms earlier than true time.
  Granularity detection must give **1 ms** for frontend.
- **catalog** uses a microsecond clock: every start and end is a whole µs (granularity **1 µs**).
- cart, inventory, payment, worker: nanosecond timestamps (granularity **none**).

Consequence: in ${f.frontendApparentOverlapTraces} of ${f.traces} traces two consecutive frontend children (sequential in reality)
*appear* to overlap, by at most ${f.frontendMaxApparentOverlapMs} ms (< 1 ms). With ε = 1 ms the critical path still
follows every sequential call (cart, inventory, payment, publish / catalog, inventory); with the
strict rule (ε = 0) the earlier call of such a pair drops off the path.

## Known facts (tests may rely on these)

Root durations per endpoint in ms (exact ns from OTLP, nearest-rank percentiles):

| endpoint | traces | min | p50 | p90 | p99 | max |
|---|---|---|---|---|---|---|
${ep('GET /checkout')}
${ep('GET /product')}

1. **Slow path / outliers**: exactly ${f.outlierTraceIds.length} of ${f.endpoints['GET /checkout']!.count} \`GET /checkout\` traces (5 %) are outliers. In each,
   inventory's \`db.query\` (CLIENT span of service \`inventory\`, \`db.system\` postgresql) takes
   80-150 ms instead of 3-7 ms, and that \`db.query\` is the largest contributor on the critical
   path. Normal checkouts take at most ${f.normalCheckoutMaxMs} ms; outliers at least ${f.outlierCheckoutMinMs} ms. Outlier traces
   (db.query ms / root ms):
${f.outlierTraceIds.map((id, i) => `   - \`${id}\` (${f.outlierDbQueryMs[i]} / ${f.outlierRootMs[i]})`).join('\n')}
   \`GET /product\` has no outliers.
2. **Payment errors**: exactly ${f.paymentErrorTraceIds.length} checkout traces. In each, the payment SERVER span has status
   ERROR with message \`payment gateway unavailable\`, http.response.status_code 503 and an
   \`exception\` event; the frontend's \`POST /payment/charge\` CLIENT span (503) and the root
   \`GET /checkout\` (502) have status ERROR without a message. These traces have no
   \`publish order\` / \`process order\` spans (11 spans instead of 13). No other span has status
   ERROR. The worker's \`process order\` spans have status OK; all other spans are UNSET.
${list(f.paymentErrorTraceIds)}
3. **Clock skew**: host \`pay-1\` (service \`payment\`) runs **+40 ms** ahead. In every checkout
   (${f.endpoints['GET /checkout']!.count} of them) the payment SERVER span lies wholly after its frontend CLIENT span, so skew
   adjustment shifts it with its \`fraud-check\` child, once per checkout trace. Network time to
   and from payment is symmetric, so centring gives a shift of -(40 ms + the frontend's
   sub-millisecond truncation): between ${f.paymentSkewShiftMs.min} and ${f.paymentSkewShiftMs.max} ms in the OTLP data. No other span
   needs a shift (${f.endpoints['GET /checkout']!.count} shifts in total).
4. **Hidden parallel call**: in cart, \`cache.get\` and \`hash-session\` run in parallel;
   \`hash-session\` (4-7 ms) is on the critical path and \`cache.get\` (0.8-2.5 ms) is hidden behind
   it, except in ${f.cacheMissTraceIds.length} cache-miss traces where \`cache.get\` takes 9-14 ms and is on the path
   instead of \`hash-session\`:
${list(f.cacheMissTraceIds)}
5. **Back-to-back siblings**: in every product trace (${f.catalogBackToBackPairs}) \`catalog.price\` starts exactly when
   \`catalog.lookup\` ends (same ns, whole µs, so also exact in Zipkin and Jaeger); both are on the
   critical path. In trace \`${f.frontendBackToBackTraceId}\` the frontend's \`GET /catalog/item\`
   CLIENT span ends exactly when its \`GET /inventory/stock\` CLIENT span starts (whole ms); both
   are on the path. No other frontend siblings are back to back.
6. **Async child**: each of the ${f.consumerSpans} successful checkouts has a \`publish order\` PRODUCER span
   (frontend, inside the request; on the critical path in every such trace but
   \`ae2d92ff7cdf019d94bcb19660152c04\`, where its start, truncated to the millisecond, makes it end
   before the payment call it follows: by the rules the payment call is picked first and hides
   it) whose child \`process order\` (CONSUMER,
   service \`worker\`) starts ${f.consumerDelayAfterRootEndMs.min}-${f.consumerDelayAfterRootEndMs.max} ms after the checkout root ends: async, never on the path.
7. **Expected critical path** (after skew adjustment, ε = 1 ms for frontend):
   - checkout: GET /checkout, GET /cart (client, server), hash-session (or cache.get on a cache
     miss), POST /inventory/reserve (client, server), db.query, POST /payment/charge (client,
     server), fraud-check, publish order (absent in error traces and hidden in one, see 6).
     Sections tile the root window.
   - product: GET /product, GET /catalog/item (client, server), catalog.lookup, catalog.price,
     GET /inventory/stock (client, server), db.query.

Machine-readable summary:

\`\`\`json
${JSON.stringify(f, null, 2)}
\`\`\`

## Two runs for \`cpath diff\`

\`samples/diff/\` holds two runs of the same shop services, a base and a candidate in which every
cart \`cache.get\` is 8-11 ms slower, recorded with the same SDK set-up by \`samples/generate-diff.ts\`
(\`npx tsc -p tsconfig.json && node dist/samples/generate-diff.js\`; deterministic too). What is in
them, and the diff they must give: \`samples/diff/README.md\`.
`;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled to dist/samples/generate.js: write to <repo>/samples. Run from source: next to it.
  const outDir = process.argv[2] ?? (basename(dirname(here)) === 'dist' ? join(here, '..', '..', 'samples') : here);

  const requests = buildRequests();
  const runtimes = makeRuntimes();
  for (const r of requests) emit(runtimes, r.root);
  for (const name of SERVICE_NAMES) await runtimes[name].provider.forceFlush();

  const batches = makeBatches(runtimes);
  const allSpans = batches.flatMap((b) => b.spans);
  const facts = checkAndCollectFacts(requests, allSpans);

  const decoder = new TextDecoder();
  const jsonl = batches
    .map((b) => JSON.stringify(JSON.parse(decoder.decode(JsonTraceSerializer.serializeRequest(b.spans)))) + '\n')
    .join('');
  const pbMessages = batches.map((b) => {
    const m = ProtobufTraceSerializer.serializeRequest(b.spans);
    if (!m) fail('protobuf serialization failed');
    return m;
  });
  const pb = frameLengthPrefixed(pbMessages);
  const zipkin = JSON.stringify(allSpans.map(toZipkinSpan));
  const jaeger = JSON.stringify(toJaegerDownload(allSpans, requests.map((r) => r.root.traceId!)));

  // Self-checks of the framing and the counts.
  let off = 0;
  let frames = 0;
  while (off < pb.length) {
    off += 4 + pb.readUInt32BE(off);
    frames++;
  }
  if (off !== pb.length || frames !== batches.length) fail('protobuf framing is inconsistent');
  const jsonSpans = jsonl.trim().split('\n').reduce((n, line) => {
    const req = JSON.parse(line) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
    if (req.resourceSpans.length !== 1) fail('a JSON line holds more than one resource');
    return n + req.resourceSpans.reduce((m, rs) => m + rs.scopeSpans.reduce((k, ss) => k + ss.spans.length, 0), 0);
  }, 0);
  if (jsonSpans !== allSpans.length) fail('JSON span count mismatch');

  const files: Record<string, string | Buffer> = {
    'shop.otlp.jsonl': jsonl,
    'shop.otlp.pb': pb,
    'shop.zipkin.json': zipkin + '\n',
    'shop.jaeger.json': jaeger + '\n',
  };
  const sizes: Record<string, number> = {};
  for (const [name, content] of Object.entries(files)) {
    const bytes = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
    if (bytes >= MAX_FILE_BYTES) fail(`${name} is ${bytes} bytes (limit ${MAX_FILE_BYTES})`);
    sizes[name] = bytes;
    writeFileSync(join(outDir, name), content);
  }
  writeFileSync(join(outDir, 'README.md'), readme(facts, sizes, batches.length));

  for (const name of SERVICE_NAMES) await runtimes[name].provider.shutdown();
  process.stdout.write(
    `samples: ${facts.traces} traces, ${facts.spans} spans, ${batches.length} batches -> ${outDir}\n` +
      Object.entries(sizes).map(([n, b]) => `  ${n} ${b} bytes\n`).join(''),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
