// The server reuses analyze's importers, analysis and aggregation: the same spans posted to a
// live `cpath serve` one request per Collector batch give exactly the endpoints of
// `cpath analyze` on the file, live, after a restart, and through `analyze --store`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFiles, type AnalyzeOptions } from '../../src/pipeline/analyze.js';
import { startTestServer } from '../helpers/serve-harness.js';
import type { ReportEndpoint } from '../../src/report/types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE = join(ROOT, 'samples/shop.otlp.jsonl');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpath-live-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const analyzeOptions = (over: Partial<AnalyzeOptions>): AnalyzeOptions => ({
  files: [],
  skewAdjust: true,
  filter: {},
  outliers: { kind: 'auto' },
  top: 20,
  traces: false,
  ...over,
});

async function apiEndpoints(api: string): Promise<ReportEndpoint[]> {
  const res = await fetch(`http://${api}/api/endpoints`);
  const body = (await res.json()) as { endpoints: ReportEndpoint[] };
  return body.endpoints;
}

describe('live analysis equals file analysis', () => {
  it('gives the endpoints of cpath analyze, live, after a restart and via --store', async () => {
    const fromFile = (await analyzeFiles(analyzeOptions({ files: [SAMPLE] }))).report.endpoints;
    expect(fromFile.length).toBeGreaterThan(1);

    // A long idle window: nothing is analysed until flushAll().
    const server = (await startTestServer({ storeDir: dir, traceIdleMs: 60_000 })).server;
    const lines = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l.trim() !== '');
    for (const line of lines) {
      const res = await fetch(`http://${server.addresses.otlpHttp ?? ''}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: line });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{}');
    }
    // Nothing is analysed before the idle window ends...
    expect(await apiEndpoints(server.addresses.api)).toEqual([]);
    server.live.flushAll();
    expect(await apiEndpoints(server.addresses.api)).toEqual(fromFile);
    await server.close();

    const again = (await startTestServer({ storeDir: dir, traceIdleMs: 60_000 })).server;
    expect(await apiEndpoints(again.addresses.api)).toEqual(fromFile);
    await again.close();

    const fromStore = (await analyzeFiles(analyzeOptions({ store: dir }))).report;
    expect(fromStore.endpoints).toEqual(fromFile);
    expect(fromStore.input.formats).toEqual(['cpath-store']);
  });
});
