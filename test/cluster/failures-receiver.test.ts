// Issue 11, failures: a receiver killed with SIGKILL mid-stream. Two receivers: one a real
// `cpath serve --cluster --role receiver` process, one in this process (with the analyser and
// api roles). The sender is an exporter behind a load balancer: a request that gets no answer
// (connection refused or reset) goes again, whole, to the other receiver. Requests the dead
// receiver had published before it died are thus published twice: nothing may be counted twice
// (span rows and counts equal the file's, endpoints equal `cpath analyze`'s, traces included).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterSkipReason, startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { startClusterCli, type ClusterCli } from '../helpers/cluster-cli.js';
import { StoreProbe, fileEndpoints, generateLoad, loadRequests, sendLoad, settled } from '../helpers/cluster-load.js';

const skip = clusterSkipReason();

describe.skipIf(skip !== undefined)(`a receiver killed with SIGKILL${skip !== undefined ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let tmp: string;
  let cluster: TestCluster | undefined;
  let child: ClusterCli | undefined;
  let probe: StoreProbe | undefined;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cpath-fail-receiver-'));
  });
  afterAll(async () => {
    await child?.kill9();
    await probe?.close();
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the sender fails over to the other receiver; nothing is lost or counted twice; the answer is the file\'s', async () => {
    const load = loadRequests(generateLoad(tmp, 20_000));
    const c = (cluster = await startTestCluster());
    const main = await c.node(['receiver', 'analyser', 'api']);
    const r1 = (child = await startClusterCli(['--cluster', c.nats.urls.join(','), '--role', 'receiver', '--partitions', '8', '--replicas', '1', '--otlp-http', '127.0.0.1:0', '--otlp-grpc', 'off', '--api', 'off']));
    probe = await StoreProbe.open(c.storeUrl);
    const nc = await c.nats.connect();
    const jsm = await nc.jetstreamManager();
    const r1Url = r1.otlp ?? '';

    // Four requests in flight at a time, half of them to the child: some are in flight when it dies.
    const sending = sendLoad(load, [r1Url, `http://${main.addresses.otlpHttp ?? ''}`], { concurrency: 4, paceMs: 40 });
    await waitFor('a third of the load acknowledged', () => sending.stats.okSpans >= load.spans / 3, 60_000);
    const okByChild = sending.stats.okBy.get(r1Url) ?? 0;
    await r1.kill9();
    const stats = await sending.done;
    await settled(probe, async () => jsm, load, 60_000);
    await main.query?.follow();

    expect(stats.ok).toBe(load.requests.length);
    expect(stats.failovers).toBeGreaterThan(0);
    const state = await probe.state();
    expect(state.spanRows).toBe(load.spans);
    expect(state.countedSpans).toBe(load.spans);
    expect(state.countedTraces).toBe(load.traces.size);
    expect(Object.fromEntries(await probe.analysedSpans())).toEqual(Object.fromEntries(load.traces));
    const r = await fetch(`http://${main.addresses.api ?? ''}/api/endpoints`);
    expect(r.status).toBe(200);
    const endpoints = ((await r.json()) as { endpoints: { traces: number }[] }).endpoints;
    expect(endpoints).toEqual(await fileEndpoints(load.file));
    expect(endpoints.reduce((n, e) => n + e.traces, 0)).toBe(load.traces.size);

    // An exporter whose 200 was lost sends the request again, maybe to the other receiver:
    // requests the dead receiver and the survivor both answered, sent again to the survivor.
    const before = { ...main.publisher?.counts };
    const resend = sendLoad({ ...load, requests: load.requests.slice(0, 6), requestSpans: load.requestSpans.slice(0, 6) }, [`http://${main.addresses.otlpHttp ?? ''}`]);
    expect((await resend.done).ok).toBe(6);
    await settled(probe, async () => jsm, load, 60_000);
    await main.query?.follow();
    const again = await probe.state();
    expect(again.spanRows).toBe(load.spans);
    expect(again.countedSpans).toBe(load.spans);
    expect(again.countedTraces).toBe(load.traces.size);
    const r2 = await fetch(`http://${main.addresses.api ?? ''}/api/endpoints`);
    expect(((await r2.json()) as { endpoints: unknown }).endpoints).toEqual(endpoints);
    const resent = (main.publisher?.counts.messages ?? 0) - (before.messages ?? 0);

    process.stderr.write(
      `receiver killed after ${okByChild} of its requests were answered 200; requests without an answer ${stats.connectionErrors}, sent again to the other receiver ${stats.failovers}; ` +
        `publishes by the survivor ${JSON.stringify(before)}; 6 requests sent again after the end: ${resent} messages, their spans kept once by PostgreSQL's primary key\n`,
    );
  }, 150_000);
});
