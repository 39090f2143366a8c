// Issue 11, failures: an analyser killed with SIGKILL mid-stream. Two analysers run as real
// `cpath serve --cluster --role analyser` processes, a receiver + api node runs in this process;
// a generated load is sent, one analyser is killed while it streams. Its partitions must move to
// the survivor within lease TTL + ack wait + 5 s, no acknowledged span may be lost, no trace may
// stay analysed from part of its spans, and the final answer must be `cpath analyze`'s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionOf } from '../../src/model/partition.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterSkipReason, startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { startClusterCli, type ClusterCli } from '../helpers/cluster-cli.js';
import { StoreProbe, fileEndpoints, generateLoad, loadRequests, ownedPartitions, sendLoad, settled } from '../helpers/cluster-load.js';

const skip = clusterSkipReason();
const P = 8;
const LEASE_MS = 2_000;
/** The bound the issue states: a dead analyser's partitions move after lease TTL + ack wait (= lease TTL), plus a margin for a loaded machine. */
const MOVE_BOUND_MS = LEASE_MS + LEASE_MS + 5_000;

describe.skipIf(skip !== undefined)(`an analyser killed with SIGKILL${skip !== undefined ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let tmp: string;
  let cluster: TestCluster | undefined;
  const children: ClusterCli[] = [];
  let probe: StoreProbe | undefined;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cpath-fail-analyser-'));
  });
  afterAll(async () => {
    for (const c of children) await c.kill9();
    await probe?.close();
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('moves its partitions to the survivor within the lease bound; nothing lost, the answer is the file\'s', async () => {
    const load = loadRequests(generateLoad(tmp, 20_000));
    const c = (cluster = await startTestCluster());
    const front = await c.node(['receiver', 'api']);
    probe = await StoreProbe.open(c.storeUrl);
    await probe.logAnalyses();
    const analyserArgs = ['--cluster', c.nats.urls.join(','), '--role', 'analyser', '--store', c.storeUrl, '--partitions', String(P), '--replicas', '1', '--lease-ttl', `${LEASE_MS}ms`, '--trace-idle', '300ms', '--api', '127.0.0.1:0'];
    const a = await startClusterCli(analyserArgs);
    children.push(a);
    const b = await startClusterCli(analyserArgs);
    children.push(b);
    const apiA = a.api ?? '';
    const apiB = b.api ?? '';
    await waitFor('each analyser to own half of the partitions', async () => (await ownedPartitions(apiA))?.length === P / 2 && (await ownedPartitions(apiB))?.length === P / 2, 30_000);
    const ownedByA = (await ownedPartitions(apiA)) ?? [];

    const sending = sendLoad(load, [`http://${front.addresses.otlpHttp ?? ''}`], { concurrency: 2, paceMs: 60 });
    await waitFor('a third of the load acknowledged', () => sending.stats.okSpans >= load.spans / 3, 60_000);
    await a.kill9();
    const killedAt = Date.now();
    const killedAtSpans = sending.stats.okSpans;
    await waitFor(`the survivor to own all ${P} partitions within ${MOVE_BOUND_MS} ms of the kill`, async () => (await ownedPartitions(apiB))?.length === P, MOVE_BOUND_MS);
    const moveMs = Date.now() - killedAt;

    const stats = await sending.done;
    const jsm = await (await c.nats.connect()).jetstreamManager();
    await settled(probe, async () => jsm, load, 60_000);
    await front.query?.follow();

    // No acknowledged span lost, none counted twice.
    const state = await probe.state();
    expect(state.spanRows).toBe(load.spans);
    expect(state.countedSpans).toBe(load.spans);
    expect(state.countedTraces).toBe(load.traces.size);
    // Every trace's analysis is made from all its spans.
    expect(Object.fromEntries(await probe.analysedSpans())).toEqual(Object.fromEntries(load.traces));
    // The answer is the file's.
    const r = await fetch(`http://${front.addresses.api ?? ''}/api/endpoints`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { endpoints: unknown }).endpoints).toEqual(await fileEndpoints(load.file));

    // Figures for the report: what the survivor found unacknowledged, and analyses made from part of a trace.
    const waited = [...b.stderr().matchAll(/partition (\d+): (\d+) messages of the previous owner not acknowledged/g)].map((m) => ({ partition: Number(m[1]), messages: Number(m[2]) }));
    const log = await probe.analyses();
    const partial = log
      .filter((x) => x.spans !== null && x.spans < (load.traces.get(x.traceId) ?? 0))
      .map((x) => {
        // How far apart the receiver answered 200 to the trace's two requests.
        const acks = (load.traceRequests.get(x.traceId) ?? []).map((i) => stats.okAt.get(i) ?? 0);
        return { partition: partitionOf(x.traceId, P), spans: `${x.spans}/${load.traces.get(x.traceId)}`, afterKillMs: x.atMs - killedAt, halvesAckedApartMs: Math.max(...acks) - Math.min(...acks) };
      });
    process.stderr.write(
      `analyser killed: A owned ${ownedByA.join(',')}; killed after ${killedAtSpans}/${load.spans} spans acknowledged; partitions moved in ${moveMs} ms (bound ${MOVE_BOUND_MS}); ` +
        `unacknowledged messages the survivor waited for: ${JSON.stringify(waited)}; analyses ${log.length} (traces ${load.traces.size}), of part of a trace ${partial.length} ${JSON.stringify(partial)}; sender ${JSON.stringify({ ok: stats.ok, status503: stats.status503, connectionErrors: stats.connectionErrors })}\n`,
    );
    expect(moveMs).toBeLessThanOrEqual(MOVE_BOUND_MS);
  }, 150_000);
});
