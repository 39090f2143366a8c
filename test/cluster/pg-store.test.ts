// The cluster's shared store on a real PostgreSQL 15 (started by the test): the shop sample's
// spans written through PgStore (twice: resends are ignored), then `cpath analyze --store
// postgres://...` gives the report `cpath analyze samples/shop.otlp.jsonl` gives. Bad URLs are
// one line and exit 1.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { PgStore } from '../../src/store/pg-store.js';
import { cpath } from '../helpers/cli.js';
import { importPath } from '../helpers/import.js';
import { freePorts } from '../helpers/ports.js';
import { postgresSkipReason, startPostgres, type Postgres } from '../helpers/postgres.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE = join(ROOT, 'samples/shop.otlp.jsonl');
const pgSkip = postgresSkipReason();

/**
 * A JSON report without what names the inputs (files, formats, and where each diagnostic's
 * example came from: `file:line` or `postgres://... trace ID`), which differ by design.
 */
function comparable(stdout: string): unknown {
  const r = JSON.parse(stdout) as { input: Record<string, unknown> };
  const { files: _f, formats: _fm, ...input } = r.input;
  const text = JSON.stringify({ ...r, input }).replace(/"example":"(?:[^"]*?\.jsonl:\d+|postgres:\/\/[^ "]* trace [0-9a-f]{32}): /g, '"example":"');
  return JSON.parse(text);
}

describe('cpath analyze --store with a postgres:// URL that does not work', () => {
  it('unreachable: one line naming the URL (without its password), exit 1', async () => {
    const [port] = await freePorts(1);
    const r = await cpath(['analyze', '--store', `postgres://me:secret@127.0.0.1:${port}/db`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cpath: cannot reach PostgreSQL at postgres://me:***@127.0.0.1:${port}/db: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });
});

describe.skipIf(pgSkip !== undefined)(`the PostgreSQL store${pgSkip !== undefined ? ` (SKIPPED: ${pgSkip})` : ''}`, () => {
  let server: Postgres;
  let db: string;
  beforeAll(async () => {
    server = await startPostgres();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE shop');
    await admin.query('CREATE DATABASE empty');
    await admin.query('CREATE DATABASE nostore');
    await admin.end();
    db = server.url.replace(/\/postgres$/, '/shop');
  });
  afterAll(() => server?.stop());

  it('stores the shop sample once, however often it is sent', async () => {
    const { spans } = await importPath(SAMPLE);
    expect(spans.length).toBeGreaterThan(100);
    const store = await PgStore.open(db, { create: true });
    try {
      const first = await store.append(spans, 1n);
      expect(first.spansAdded).toBe(spans.length);
      const traceIds = new Set(spans.map((s) => s.traceId));
      expect(first.traces).toEqual([...traceIds].sort());
      // a resend of every span (an exporter retry, a redelivery), through a second writer
      const other = await PgStore.open(db, { create: true });
      const again = await other.append(spans, 2n);
      await other.close();
      expect(again.spansAdded).toBe(0);
      expect(await store.counts()).toEqual({ spans: spans.length, traces: traceIds.size, dirty: traceIds.size });
    } finally {
      await store.close();
    }
  });

  it('keeps awkward text exactly (tab, newline, backslash, quotes, non-ASCII); a NUL becomes U+FFFD', async () => {
    const awkward = server.url.replace(/\/postgres$/, '/empty');
    const store = await PgStore.open(awkward, { create: true });
    try {
      const resources = new ResourceInterner();
      const resource = resources.intern({ 'service.name': 'svc\tx', 'host.name': 'h\\1' });
      const span: SpanInput = {
        traceId: 'ab'.repeat(16),
        spanId: '0c'.repeat(8),
        parentSpanId: '0d'.repeat(8),
        parentRef: 'follows-from',
        name: 'GET /a\tb\nc\\d "e" é😀\r',
        kind: 'server',
        startNs: 1_700_000_000_123_456_789n,
        endNs: 1_700_000_000_223_456_789n,
        status: 'error',
        statusMessage: 'bad\u0000byte',
        attributes: { 'a\tb': 'x\ny', n: 3, big: 12345678901234567890n, list: ['\\', '"'] },
        resource,
        links: [{ traceId: 'cd'.repeat(16), spanId: '0e'.repeat(8) }],
        source: { file: 'test' },
      };
      expect((await store.append([span], 5n)).spansAdded).toBe(1);
      const back: SpanInput[] = [];
      for await (const s of store.iterateSpans(new ResourceInterner())) back.push(s);
      expect(back).toHaveLength(1);
      const [got] = back;
      expect(got).toEqual({
        ...span,
        statusMessage: 'bad\uFFFDbyte',
        // 64-bit integers beyond 2^53 are kept as decimal text, as in the SQLite store
        attributes: { ...span.attributes, big: '12345678901234567890' },
        resource: expect.objectContaining({ attributes: resource.attributes }),
        source: { file: `${awkward} trace ${'ab'.repeat(16)}` },
      });
    } finally {
      await store.close();
    }
  });

  it('cpath analyze --store postgres://... reports what cpath analyze of the file reports', async () => {
    const [fromFile, fromStore] = await Promise.all([cpath(['analyze', SAMPLE, '--format', 'json']), cpath(['analyze', '--store', db, '--format', 'json'])]);
    expect(fromStore.stderr).toBe('');
    expect(fromStore.code).toBe(0);
    expect(fromFile.code).toBe(0);
    const report = JSON.parse(fromStore.stdout) as { input: { files: string[]; formats: string[]; spans: number }; endpoints: unknown[] };
    expect(report.input.files).toEqual([db]);
    expect(report.input.formats).toEqual(['cpath-store']);
    expect(report.endpoints.length).toBeGreaterThan(1);
    expect(fromStore.stdout).toContain(`"example":"${db} trace `);
    expect(comparable(fromStore.stdout)).toEqual(comparable(fromFile.stdout));
  });

  it('cpath diff --store-base/--store-new postgres://... reports what cpath diff of the files reports', async () => {
    // trust authentication ignores the password; the outputs must not show it
    const withPassword = db.replace('postgres://postgres@', 'postgres://postgres:secret@');
    const [fromFiles, fromStores] = await Promise.all([cpath(['diff', SAMPLE, SAMPLE, '--format', 'json']), cpath(['diff', '--store-base', db, '--store-new', withPassword, '--format', 'json'])]);
    expect([fromStores.code, fromStores.stderr]).toEqual([0, '']);
    expect(fromFiles.code).toBe(0);
    const strip = (out: string): unknown => {
      const r = JSON.parse(out) as { input: { base: Record<string, unknown>; new: Record<string, unknown> } };
      const side = ({ files: _f, formats: _fm, ...rest }: Record<string, unknown>): unknown => rest;
      // where each diagnostic's example came from differs by design (file:line, or store trace ID)
      const text = JSON.stringify({ ...r, input: { base: side(r.input.base), new: side(r.input.new) } }).replace(/"example":"(?:[^"]*?\.jsonl:\d+|postgres:\/\/[^ "]* trace [0-9a-f]{32}): /g, '"example":"');
      return JSON.parse(text);
    };
    expect(strip(fromStores.stdout)).toEqual(strip(fromFiles.stdout));
    // No password in any output.
    expect(fromStores.stdout).not.toContain('secret');
  });

  it('a database without a cpath store, and a database that does not exist: one line, exit 1', async () => {
    const none = server.url.replace(/\/postgres$/, '/nostore');
    const r = await cpath(['analyze', '--store', none]);
    expect([r.code, r.stderr]).toEqual([1, `cpath: PostgreSQL at ${none} holds no cpath store (no table cpath.meta)\n`]);
    const missing = server.url.replace(/\/postgres$/, '/nosuch');
    const m = await cpath(['analyze', '--store', missing]);
    expect([m.code, m.stderr]).toEqual([1, `cpath: cannot reach PostgreSQL at ${missing}: database "nosuch" does not exist\n`]);
  });
});
