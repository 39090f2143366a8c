// `cpath diff` over `cpath serve` stores: two stores (--store-base / --store-new) and one store
// split in time (--store --split-at) give the same diff as the two sample files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInput } from '../../collectors/index.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { SpanStore } from '../../src/store/span-store.js';
import { diffInputs } from '../../src/pipeline/diff.js';
import { cpath } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASE = join(ROOT, 'samples/diff/base.otlp.jsonl');
const CANDIDATE = join(ROOT, 'samples/diff/candidate.otlp.jsonl');
const SPLIT = BigInt(Date.UTC(2026, 10, 26, 10)) * 1_000_000n;
let dir = '';

async function fill(store: string, files: readonly string[]): Promise<void> {
  const spans: SpanInput[] = [];
  for (const f of files) await readInput(f, { diag: new Diagnostics(), resources: new ResourceInterner(), emit: (s) => spans.push(s) });
  const s = SpanStore.open(store, 'batch');
  s.append([{ spans, receivedNs: 1n }]);
  s.close();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpath-diff-store-'));
  await fill(join(dir, 'base'), [BASE]);
  await fill(join(dir, 'new'), [CANDIDATE]);
  await fill(join(dir, 'both'), [BASE, CANDIDATE]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('diff over stores', () => {
  it('--store-base / --store-new and --store --split-at equal the file diff', async () => {
    const files = (await diffInputs({ sources: { kind: 'two', base: { files: [BASE] }, new: { files: [CANDIDATE] } }, skewAdjust: true })).report;
    const stores = (await diffInputs({ sources: { kind: 'two', base: { files: [], store: join(dir, 'base') }, new: { files: [], store: join(dir, 'new') } }, skewAdjust: true })).report;
    const split = (await diffInputs({ sources: { kind: 'split', source: { files: [], store: join(dir, 'both') }, atNs: SPLIT }, skewAdjust: true })).report;
    expect(stores.endpoints).toEqual(files.endpoints);
    expect(split.endpoints).toEqual(files.endpoints);
    expect(stores.input.base.formats).toEqual(['cpath-store']);
    expect(files.endpoints[0]?.changes[0]).toMatchObject({ service: 'cart', operation: 'cache.get' });
  });

  it('the CLI: a file against a store, and a store split in time', async () => {
    const r = await cpath(['diff', BASE, '--store-new', join(dir, 'new'), '--format', 'json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"operation": "cache.get"');
    const s = await cpath(['diff', '--store', join(dir, 'both'), '--split-at', '2026-11-26T10:00:00Z']);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('(now dominant, was hidden behind cart hash-session)');
    const bad = await cpath(['diff', '--store', join(dir, 'both'), BASE, CANDIDATE]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--store is for --split-at');
  });
});
