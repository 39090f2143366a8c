// Issue 11, failures: one NATS server of three killed (SIGKILL) mid-stream, the span stream and
// the lease bucket at R=3. The server killed is the span stream's leader (the hardest case: a new
// leader must be elected before a publish is acknowledged again). Senders keep sending to two
// receivers and accept 200 or 503 (a 503 or no answer: the same request again, as an exporter
// does); a 200 is counted only once, and every span answered 200 must be in the final answer,
// which must be `cpath analyze`'s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterSkipReason, startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { StoreProbe, fileEndpoints, generateLoad, loadRequests, sendLoad, settled } from '../helpers/cluster-load.js';

const skip = clusterSkipReason();

describe.skipIf(skip !== undefined)(`a NATS server killed (3 servers, R=3)${skip !== undefined ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let tmp: string;
  let cluster: TestCluster | undefined;
  let probe: StoreProbe | undefined;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cpath-fail-nats-'));
  });
  afterAll(async () => {
    await probe?.close();
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the stream leader killed mid-stream: receivers answer 200 or 503, never lose a span answered 200; the answer is the file\'s', async () => {
    const load = loadRequests(generateLoad(tmp, 20_000));
    const c = (cluster = await startTestCluster({ natsServers: 3 }));
    const a = await c.node(['receiver', 'analyser', 'api']);
    const b = await c.node(['receiver', 'analyser']);
    probe = await StoreProbe.open(c.storeUrl);
    await waitFor('both analysers to own partitions', () => (a.analyser?.owned().length ?? 0) > 0 && (b.analyser?.owned().length ?? 0) > 0, 30_000);
    const nc = await c.nats.connect();
    const jsm = await nc.jetstreamManager();

    const sending = sendLoad(load, [`http://${a.addresses.otlpHttp ?? ''}`, `http://${b.addresses.otlpHttp ?? ''}`], { concurrency: 2, paceMs: 60 });
    await waitFor('a third of the load acknowledged', () => sending.stats.okSpans >= load.spans / 3, 60_000);
    const leader = (await jsm.streams.info('cpath-spans')).cluster?.leader;
    const victim = c.nats.nodes.findIndex((n) => n.name === leader);
    expect(victim).toBeGreaterThanOrEqual(0);
    const before = { ...sending.stats };
    await c.nats.kill9(victim);
    const killedAt = Date.now();

    const stats = await sending.done;
    const sentMs = Date.now() - killedAt;
    await settled(probe, async () => jsm, load, 60_000);
    await a.query?.follow();

    const state = await probe.state();
    expect(state.spanRows).toBe(load.spans);
    expect(state.countedSpans).toBe(load.spans);
    expect(state.countedTraces).toBe(load.traces.size);
    expect(stats.ok).toBe(load.requests.length);
    expect(Object.fromEntries(await probe.analysedSpans())).toEqual(Object.fromEntries(load.traces));
    const r = await fetch(`http://${a.addresses.api ?? ''}/api/endpoints`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { endpoints: unknown }).endpoints).toEqual(await fileEndpoints(load.file));

    const published = [a, b].map((n) => n.publisher?.counts);
    process.stderr.write(
      `NATS server ${leader} (the stream leader) killed after ${before.okSpans}/${load.spans} spans acknowledged; the rest sent in ${sentMs} ms; ` +
        `503s ${stats.status503 - before.status503} (Retry-After ${[...stats.retryAfter].join(',')}), no answer ${stats.connectionErrors - before.connectionErrors}; publishes ${JSON.stringify(published)}\n`,
    );
  }, 150_000);
});
