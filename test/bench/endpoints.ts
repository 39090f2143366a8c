// Endpoint statistics, incremental (issue 11): `npm run bench:endpoints`
// (tsc -p tsconfig.json && node --max-old-space-size=8192 dist/test/bench/endpoints.js).
//
// Builds 1,000,000 trace summaries (seeded: 20 endpoints, 4-6 components per trace from a pool
// of 10 per endpoint, log-normal durations, starts spread over one day) and measures
//   (a) aggregateEndpoints over all of them (what a poll of the live page cost before),
//   (b) EndpointIndex.endpoints over all (the buckets built; the first, cold query apart),
//   (c) a one-hour window, not aligned to buckets,
//   (d) the live case: 10,000 `set` calls (new traces in the next minute, 1% of them re-analysed
//       traces of the last ten minutes) into the full index, then one all-time query,
//   (e) the same with the re-analysed traces anywhere in the day (a backfill: the worst case),
// checks that every answer equals aggregateEndpoints over the same summaries, prints a table and
// writes the "Endpoint statistics, incremental" section of BENCHMARKS.md (between the
// <!-- bench:endpoints:begin --> and <!-- bench:endpoints:end --> markers).
//
// Options: --traces N (default 1000000), --runs R (timed repetitions, median; default 3),
// --no-write.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { EndpointIndex } from '../../analysis/endpoint-index.js';
import { aggregateEndpoints, componentKey, type ComponentTime, type EndpointStats, type OutlierPolicy, type TraceSummary } from '../../analysis/endpoints.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/test/bench
const ROOT = resolve(HERE, '../../..');
const BEGIN = '<!-- bench:endpoints:begin -->';
const END = '<!-- bench:endpoints:end -->';
const DAY_NS = 86_400_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;
const T0 = 1_764_000_000_000_000_000n;
const POLICY: OutlierPolicy = { kind: 'auto' };
const TOP = 20;

interface Args {
  traces: number;
  runs: number;
  write: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { traces: 1_000_000, runs: 3, write: true };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '--traces') a.traces = Number(argv[++i]);
    else if (f === '--runs') a.runs = Number(argv[++i]);
    else if (f === '--no-write') a.write = false;
    else throw new Error(`unknown option ${f}`);
  }
  return a;
}

/** mulberry32: a seeded generator, so every run measures the same summaries. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Summaries like the server's: 20 endpoints (5 services x 4 routes), each with its own pool of 10 components. */
class Generator {
  private readonly random = rng(11);
  private readonly pools: { service: string; operation: string; comps: { key: string; service: string; operation: string; medianNs: number }[] }[] = [];
  private next = 0;

  constructor() {
    for (let s = 0; s < 5; s++) {
      for (let r = 0; r < 4; r++) {
        const comps = Array.from({ length: 10 }, (_, c) => {
          const service = `svc-${(s + c) % 8}`;
          const operation = c === 0 ? `GET /r${r}` : `op-${c}`;
          return { key: componentKey(service, operation), service, operation, medianNs: Math.round(200_000 * 2 ** (c % 6)) };
        });
        this.pools.push({ service: `svc-${s}`, operation: `GET /r${r}`, comps });
      }
    }
  }

  /** Log-normal around `median` (sigma 0.8), integer ns. */
  private lognormal(median: number): number {
    const u = Math.max(this.random(), 1e-12);
    const v = this.random();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.max(1, Math.round(median * Math.exp(0.8 * z)));
  }

  summary(startNs: bigint, traceId = `t${(this.next++).toString(16).padStart(16, '0')}`): TraceSummary {
    // Endpoints by a skewed popularity, as in real services.
    const pool = this.pools[Math.min(19, Math.floor(20 * this.random() ** 2))] ?? this.pools[0];
    if (!pool) throw new Error('no endpoints');
    const components = new Map<string, ComponentTime>();
    let durationNs = 0;
    const k = 4 + Math.floor(this.random() * 3);
    for (let i = 0; i < k; i++) {
      const c = pool.comps[i === 0 ? 0 : 1 + Math.floor(this.random() * 9)];
      if (!c || components.has(c.key)) continue;
      const ns = this.lognormal(c.medianNs);
      durationNs += ns;
      components.set(c.key, { service: c.service, operation: c.operation, ns, errors: this.random() < 0.01 ? 1 : 0 });
    }
    return { traceId, service: pool.service, operation: pool.operation, startNs, durationNs, components };
  }

  startInDay(): bigint {
    return T0 + BigInt(Math.floor(this.random() * Number(DAY_NS)));
  }
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

function timed<T>(f: () => T): { value: T; t: Timing } {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const value = f();
  const wallMs = performance.now() - w0;
  const c = process.cpuUsage(c0);
  return { value, t: { wallMs, cpuMs: (c.user + c.system) / 1000 } };
}

interface LiveRound {
  readonly sets: Timing;
  readonly query: Timing;
  readonly answer: EndpointStats[];
}

/** Medians of rounds (wall, except `cpu`), and the last round's answer. */
function liveMedians(rounds: readonly LiveRound[]): { sets: number; query: number; total: number; cpu: number; last: EndpointStats[] } {
  return {
    sets: median(rounds.map((x) => x.sets.wallMs)),
    query: median(rounds.map((x) => x.query.wallMs)),
    total: median(rounds.map((x) => x.sets.wallMs + x.query.wallMs)),
    cpu: median(rounds.map((x) => x.sets.cpuMs + x.query.cpuMs)),
    last: rounds.at(-1)?.answer ?? [],
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
}

/**
 * Median wall and CPU of `runs` calls, after `warmUp` untimed ones (the JIT's). No forced gc
 * between runs: a full collection before each call made the next one several times slower
 * (compiled code and caches lost), which a server polling the same code does not see.
 */
function repeat<T>(runs: number, f: () => T, warmUp = 0): { value: T; wall: number; cpu: number; walls: number[] } {
  for (let i = 0; i < warmUp; i++) f();
  const walls: number[] = [];
  const cpus: number[] = [];
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    const r = timed(f);
    walls.push(r.t.wallMs);
    cpus.push(r.t.cpuMs);
    value = r.value;
  }
  return { value: value as T, wall: median(walls), cpu: median(cpus), walls };
}

function check(what: string, got: EndpointStats[], want: EndpointStats[]): void {
  if (!isDeepStrictEqual(got, want)) throw new Error(`${what}: the index's answer differs from aggregateEndpoints`);
}

/** "12x faster" or "2.1x slower" than (a). */
const ratio = (ref: number, x: number): string => (x <= ref ? `${(ref / x).toFixed(ref / x >= 10 ? 0 : 1)}x faster` : `${(x / ref).toFixed(1)}x slower`);
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const int = (x: number): string => Math.round(x).toLocaleString('en-US');

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const load0 = loadavg();
  const gen = new Generator();
  process.stdout.write(`generating ${int(args.traces)} summaries...\n`);
  const all: TraceSummary[] = [];
  for (let i = 0; i < args.traces; i++) all.push(gen.summary(gen.startInDay()));

  process.stdout.write('(a) aggregateEndpoints over all...\n');
  const a = repeat(args.runs, () => aggregateEndpoints(all, POLICY, TOP));

  const index = new EndpointIndex();
  const fill = timed(() => {
    for (const t of all) index.set(t);
  });
  const cold = timed(() => index.endpoints(POLICY, TOP));
  check('all time (cold)', cold.value, a.value);
  process.stdout.write('(b) index over all...\n');
  const b = repeat(Math.max(args.runs, 5), () => index.endpoints(POLICY, TOP), 2);
  check('all time', b.value, a.value);

  process.stdout.write('(c) one hour...\n');
  const since = T0 + 11n * HOUR_NS + 12_345_678_901n;
  const until = since + HOUR_NS;
  const hourRef = timed(() => aggregateEndpoints(all.filter((t) => t.startNs >= since && t.startNs < until), POLICY, TOP));
  const c = repeat(Math.max(args.runs, 5), () => index.endpoints(POLICY, TOP, since, until), 2);
  check('one hour', c.value, hourRef.value);

  // (d) The live case: each round, 10k new traces over the next minute, 1% of them re-analysed
  // traces of the last ten minutes (late spans); (e) the same with the re-analysed traces anywhere
  // in the day (a cluster backfilling), the worst case for the blocks.
  process.stdout.write('(d) 10k sets, then one query, recent re-analyses...\n');
  const rounds = Math.max(args.runs, 5);
  let newest = T0 + DAY_NS;
  const recent: TraceSummary[] = [];
  const live = (pickOld: () => TraceSummary): LiveRound => {
    const batch: TraceSummary[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (i % 100 === 0) {
        const old = pickOld();
        batch.push(gen.summary(old.startNs, old.traceId));
      } else batch.push(gen.summary(newest + BigInt(i) * 6_000_000n));
    }
    newest += 60_000_000_000n;
    recent.push(...batch.filter((t) => t.startNs >= newest - 60_000_000_000n));
    if (recent.length > 100_000) recent.splice(0, recent.length - 100_000);
    const sets = timed(() => {
      for (const t of batch) index.set(t);
    });
    const query = timed(() => index.endpoints(POLICY, TOP));
    return { sets: sets.t, query: query.t, answer: query.value };
  };
  // A first round fills the last ten minutes.
  live(() => all[0] as TraceSummary);
  const d = liveMedians(Array.from({ length: rounds }, () => live(() => recent[Math.floor(Math.random() * recent.length)] as TraceSummary)));
  check('after the live rounds', d.last, aggregateEndpoints([...index.values()], POLICY, TOP));
  process.stdout.write('(e) 10k sets, then one query, re-analyses anywhere...\n');
  const e = liveMedians(Array.from({ length: rounds }, () => live(() => all[Math.floor(Math.random() * all.length)] as TraceSummary)));
  check('after the backfill rounds', e.last, aggregateEndpoints([...index.values()], POLICY, TOP));

  const rows = [
    '| measure | wall (median) | CPU (median) | vs (a) |',
    '|---|---|---|---|',
    `| (a) \`aggregateEndpoints\` over all ${int(args.traces)} summaries | ${ms(a.wall)} ms | ${ms(a.cpu)} ms | 1x |`,
    `| filling the index: ${int(args.traces)} \`set\` calls (once) | ${ms(fill.t.wallMs)} ms | ${ms(fill.t.cpuMs)} ms |  |`,
    `| first query after filling (every block built from its summaries) | ${ms(cold.t.wallMs)} ms | ${ms(cold.t.cpuMs)} ms | ${ratio(a.wall, cold.t.wallMs)} |`,
    `| (b) \`index.endpoints\` over all | ${ms(b.wall)} ms | ${ms(b.cpu)} ms | **${ratio(a.wall, b.wall)}** |`,
    `| (c) \`index.endpoints\` over one hour (not bucket-aligned; ${int(c.value.reduce((n, e) => n + e.traces, 0))} traces) | ${ms(c.wall)} ms | ${ms(c.cpu)} ms | **${ratio(a.wall, c.wall)}** |`,
    `| (c') \`aggregateEndpoints\` over the same hour (filtered first) | ${ms(hourRef.t.wallMs)} ms | ${ms(hourRef.t.cpuMs)} ms |  |`,
    `| (d) live: 10,000 \`set\` (new traces, 1% re-analysed from the last 10 minutes) | ${ms(d.sets)} ms | | |`,
    `| (d) then one all-time query | ${ms(d.query)} ms | | |`,
    `| (d) together | ${ms(d.total)} ms | ${ms(d.cpu)} ms | **${ratio(a.wall, d.total)}** |`,
    `| (e) backfill: 10,000 \`set\` (1% re-analysed anywhere in the day) | ${ms(e.sets)} ms | | |`,
    `| (e) then one all-time query | ${ms(e.query)} ms | | |`,
    `| (e) together | ${ms(e.total)} ms | ${ms(e.cpu)} ms | **${ratio(a.wall, e.total)}** |`,
  ].join('\n');
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const load1 = loadavg();
  const heap = process.memoryUsage();
  const md = [
    BEGIN,
    '## Endpoint statistics, incremental',
    '',
    'Written by `npm run bench:endpoints` (`test/bench/endpoints.ts`); rerun it to replace this section. Every number below is one the run printed.',
    '',
    `- Command: \`npm run bench:endpoints\`${process.argv.length > 2 ? ` (with \`${process.argv.slice(2).join(' ')}\`)` : ''}`,
    `- Date: ${startedAt.toISOString()}`,
    `- Machine: ${cpus().length} CPUs, ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}; load average (1 min) ${load0[0]?.toFixed(2)} before, ${load1[0]?.toFixed(2)} after (other work on the machine shows in the wall times)`,
    `- Data: ${int(args.traces)} generated summaries (seeded): 20 endpoints of skewed popularity, 4-6 components per trace from 10 per endpoint, log-normal path times, starts uniform over one day; the index's default 60 s buckets (1,440 per endpoint). Outlier rule auto, top ${TOP}. Median of ${args.runs} runs for (a), of ${Math.max(args.runs, 5)} for the others (after 2 untimed runs for (b) and (c): a server polls the same code again and again); heap used at the end ${(heap.heapUsed / 2 ** 20).toFixed(0)} MiB.`,
    '',
    rows,
    '',
    `Every index answer above was checked to equal \`aggregateEndpoints\` over the same summaries (deep, strict). (d) is what the live server pays per poll while traces arrive (${rounds} rounds, medians): the \`set\` calls file the summaries (a few map operations each) and note them in their block; the query patches each changed block (one pass over its sorted arrays: entries kept, removed ones skipped, added ones merged in) and merges all blocks. (e) re-analyses traces all over the day, so every round some 200 old blocks (one per endpoint and half hour) are patched: the worst case. The first query after filling builds every block from its summaries, reading all of them (scattered in memory, hence slower than (a), which reads them in order); after a restart \`cpath serve\` does that in 20 ms slices (\`EndpointIndex.prepare\`) before the first request needs it.`,
    END,
  ].join('\n');
  process.stdout.write(`\n${rows}\n`);
  if (args.write) {
    const file = join(ROOT, 'BENCHMARKS.md');
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
    const bi = old.indexOf(BEGIN);
    const ei = old.indexOf(END);
    writeFileSync(file, bi >= 0 && ei > bi ? `${old.slice(0, bi)}${md}${old.slice(ei + END.length)}` : `${old.replace(/\n*$/, '\n')}\n${md}\n`);
    process.stdout.write('wrote the "Endpoint statistics, incremental" section of BENCHMARKS.md\n');
  }
}

main();
