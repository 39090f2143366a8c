// Issue 11, failures: PostgreSQL crashed (pg_ctl stop -m immediate) mid-stream and started again
// seconds later. Receivers need JetStream only, so they keep answering 200; the two analysers
// (real `cpath serve --cluster --role analyser` processes) cannot commit, so they acknowledge
// nothing while it is down (the span stream, a work queue, only grows); once it is back they
// resume, and the final answer is `cpath analyze`'s. Then the same with an analyser killed while
// PostgreSQL is down: the survivor claims its partitions and cannot start them until it is back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JetStreamManager } from 'nats';
import type { RunningClusterNode } from '../../src/server/cluster-serve.js';
import { clusterSkipReason, startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { startClusterCli, type ClusterCli } from '../helpers/cluster-cli.js';
import { StoreProbe, consumerFloors, fileEndpoints, generateLoad, loadRequests, ownedPartitions, sendLoad, settled, sleep, type Load } from '../helpers/cluster-load.js';

const skip = clusterSkipReason();
const P = 8;
const LEASE_MS = 2_000;

describe.skipIf(skip !== undefined)(`PostgreSQL restarted mid-stream${skip !== undefined ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let tmp: string;
  let load: Load;
  let cluster: TestCluster | undefined;
  let children: ClusterCli[] = [];
  let probe: StoreProbe | undefined;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cpath-fail-pg-'));
    load = loadRequests(generateLoad(tmp, 20_000));
  });
  afterEach(async () => {
    for (const c of children) await c.kill9();
    children = [];
    await probe?.close();
    probe = undefined;
    await cluster?.stop();
    cluster = undefined;
  });
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  /** NATS, PostgreSQL, a receiver + api node here, two analysers as child processes, each owning half the partitions. */
  async function setup(): Promise<{ c: TestCluster; front: RunningClusterNode; jsm: JetStreamManager }> {
    const c = (cluster = await startTestCluster());
    const front = await c.node(['receiver', 'api']);
    const args = ['--cluster', c.nats.urls.join(','), '--role', 'analyser', '--store', c.storeUrl, '--partitions', String(P), '--replicas', '1', '--lease-ttl', `${LEASE_MS}ms`, '--trace-idle', '300ms', '--api', '127.0.0.1:0'];
    for (let i = 0; i < 2; i++) children.push(await startClusterCli(args));
    await waitFor('both analysers to own partitions', async () => {
      const owned = await Promise.all(children.map((x) => ownedPartitions(x.api ?? '')));
      return owned.every((o) => (o?.length ?? 0) === P / 2);
    }, 30_000);
    const nc = await c.nats.connect();
    return { c, front, jsm: await nc.jetstreamManager() };
  }

  /** Once settled: no span lost or counted twice, every analysis from all its spans, the file's endpoints. */
  async function checkFinal(front: RunningClusterNode, jsm: JetStreamManager): Promise<void> {
    const c = cluster as TestCluster;
    await settled((probe = await StoreProbe.open(c.storeUrl)), async () => jsm, load, 60_000).catch((e: unknown) => {
      for (const x of children) process.stderr.write(`--- analyser ${x.pid}:\n${x.stderr()}\n`);
      throw e;
    });
    await waitFor('the api role to read PostgreSQL again', async () => {
      await front.query?.follow().catch(() => undefined);
      return front.query?.healthy === true;
    }, 20_000);
    const state = await probe.state();
    expect(state.spanRows).toBe(load.spans);
    expect(state.countedSpans).toBe(load.spans);
    expect(state.countedTraces).toBe(load.traces.size);
    expect(Object.fromEntries(await probe.analysedSpans())).toEqual(Object.fromEntries(load.traces));
    const r = await fetch(`http://${front.addresses.api ?? ''}/api/endpoints`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { endpoints: unknown }).endpoints).toEqual(await fileEndpoints(load.file));
  }

  it('nothing is acknowledged while it is down; the analysers resume and the answer is the file\'s', async () => {
    const { c, front, jsm } = await setup();

    const sending = sendLoad(load, [`http://${front.addresses.otlpHttp ?? ''}`], { concurrency: 2, paceMs: 60 });
    await waitFor('a third of the load acknowledged', () => sending.stats.okSpans >= load.spans / 3, 60_000);
    const okAtCrash = sending.stats.okSpans;
    c.pg.crash();
    const crashedAt = Date.now();
    // Commits under way when it died fail within this; then nothing may be acknowledged.
    await sleep(1_500);
    const s1 = await jsm.streams.info('cpath-spans');
    const f1 = await consumerFloors(jsm, P);
    const ok1 = sending.stats.okSpans;
    await sleep(3_500);
    const s2 = await jsm.streams.info('cpath-spans');
    const f2 = await consumerFloors(jsm, P);
    const ok2 = sending.stats.okSpans;
    c.pg.start();
    const downMs = Date.now() - crashedAt;

    // While it was down: the receivers kept taking spans (JetStream is their durability point),
    // and every message published stayed in the stream: none acknowledged, none terminated.
    expect(ok2).toBeGreaterThan(ok1);
    expect(s2.state.last_seq).toBeGreaterThan(s1.state.last_seq);
    expect(s2.state.messages - s1.state.messages).toBe(s2.state.last_seq - s1.state.last_seq);
    expect(f2.ackFloor).toEqual(f1.ackFloor);

    const stats = await sending.done;
    await checkFinal(front, jsm);
    // Both analysers lived through it (a socket error mid-transaction once ended the process).
    for (const x of children) expect(x.child.exitCode, x.stderr()).toBeNull();

    const failedWrites = children.map((x) => (x.stderr().match(/store write failed/g) ?? []).length);
    process.stderr.write(
      `PostgreSQL down ${downMs} ms (crashed after ${okAtCrash}/${load.spans} spans acknowledged); spans answered 200 while down ${ok2 - ok1} (between the snapshots); ` +
        `messages in the stream ${s1.state.messages} -> ${s2.state.messages}, ack floors unchanged ${JSON.stringify(f2.ackFloor)}; messages redelivered by JetStream and not yet acknowledged at the 1st and 2nd snapshot ${f1.redelivered}, ${f2.redelivered}; ` +
        `failed store writes logged per analyser ${JSON.stringify(failedWrites)}; sender ${JSON.stringify({ ok: stats.ok, status503: stats.status503, connectionErrors: stats.connectionErrors })}\n`,
    );
  }, 150_000);

  it('an analyser killed while it is down: the survivor claims its partitions, starts them once PostgreSQL is back; the answer is the file\'s', async () => {
    const { c, front, jsm } = await setup();
    const [victim, survivor] = children as [ClusterCli, ClusterCli];
    const sending = sendLoad(load, [`http://${front.addresses.otlpHttp ?? ''}`], { concurrency: 2, paceMs: 60 });
    await waitFor('a third of the load acknowledged', () => sending.stats.okSpans >= load.spans / 3, 60_000);
    c.pg.crash();
    await victim.kill9();
    const killedAt = Date.now();
    await waitFor(`the survivor to own all ${P} partitions`, async () => (await ownedPartitions(survivor.api ?? ''))?.length === P, LEASE_MS * 2 + 5_000);
    const moveMs = Date.now() - killedAt;
    // Its takeovers run into the dead store now.
    await sleep(1_500);
    c.pg.start();
    const stats = await sending.done;
    await checkFinal(front, jsm);
    expect(survivor.child.exitCode, survivor.stderr()).toBeNull();
    const failedStarts = (survivor.stderr().match(/cannot start consuming/g) ?? []).length;
    process.stderr.write(`analyser killed while PostgreSQL was down: partitions moved in ${moveMs} ms; takeovers that failed on the dead store and were tried again ${failedStarts}; sender ${JSON.stringify({ ok: stats.ok, status503: stats.status503 })}\n`);
  }, 150_000);
});
