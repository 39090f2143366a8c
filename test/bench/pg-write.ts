// `npm run bench:pg`: bulk span writes into the cluster's PostgreSQL store (src/store/pg-store.ts),
// three ways, on a hermetic PostgreSQL 15 (test/helpers/postgres.ts) with default settings:
//   unnest  INSERT INTO cpath.spans SELECT ... FROM unnest($1::text[], ...) ON CONFLICT DO NOTHING
//           (one array per column)
//   values  INSERT INTO cpath.spans VALUES ($1, ..., $13), (...), ... ON CONFLICT DO NOTHING
//           (2,000 rows per statement: 26,000 parameters, under the protocol's 65,535)
//   copy    COPY into a temporary table (pg-copy-streams, text format, PgStore's copyRow), then
//           INSERT INTO cpath.spans SELECT * FROM it ON CONFLICT DO NOTHING (COPY itself cannot
//           skip resends; what PgStore does), plus plain COPY into the table as a bound (no
//           resend handling)
// Spans: the shop sample read by the project's importer, copied with fresh trace ids up to
// --spans (default 100,000), written in transactions of --batch spans (default 5,000, an
// analyser's commit). Each method runs --runs times (alternating), on an emptied table; the
// median is printed. Then PgStore.append itself (spans, resources and trace rows), and a resend
// of every span through it. Prints a Markdown section for BENCHMARKS.md.
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { KINDS, STATUSES, encodeAttributes } from '../../src/store/span-store.js';
import { PgStore, copyRow } from '../../src/store/pg-store.js';
import { readInput } from '../../collectors/index.js';
import { postgresSkipReason, startPostgres } from '../helpers/postgres.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} takes a positive integer`);
  return v;
}

const SPANS = arg('--spans', 100_000);
const BATCH = arg('--batch', 5_000);
const RUNS = arg('--runs', 3);

async function sampleSpans(n: number): Promise<SpanInput[]> {
  const base: SpanInput[] = [];
  await readInput(join(ROOT, 'samples/shop.otlp.jsonl'), { diag: new Diagnostics(), resources: new ResourceInterner(), emit: (s) => base.push(s) });
  const out: SpanInput[] = [];
  for (let copy = 0; out.length < n; copy++) {
    const prefix = copy.toString(16).padStart(8, '0');
    for (const s of base) {
      if (out.length >= n) break;
      out.push({ ...s, traceId: prefix + s.traceId.slice(8) });
    }
  }
  return out;
}

/** The 13 columns of cpath.spans, as PgStore writes them. */
function row(s: SpanInput, resourceId: string): unknown[] {
  return [
    s.traceId,
    s.spanId,
    s.parentSpanId ?? null,
    s.parentRef === 'follows-from' ? 1 : 0,
    s.name,
    KINDS.indexOf(s.kind),
    s.startNs,
    s.endNs,
    STATUSES.indexOf(s.status),
    s.statusMessage ?? null,
    resourceId,
    encodeAttributes(s.attributes) ?? null,
    s.links && s.links.length > 0 ? JSON.stringify(s.links.map((l) => [l.traceId, l.spanId])) : null,
  ];
}

const RES = '00000000000000000000000000000000';

type Method = (c: pg.PoolClient, spans: readonly SpanInput[]) => Promise<void>;

const unnest: Method = async (c, spans) => {
  const cols: unknown[][] = Array.from({ length: 13 }, () => []);
  for (const s of spans) row(s, RES).forEach((v, i) => cols[i]?.push(v));
  await c.query(
    `INSERT INTO cpath.spans SELECT decode(t, 'hex'), decode(s, 'hex'), decode(p, 'hex'), pr, nm, k, st, en, su, sm, decode(r, 'hex'), a, l
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int2[], $5::text[], $6::int2[], $7::int8[], $8::int8[], $9::int2[], $10::text[], $11::text[], $12::text[], $13::text[])
       AS u(t, s, p, pr, nm, k, st, en, su, sm, r, a, l) ON CONFLICT DO NOTHING`,
    cols,
  );
};

const values: Method = async (c, spans) => {
  const ROWS = 2_000;
  for (let i = 0; i < spans.length; i += ROWS) {
    const chunk = spans.slice(i, i + ROWS);
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (const s of chunk) {
      const b = params.length;
      params.push(...row(s, RES));
      tuples.push(
        `(decode($${b + 1}, 'hex'), decode($${b + 2}, 'hex'), decode($${b + 3}, 'hex'), $${b + 4}::int2, $${b + 5}, $${b + 6}::int2, $${b + 7}::int8, $${b + 8}::int8, $${b + 9}::int2, $${b + 10}, decode($${b + 11}, 'hex'), $${b + 12}, $${b + 13})`,
      );
    }
    await c.query(`INSERT INTO cpath.spans VALUES ${tuples.join(',')} ON CONFLICT DO NOTHING`, params);
  }
};

async function copyInto(c: pg.PoolClient, table: string, spans: readonly SpanInput[]): Promise<void> {
  const lines = function* (): Generator<string> {
    let buf = '';
    for (const s of spans) {
      buf += copyRow(s, RES);
      if (buf.length > 1 << 20) {
        yield buf;
        buf = '';
      }
    }
    if (buf !== '') yield buf;
  };
  await pipeline(Readable.from(lines()), c.query(copyFrom(`COPY ${table} FROM STDIN`)));
}

const copyStaged: Method = async (c, spans) => {
  await c.query('CREATE TEMP TABLE stage (LIKE cpath.spans) ON COMMIT DROP');
  await copyInto(c, 'stage', spans);
  await c.query('INSERT INTO cpath.spans SELECT * FROM stage ON CONFLICT DO NOTHING');
};

const copyPlain: Method = (c, spans) => copyInto(c, 'cpath.spans', spans);

/** Wall time and CPU time (this process + every PostgreSQL process) of one measured phase. */
interface Cost {
  readonly wallMs: number;
  readonly clientCpuMs: number;
  readonly serverCpuMs: number;
}

/**
 * CPU time of the PostgreSQL server so far: utime + stime of the postmaster and its children
 * (backends, WAL writer, checkpointer), from /proc. On a machine shared with other work the wall
 * time swings with the load; CPU time much less.
 */
function serverCpuMs(pgDir: string): number {
  const pm = Number(readFileSync(join(pgDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const tick = 1000 / 100; // USER_HZ
  let total = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // fields after the ")" that closes the command name: state ppid ... utime(14) stime(15)
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(e) === pm || Number(f[1]) === pm) total += (Number(f[11]) + Number(f[12])) * tick;
  }
  return total;
}

async function measure(pgDir: string, f: () => Promise<void>): Promise<Cost> {
  const s0 = serverCpuMs(pgDir);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, clientCpuMs: (c.user + c.system) / 1000, serverCpuMs: serverCpuMs(pgDir) - s0 };
}

async function timeMethod(pool: pg.Pool, pgDir: string, m: Method, spans: readonly SpanInput[]): Promise<Cost> {
  await pool.query('TRUNCATE cpath.spans');
  await pool.query('CHECKPOINT');
  const c = await pool.connect();
  try {
    const cost = await measure(pgDir, async () => {
      for (let i = 0; i < spans.length; i += BATCH) {
        await c.query('BEGIN');
        await m(c, spans.slice(i, i + BATCH));
        await c.query('COMMIT');
      }
    });
    const n = await pool.query<{ n: string }>('SELECT count(*) AS n FROM cpath.spans');
    if (Number(n.rows[0]?.n) !== spans.length) throw new Error(`wrote ${n.rows[0]?.n} rows, not ${spans.length}`);
    return cost;
  } finally {
    c.release();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const rate = (ms: number): string => `${Math.round((SPANS / ms) * 1000).toLocaleString('en-US')}`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const cpu = (c: Cost): number => c.clientCpuMs + c.serverCpuMs;
/** A table row: wall and spans/s; CPU (client + server) and spans per CPU-second. */
function costRow(name: string, cs: readonly Cost[]): string {
  const wall = median(cs.map((c) => c.wallMs));
  const total = median(cs.map(cpu));
  const client = median(cs.map((c) => c.clientCpuMs));
  const server = median(cs.map((c) => c.serverCpuMs));
  const runs = cs.length > 1 ? cs.map((c) => `${secs(c.wallMs)} / ${secs(cpu(c))}`).join(', ') : '';
  return `| ${name} | ${secs(wall)} | ${rate(wall)} | ${secs(total)} (client ${secs(client)}, server ${secs(server)}) | **${rate(total)}** | ${runs} |`;
}

async function main(): Promise<void> {
  const skip = postgresSkipReason();
  if (skip !== undefined) {
    process.stdout.write(`PostgreSQL write benchmark skipped: ${skip}\n`);
    return;
  }
  const loadBefore = loadavg()[0] ?? 0;
  const spans = await sampleSpans(SPANS);
  const server = await startPostgres();
  try {
    const setup = await PgStore.open(server.url, { create: true });
    await setup.close();
    const pool = new pg.Pool({ connectionString: server.url, max: 2 });
    const methods: [string, Method][] = [
      ['INSERT ... SELECT FROM unnest(one array per column)', unnest],
      ['multi-row VALUES, 2,000 rows per statement', values],
      ['COPY into a temp table + INSERT ... SELECT ON CONFLICT DO NOTHING (PgStore)', copyStaged],
      ['plain COPY into cpath.spans (no resend handling: a bound, not an option)', copyPlain],
    ];
    const times = new Map<string, Cost[]>(methods.map(([n]) => [n, []]));
    for (let r = 0; r < RUNS; r++) for (const [name, m] of methods) times.get(name)?.push(await timeMethod(pool, server.dir, m, spans));
    await pool.query('TRUNCATE cpath.spans, cpath.traces, cpath.resources');
    await pool.end();

    const store = await PgStore.open(server.url, { create: true });
    const append = await measure(server.dir, async () => {
      for (let i = 0; i < spans.length; i += BATCH) await store.append(spans.slice(i, i + BATCH), 1n);
    });
    let resent = 0;
    const resend = await measure(server.dir, async () => {
      for (let i = 0; i < spans.length; i += BATCH) resent += (await store.append(spans.slice(i, i + BATCH), 2n)).spansAdded;
    });
    const counts = await store.counts();
    await store.close();
    if (resent !== 0 || counts.spans !== SPANS) throw new Error(`resend stored ${resent} spans; table holds ${counts.spans}`);

    const model = cpus()[0]?.model ?? 'unknown CPU';
    const out: string[] = [
      '## PostgreSQL span writes (the cluster store)',
      '',
      `Written by \`npm run bench:pg\` (\`test/bench/pg-write.ts\`; \`node dist/test/bench/pg-write.js --spans ${SPANS} --batch ${BATCH} --runs ${RUNS}\`). Every number below is one the run printed.`,
      '',
      `- Date: ${new Date().toISOString()}`,
      `- Machine: ${cpus().length} CPUs, ${model}, Node ${process.version}; load average (1 min) ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after (other work on the machine shows in the times)`,
      `- Server: PostgreSQL 15 from Debian, fresh \`initdb\` in a temp dir, default settings (fsync on, synchronous_commit on), over TCP on 127.0.0.1, on the same 2 CPUs as the client`,
      `- Data: ${SPANS.toLocaleString('en-US')} spans (the shop sample's spans, copied with fresh trace ids), in transactions of ${BATCH.toLocaleString('en-US')} spans; table emptied and checkpointed before each run; median of ${RUNS} runs, methods alternating`,
      '',
      'CPU is this process plus every PostgreSQL process (utime + stime from /proc): on a loaded machine it is the steadier figure. Medians of each column separately.',
      '',
      '| method | wall | spans/s | CPU | spans per CPU-second | runs (wall / CPU) |',
      '|---|---|---|---|---|---|',
      ...methods.map(([name]) => costRow(name, times.get(name) ?? [])),
      costRow('`PgStore.append` (COPY + resources + trace rows upserted), one run', [append]),
      costRow('`PgStore.append` of every span again (all resends, none stored), one run', [resend]),
      '',
    ];
    process.stdout.write(out.join('\n'));
  } finally {
    server.stop();
  }
}

await main();
