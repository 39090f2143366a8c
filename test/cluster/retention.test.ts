// Retention on the cluster's store (--retention, --max-store): whole traces are deleted with
// their spans, the per-partition counts follow, and the api role forgets them (it follows the
// deletions as it follows the analyses), so its statistics match what is stored.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowUnixNano } from '../../src/model/time.js';
import { retainOnce, type RunningClusterNode } from '../../src/server/cluster-serve.js';
import { PgStore } from '../../src/store/pg-store.js';
import { clusterSkipReason, startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const SAMPLE = join(fileURLToPath(new URL('../../', import.meta.url)), 'samples/shop.otlp.jsonl');
const skip = clusterSkipReason();

describe.skipIf(skip !== undefined)(`retention on the cluster store${skip !== undefined ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let cluster: TestCluster;
  let node: RunningClusterNode;
  let store: PgStore;
  let db: pg.Client;
  beforeAll(async () => {
    cluster = await startTestCluster();
    node = await cluster.node(['receiver', 'analyser', 'api']);
    for (const line of readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l.trim() !== '')) {
      const r = await fetch(`http://${node.addresses.otlpHttp ?? ''}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: line });
      expect(r.status).toBe(200);
    }
    await waitFor('the shop sample analysed', async () => {
      await node.query?.follow();
      return (node.query?.tracesKnown ?? 0) >= 100 && (node.analyser?.pending ?? 1) === 0;
    });
    store = await PgStore.open(cluster.storeUrl, { create: false });
    db = new pg.Client({ connectionString: cluster.storeUrl });
    await db.connect();
  }, 120_000);
  afterAll(async () => {
    await db?.end();
    await store?.close();
    await cluster?.stop();
  });

  const rows = async (): Promise<{ spans: number; traces: number; counted: number; countedTraces: number }> => {
    const r = await db.query<{ s: string; t: string; c: string | null; ct: string | null }>(
      'SELECT (SELECT count(*) FROM cpath.spans) AS s, (SELECT count(*) FROM cpath.traces) AS t, (SELECT sum(spans) FROM cpath.counts) AS c, (SELECT sum(traces) FROM cpath.counts) AS ct',
    );
    const x = r.rows[0];
    return { spans: Number(x?.s), traces: Number(x?.t), counted: Number(x?.c ?? 0), countedTraces: Number(x?.ct ?? 0) };
  };

  it('--max-store deletes the oldest whole traces; counts and the api role follow', async () => {
    const before = await rows();
    expect(before.spans).toBe(before.counted);
    // A limit at half of what the live rows take: about half of the traces go, the newest stay.
    const deleted = await retainOnce(store, { maxBytes: Math.floor((await store.usedBytes()) / 2) }, 8);
    expect(deleted).toBeGreaterThan(0);
    expect(deleted).toBeLessThan(before.traces);
    const after = await rows();
    expect(after.traces).toBe(before.traces - deleted);
    expect(after.spans).toBe(after.counted);
    expect(after.traces).toBe(after.countedTraces);
    await node.query?.follow();
    const analysed = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM cpath.traces WHERE analysed')).rows[0]?.n);
    expect(node.query?.tracesKnown).toBe(analysed);
  });

  it('--retention deletes every trace whose last batch is older; the api role then knows none', async () => {
    // A clock a day ahead: every trace's last batch is older than an hour.
    const deleted = await retainOnce(store, { maxAgeNs: 3_600_000_000_000 }, 8, nowUnixNano() + 86_400_000_000_000n);
    expect(deleted).toBeGreaterThan(0);
    expect(await rows()).toEqual({ spans: 0, traces: 0, counted: 0, countedTraces: 0 });
    await node.query?.follow();
    expect(node.query?.tracesKnown).toBe(0);
    const r = await fetch(`http://${node.addresses.api ?? ''}/api/endpoints`);
    expect(((await r.json()) as { endpoints: unknown[] }).endpoints).toEqual([]);
  });
});
