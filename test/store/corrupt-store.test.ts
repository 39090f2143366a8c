// A damaged store (issue 15, finding 8): every command that opens it names the file, says it is
// damaged and what to do, instead of "internal error"; `cpath store check` reports it.
import { mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { STORE_FILE, SpanStore } from '../../src/store/span-store.js';
import { cpath } from '../helpers/cli.js';
import { T0, spanIdFor, traceIdFor } from '../helpers/serve-harness.js';

const base = mkdtempSync(join(tmpdir(), 'cpath-corrupt-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A store of 2000 one-span traces, closed (checkpointed into the main file). */
function makeStore(dir: string): void {
  const store = SpanStore.open(dir, 'batch');
  const resources = new ResourceInterner();
  const resource = resources.intern({ 'service.name': 'svc' });
  const spans: SpanInput[] = Array.from({ length: 2000 }, (_, n) => ({ traceId: traceIdFor(0x88, n), spanId: spanIdFor(n), name: 'GET /x', kind: 'server', startNs: T0 + BigInt(n), endNs: T0 + BigInt(n) + 1000n, status: 'unset', attributes: { n: `${n}`.repeat(20) }, resource, source: { file: 't' } }));
  store.append([{ spans, receivedNs: T0 }]);
  store.close();
}

/** Overwrites `length` bytes at `offset` of the store file with 0xA5. */
function damage(dir: string, offset: number, length: number): void {
  const fd = openSync(join(dir, STORE_FILE), 'r+');
  writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, offset);
  closeSync(fd);
}

const intact = join(base, 'intact');
const pages = join(base, 'pages');
const header = join(base, 'header');
beforeAll(() => {
  for (const d of [intact, pages, header]) makeStore(d);
  // Pages in the middle (b-tree pages of the span table and its index).
  const size = statSync(join(pages, STORE_FILE)).size;
  damage(pages, Math.floor(size / 3 / 4096) * 4096, 8 * 4096);
  // The file header: no longer recognisably SQLite.
  damage(header, 0, 100);
  expect(readFileSync(join(header, STORE_FILE)).subarray(0, 6).toString()).not.toBe('SQLite');
});

const noInternalError = (stderr: string): void => {
  expect(stderr).not.toMatch(/internal error/);
  expect(stderr).not.toMatch(/^\s+at /m);
};

describe('cpath store check', () => {
  it('exits 0 and says "intact" with the counts for a sound store', async () => {
    const r = await cpath(['store', 'check', intact]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${STORE_FILE}: intact \\(2000 traces, 2000 spans\\)`));
  });

  it('exits 1 and lists what SQLite found for damaged pages, and says what to do', async () => {
    const r = await cpath(['store', 'check', pages]);
    noInternalError(r.stderr);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/damaged/);
    expect(r.stdout).toMatch(/mv .*\.damaged/);
  });

  it('exits 1 for a file that is no longer a database, naming it', async () => {
    const r = await cpath(['store', 'check', header]);
    noInternalError(r.stderr);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(join(header, STORE_FILE));
    expect(r.stdout).toMatch(/is damaged/);
  });
});

describe('commands opening a damaged store say so (exit 1, not 70)', () => {
  for (const [what, dir] of [['damaged pages', pages], ['a damaged header', header]] as const) {
    it(`cpath serve and cpath analyze --store, on ${what}`, async () => {
      const runs = [
        await cpath(['serve', '--store', dir, '--otlp-http', '127.0.0.1:0', '--otlp-grpc', 'off', '--api', '127.0.0.1:0']),
        await cpath(['analyze', '--store', dir]),
      ];
      for (const r of runs) {
        noInternalError(r.stderr);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain(join(dir, STORE_FILE));
        expect(r.stderr).toMatch(/is damaged .*cpath store check .*mv /s);
      }
    });
  }
});
