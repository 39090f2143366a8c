// node-pool: a Node.js service loop whose requests wait for the libuv thread pool, traced with the
// OpenTelemetry SDK while `cpath record` traces its threads (see samples/threads/README.md).
//
//   node node-pool.mjs OUT.otlp.jsonl [requests=30]
//
// - Requests, one at a time: span `POST /orders` (SERVER) with children `validate order`
//   (~2 ms of JavaScript on the event loop) and `hash password` (an awaited crypto.pbkdf2 of
//   ~5 ms CPU, run by a libuv pool thread).
// - Meanwhile 6 background jobs (more than the pool's 4 threads) loop on `reindex` (root span,
//   INTERNAL): a pbkdf2 of ~15 ms CPU and an fs.readFile of 1 MiB. So a request's hash usually
//   waits in the pool's queue behind background work: the span shows a wait, the threads show
//   whom for.
// - Spans: BasicTracerProvider + SimpleSpanProcessor + InMemorySpanExporter; at the end they are
//   written as OTLP JSON Lines (JsonTraceSerializer.serializeRequest, one request per line of up
//   to 100 spans), resource `service.name` = node-pool, `process.pid`, `host.name`.
// - Work sizes are calibrated at start (pbkdf2 iterations per ms, measured synchronously), and
//   printed on stderr with the pool size and the pid.
import { pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';

const out = process.argv[2];
const requests = Number(process.argv[3] ?? 30);
if (!out || !Number.isInteger(requests) || requests < 1) {
  process.stderr.write('usage: node node-pool.mjs OUT.otlp.jsonl [requests=30]\n');
  process.exit(2);
}
const BACKGROUND_JOBS = 6;
const REQUEST_HASH_MS = 5;
const BACKGROUND_HASH_MS = 15;
const VALIDATE_MS = 2;

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'node-pool', 'process.pid': process.pid, 'host.name': hostname() }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('node-pool');

// Calibration: pbkdf2-sha256 iterations per ms on this machine.
const calIterations = 20000;
const c0 = process.hrtime.bigint();
pbkdf2Sync('calibrate', 'salt', calIterations, 32, 'sha256');
const perMs = calIterations / (Number(process.hrtime.bigint() - c0) / 1e6);
const iterations = (ms) => Math.max(1, Math.round(perMs * ms));

const hash = (password, ms) =>
  new Promise((resolve, reject) => pbkdf2(password, 'salt', iterations(ms), 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key))));

/** Spins the event loop thread for `ms` (JavaScript work: JSON round trips). */
function busy(ms) {
  const end = performance.now() + ms;
  let n = 0;
  const doc = { items: Array.from({ length: 50 }, (_, i) => ({ sku: `sku-${i}`, qty: i % 3 })) };
  while (performance.now() < end) n += JSON.stringify(JSON.parse(JSON.stringify(doc))).length;
  return n;
}

const blob = join(tmpdir(), `node-pool-${process.pid}.bin`);
await writeFile(blob, randomBytes(1 << 20));

let stopping = false;
async function background(job) {
  for (let round = 0; !stopping; round++) {
    const span = tracer.startSpan('reindex', { kind: SpanKind.INTERNAL, attributes: { 'job.id': job, 'job.round': round } });
    await hash(`bg-${job}-${round}`, BACKGROUND_HASH_MS);
    await readFile(blob);
    span.end();
  }
}

async function handle(i) {
  const root = tracer.startSpan('POST /orders', { kind: SpanKind.SERVER, attributes: { 'http.route': '/orders', 'order.id': i } });
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  const v = tracer.startSpan('validate order', { kind: SpanKind.INTERNAL }, ctx);
  busy(VALIDATE_MS);
  v.end();
  const h = tracer.startSpan('hash password', { kind: SpanKind.INTERNAL, attributes: { 'crypto.iterations': iterations(REQUEST_HASH_MS) } }, ctx);
  await hash(`user-${i}`, REQUEST_HASH_MS);
  h.end();
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
}

process.stderr.write(`node-pool: pid ${process.pid}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, ${perMs.toFixed(1)} pbkdf2 iterations/ms, ${requests} requests, ${BACKGROUND_JOBS} background jobs\n`);
const jobs = Array.from({ length: BACKGROUND_JOBS }, (_, j) => background(j));
// Let the background fill the pool first.
await new Promise((r) => setTimeout(r, 50));
const t0 = performance.now();
for (let i = 0; i < requests; i++) {
  const s = performance.now();
  await handle(i);
  process.stdout.write(`request ${i}: ${(performance.now() - s).toFixed(3)} ms\n`);
  await new Promise((r) => setTimeout(r, 5));
}
stopping = true;
await Promise.all(jobs);
await rm(blob, { force: true });
process.stderr.write(`node-pool: ${requests} requests in ${(performance.now() - t0).toFixed(0)} ms\n`);

await provider.forceFlush();
const spans = exporter.getFinishedSpans();
const lines = [];
const decoder = new TextDecoder();
for (let i = 0; i < spans.length; i += 100) lines.push(JSON.stringify(JSON.parse(decoder.decode(JsonTraceSerializer.serializeRequest(spans.slice(i, i + 100))))));
writeFileSync(out, `${lines.join('\n')}\n`);
process.stderr.write(`node-pool: ${spans.length} spans written to ${out}\n`);
await provider.shutdown();
