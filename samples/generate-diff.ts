// Generates samples/diff/: two runs of the shop sample services for `cpath diff`, recorded with
// the real OpenTelemetry JS SDK, the second with a deliberate slowdown in one component.
//
//   npx tsc -p tsconfig.json && node dist/samples/generate-diff.js
//
// The same services, span names, clocks and request shapes as samples/generate.ts (frontend,
// cart, inventory, payment, catalog; frontend stamps whole-millisecond starts like the JS SDK,
// catalog whole microseconds), smaller (50 checkouts + 20 product views per run) so the files stay
// a few hundred KB. The base run starts at 2026-11-26T09:00:00Z, the candidate at 10:00:00Z, so the
// two files concatenated can also be split with `--split-at 2026-11-26T10:00:00Z`. Every random
// choice comes from a seeded PRNG and every timestamp is explicit: reruns write identical files.
//
// The candidate's deliberate slowdown: every cart `cache.get` (the redis call that runs in
// parallel with `hash-session` and is normally hidden behind it) takes SLOWDOWN_MS longer, so
// it now outlasts `hash-session` and becomes the critical branch of `GET /cart`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_CONTEXT, SpanKind, trace, type Attributes, type Context, type HrTime, type Span } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SeededIdGenerator, mulberry32 } from './seeded.js';

const MS = 1_000_000n;
const US = 1_000n;
const CHECKOUTS = 50;
const PRODUCTS = 20;
const CACHE_MISS_PROBABILITY = 0.08;
/** Extra time of every cart cache.get in the candidate run, ms (uniform). */
const SLOWDOWN_MS: readonly [number, number] = [8, 11];
const MAX_FILE_BYTES = 400_000;

interface RunConfig {
  readonly name: 'base' | 'candidate';
  readonly seed: number;
  readonly startNs: bigint;
  readonly slowCacheGet: boolean;
}

const RUNS: readonly RunConfig[] = [
  { name: 'base', seed: 20261126, startNs: BigInt(Date.UTC(2026, 10, 26, 9, 0, 0)) * MS, slowCacheGet: false },
  { name: 'candidate', seed: 20261127, startNs: BigInt(Date.UTC(2026, 10, 26, 10, 0, 0)) * MS, slowCacheGet: true },
];

type ServiceName = 'frontend' | 'cart' | 'inventory' | 'payment' | 'catalog';
const SERVICES: Record<ServiceName, { host: string; instance: string; pid: number; clock: 'js-ms' | 'us' | 'ns' }> = {
  frontend: { host: 'web-1', instance: 'frontend-2', pid: 4211, clock: 'js-ms' },
  cart: { host: 'app-1', instance: 'cart-1', pid: 3120, clock: 'ns' },
  inventory: { host: 'app-2', instance: 'inventory-1', pid: 2877, clock: 'ns' },
  payment: { host: 'pay-1', instance: 'payment-1', pid: 1502, clock: 'ns' },
  catalog: { host: 'app-3', instance: 'catalog-3', pid: 3391, clock: 'us' },
};
const SERVICE_NAMES: readonly ServiceName[] = ['frontend', 'cart', 'inventory', 'payment', 'catalog'];

interface PlannedSpan {
  service: ServiceName;
  name: string;
  kind: SpanKind;
  start: bigint;
  end: bigint;
  attributes: Attributes;
  children: PlannedSpan[];
}

/** One run: the simulation decides true times; each service's clock records them. */
class Run {
  private readonly rand: () => number;
  constructor(readonly cfg: RunConfig) {
    this.rand = mulberry32(cfg.seed);
  }

  random(): number {
    return this.rand();
  }

  between(loMs: number, hiMs: number): bigint {
    return BigInt(Math.round((loMs + (hiMs - loMs) * this.rand()) * 1e6));
  }

  plan(service: ServiceName, name: string, kind: SpanKind, trueStart: bigint, trueEnd: bigint, attributes: Attributes, children: PlannedSpan[] = []): PlannedSpan {
    const clock = SERVICES[service].clock;
    const trunc = (t: bigint, unit: bigint): bigint => t - (t % unit);
    // JS SDK: start = Date.now() (whole ms), end = start + a high-resolution duration.
    const start = clock === 'js-ms' ? trunc(trueStart, MS) : clock === 'us' ? trunc(trueStart, US) : trueStart;
    const end = clock === 'js-ms' ? start + (trueEnd - trueStart) : clock === 'us' ? trunc(trueEnd, US) : trueEnd;
    return { service, name, kind, start, end, attributes, children };
  }

  /** CLIENT span on `from`, SERVER span on `to`; network 1-2 ms each way. */
  call(from: ServiceName, to: ServiceName, method: string, route: string, trueStart: bigint, work: (serverStart: bigint) => { end: bigint; children: PlannedSpan[] }): { client: PlannedSpan; end: bigint } {
    const serverStart = trueStart + this.between(1, 2);
    const w = work(serverStart);
    const server = this.plan(to, `${method} ${route}`, SpanKind.SERVER, serverStart, w.end, { 'http.route': route, 'http.response.status_code': 200 }, w.children);
    const end = w.end + this.between(1, 2);
    const client = this.plan(from, `${method} ${route}`, SpanKind.CLIENT, trueStart, end, { 'server.address': to, 'http.response.status_code': 200 }, [server]);
    return { client, end };
  }

  checkout(t0: bigint): PlannedSpan {
    const cacheMiss = this.random() < CACHE_MISS_PROBABILITY;
    let t = t0 + this.between(0.3, 1.5);
    const cart = this.call('frontend', 'cart', 'GET', '/cart', t, (ss) => {
      const cStart = ss + this.between(0.05, 0.15);
      let cDur = cacheMiss ? this.between(9, 14) : this.between(0.8, 2.5);
      if (this.cfg.slowCacheGet) cDur += this.between(SLOWDOWN_MS[0], SLOWDOWN_MS[1]);
      const hStart = ss + this.between(0.1, 0.2);
      const hEnd = hStart + this.between(4, 7);
      const cEnd = cStart + cDur;
      return {
        end: (cEnd > hEnd ? cEnd : hEnd) + this.between(0.1, 0.4),
        children: [this.plan('cart', 'cache.get', SpanKind.CLIENT, cStart, cEnd, { 'db.system': 'redis' }), this.plan('cart', 'hash-session', SpanKind.INTERNAL, hStart, hEnd, {})],
      };
    });
    t = cart.end + this.between(0.05, 0.8);
    const inventory = this.call('frontend', 'inventory', 'POST', '/inventory/reserve', t, (ss) => {
      const dStart = ss + this.between(0.1, 0.3);
      const dEnd = dStart + this.between(3, 7);
      return { end: dEnd + this.between(0.2, 0.6), children: [this.plan('inventory', 'db.query', SpanKind.CLIENT, dStart, dEnd, { 'db.system': 'postgresql' })] };
    });
    t = inventory.end + this.between(0.05, 0.8);
    const payment = this.call('frontend', 'payment', 'POST', '/payment/charge', t, (ss) => {
      const fStart = ss + this.between(0.1, 0.3);
      const fEnd = fStart + this.between(3, 6);
      return { end: fEnd + this.between(8, 15), children: [this.plan('payment', 'fraud-check', SpanKind.INTERNAL, fStart, fEnd, {})] };
    });
    const end = payment.end + this.between(1, 2);
    return this.plan('frontend', 'GET /checkout', SpanKind.SERVER, t0, end, { 'http.request.method': 'GET', 'http.route': '/checkout', 'http.response.status_code': 200 }, [cart.client, inventory.client, payment.client]);
  }

  product(t0: bigint): PlannedSpan {
    const catalog = this.call('frontend', 'catalog', 'GET', '/catalog/item', t0 + this.between(0.3, 1.5), (ss) => {
      const lStart = ss + this.between(0.1, 0.2);
      const lEnd = lStart + this.between(1.5, 4);
      const pEnd = lEnd + this.between(0.5, 2);
      return { end: pEnd + this.between(0.1, 0.3), children: [this.plan('catalog', 'catalog.lookup', SpanKind.INTERNAL, lStart, lEnd, {}), this.plan('catalog', 'catalog.price', SpanKind.INTERNAL, lEnd, pEnd, {})] };
    });
    const inventory = this.call('frontend', 'inventory', 'GET', '/inventory/stock', catalog.end + this.between(0.05, 0.8), (ss) => {
      const dStart = ss + this.between(0.1, 0.3);
      const dEnd = dStart + this.between(1.5, 4);
      return { end: dEnd + this.between(0.2, 0.5), children: [this.plan('inventory', 'db.query', SpanKind.CLIENT, dStart, dEnd, { 'db.system': 'postgresql' })] };
    });
    const end = inventory.end + this.between(1, 2);
    return this.plan('frontend', 'GET /product', SpanKind.SERVER, t0, end, { 'http.request.method': 'GET', 'http.route': '/product', 'http.response.status_code': 200 }, [catalog.client, inventory.client]);
  }

  /** Requests one second apart plus up to 600 ms of jitter, checkouts and product views shuffled. */
  requests(): PlannedSpan[] {
    const kinds: ('checkout' | 'product')[] = [...Array.from({ length: CHECKOUTS }, () => 'checkout' as const), ...Array.from({ length: PRODUCTS }, () => 'product' as const)];
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const a = kinds[i];
      const b = kinds[j];
      if (a !== undefined && b !== undefined) [kinds[i], kinds[j]] = [b, a];
    }
    return kinds.map((k, i) => {
      const t0 = this.cfg.startNs + BigInt(i * 1000) * MS + this.between(0, 600);
      return k === 'checkout' ? this.checkout(t0) : this.product(t0);
    });
  }
}

function toHr(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

/** Emits the planned spans through one BasicTracerProvider (own Resource) per service. */
async function record(run: Run, roots: readonly PlannedSpan[]): Promise<Map<ServiceName, ReadableSpan[]>> {
  const idGenerator = new SeededIdGenerator(mulberry32(run.cfg.seed ^ 0x5eed));
  const runtimes = new Map<ServiceName, { provider: BasicTracerProvider; exporter: InMemorySpanExporter }>();
  for (const name of SERVICE_NAMES) {
    const cfg = SERVICES[name];
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': name, 'service.instance.id': cfg.instance, 'host.name': cfg.host, 'process.pid': cfg.pid }),
      idGenerator,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    runtimes.set(name, { provider, exporter });
  }
  // Iterative emission (explicit stack): start a span, then its children, end it after them.
  for (const root of roots) {
    const stack: { p: PlannedSpan; parent?: { span: Span; service: ServiceName }; span?: Span }[] = [{ p: root }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (!top) break;
      if (top.span) {
        top.span.end(toHr(top.p.end));
        stack.pop();
        continue;
      }
      const rt = runtimes.get(top.p.service);
      if (!rt) throw new Error(`no runtime for ${top.p.service}`);
      let ctx: Context = ROOT_CONTEXT;
      if (top.parent) {
        // Across services the parent arrives by propagation (traceparent): a remote span context.
        ctx = top.parent.service === top.p.service ? trace.setSpan(ROOT_CONTEXT, top.parent.span) : trace.setSpanContext(ROOT_CONTEXT, { ...top.parent.span.spanContext(), isRemote: true });
      }
      const span = rt.provider.getTracer('shop').startSpan(top.p.name, { kind: top.p.kind, startTime: toHr(top.p.start), attributes: top.p.attributes }, ctx);
      top.span = span;
      for (let i = top.p.children.length - 1; i >= 0; i--) {
        const c = top.p.children[i];
        if (c) stack.push({ p: c, parent: { span, service: top.p.service } });
      }
    }
  }
  const out = new Map<ServiceName, ReadableSpan[]>();
  for (const [name, rt] of runtimes) {
    await rt.provider.forceFlush();
    out.set(name, [...rt.exporter.getFinishedSpans()]);
    await rt.provider.shutdown();
  }
  return out;
}

const endNs = (s: ReadableSpan): bigint => BigInt(s.endTime[0]) * 1_000_000_000n + BigInt(s.endTime[1]);

/** Collector-file-exporter JSON Lines: per-service batches of 20-60 spans in end order, interleaved by flush time. */
function jsonLines(run: Run, spans: Map<ServiceName, ReadableSpan[]>): { text: string; lines: number; spans: number } {
  const batches: { spans: ReadableSpan[]; flushAt: bigint }[] = [];
  let total = 0;
  for (const name of SERVICE_NAMES) {
    const finished = [...(spans.get(name) ?? [])].sort((a, b) => (endNs(a) < endNs(b) ? -1 : endNs(a) > endNs(b) ? 1 : 0));
    total += finished.length;
    for (let i = 0; i < finished.length; ) {
      const size = 20 + Math.floor(run.random() * 41);
      const chunk = finished.slice(i, i + size);
      i += size;
      const last = chunk[chunk.length - 1];
      if (last) batches.push({ spans: chunk, flushAt: endNs(last) + run.between(0, 5000) });
    }
  }
  batches.sort((a, b) => (a.flushAt < b.flushAt ? -1 : a.flushAt > b.flushAt ? 1 : 0));
  const decoder = new TextDecoder();
  const text = batches.map((b) => `${JSON.stringify(JSON.parse(decoder.decode(JsonTraceSerializer.serializeRequest(b.spans))))}\n`).join('');
  return { text, lines: batches.length, spans: total };
}

interface RunFacts {
  file: string;
  bytes: number;
  lines: number;
  spans: number;
  checkouts: number;
  products: number;
  firstRootStart: string;
  cacheGetMs: { min: string; max: string };
  hashSessionMs: { min: string; max: string };
}

const fmtMs = (ns: bigint): string => (Number(ns) / 1e6).toFixed(3);

function facts(file: string, bytes: number, jl: { lines: number; spans: number }, roots: readonly PlannedSpan[]): RunFacts {
  const cache: bigint[] = [];
  const hash: bigint[] = [];
  const stack = [...roots];
  for (let s = stack.pop(); s; s = stack.pop()) {
    if (s.name === 'cache.get') cache.push(s.end - s.start);
    if (s.name === 'hash-session') hash.push(s.end - s.start);
    stack.push(...s.children);
  }
  const range = (v: bigint[]): { min: string; max: string } => {
    const s = [...v].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { min: fmtMs(s[0] ?? 0n), max: fmtMs(s[s.length - 1] ?? 0n) };
  };
  const first = roots.reduce((m, r) => (r.start < m ? r.start : m), roots[0]?.start ?? 0n);
  return {
    file,
    bytes,
    lines: jl.lines,
    spans: jl.spans,
    checkouts: roots.filter((r) => r.name === 'GET /checkout').length,
    products: roots.filter((r) => r.name === 'GET /product').length,
    firstRootStart: new Date(Number(first / MS)).toISOString(),
    cacheGetMs: range(cache),
    hashSessionMs: range(hash),
  };
}

function readme(all: readonly RunFacts[]): string {
  const row = (f: RunFacts): string => `| \`${f.file}\` | ${f.bytes} | ${f.lines} | ${f.spans} | ${f.checkouts} | ${f.products} | ${f.firstRootStart} | ${f.cacheGetMs.min}-${f.cacheGetMs.max} | ${f.hashSessionMs.min}-${f.hashSessionMs.max} |`;
  return `# Two runs for \`cpath diff\`

Generated by \`samples/generate-diff.ts\` (\`npx tsc -p tsconfig.json && node dist/samples/generate-diff.js\`).
Do not edit by hand: rerun the script (seeded PRNG and explicit timestamps: identical files).

The same shop services as \`samples/generate.ts\` (frontend, cart, inventory, payment, catalog;
same span names, kinds and clocks), recorded with the real OpenTelemetry JS SDK
(\`BasicTracerProvider\` + \`SimpleSpanProcessor\` + \`InMemorySpanExporter\`, one provider and
Resource per service) and written as Collector-style OTLP JSON Lines
(\`JsonTraceSerializer.serializeRequest\`, per-service batches, interleaved). Each run has
${CHECKOUTS} \`GET /checkout\` and ${PRODUCTS} \`GET /product\` requests, one second apart, with
different seeds (two real runs never repeat each other's timings).

**The deliberate slowdown** (candidate only): every cart \`cache.get\` (redis, in parallel with
\`hash-session\` inside \`GET /cart\`) takes ${SLOWDOWN_MS[0]}-${SLOWDOWN_MS[1]} ms longer. In the base
run \`cache.get\` is hidden behind \`hash-session\` except on cache misses (${CACHE_MISS_PROBABILITY * 100}%); in the
candidate it always outlasts it: it enters the critical path and \`hash-session\` leaves it.
\`GET /product\` does not call cart: it does not change.

What \`cpath diff samples/diff/base.otlp.jsonl samples/diff/candidate.otlp.jsonl\` must say (the
tests in \`test/diff/\` check it): \`GET /checkout\` is significantly slower and \`cart cache.get\`
comes first in its \`changes\`, having entered the path (\`swappedWith\` \`cart hash-session\`,
which left it); \`GET /product\` shows no significant change.

| file | bytes | lines | spans | checkouts | products | first request | cache.get ms | hash-session ms |
|---|---|---|---|---|---|---|---|---|
${all.map(row).join('\n')}

\`\`\`sh
npx cpath diff samples/diff/base.otlp.jsonl samples/diff/candidate.otlp.jsonl
cat samples/diff/base.otlp.jsonl samples/diff/candidate.otlp.jsonl > both.jsonl
npx cpath diff both.jsonl --split-at 2026-11-26T10:00:00Z      # the same diff from one input
\`\`\`
`;
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled to dist/samples/generate-diff.js: write to <repo>/samples/diff. Run from source: next to it.
  const outDir = process.argv[2] ?? join(basename(dirname(here)) === 'dist' ? join(here, '..', '..', 'samples') : here, 'diff');
  mkdirSync(outDir, { recursive: true });
  const all: RunFacts[] = [];
  for (const cfg of RUNS) {
    const run = new Run(cfg);
    const roots = run.requests();
    const spans = await record(run, roots);
    const jl = jsonLines(run, spans);
    const file = `${cfg.name}.otlp.jsonl`;
    const bytes = Buffer.byteLength(jl.text);
    if (bytes > MAX_FILE_BYTES) throw new Error(`samples/generate-diff: ${file} is ${bytes} bytes (limit ${MAX_FILE_BYTES})`);
    writeFileSync(join(outDir, file), jl.text);
    all.push(facts(file, bytes, jl, roots));
  }
  writeFileSync(join(outDir, 'README.md'), readme(all));
  process.stdout.write(all.map((f) => `samples/diff: ${f.file} ${f.spans} spans, ${f.lines} lines, ${f.bytes} bytes\n`).join(''));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
