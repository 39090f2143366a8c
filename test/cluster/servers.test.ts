// The hermetic servers the cluster tests stand on: they start, answer, and survive the faults
// the failure tests will inject (a NATS server killed and restarted, PostgreSQL crashed and
// started again), with their data kept.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { natsSkipReason, startNatsCluster, type NatsCluster } from '../helpers/nats.js';
import { postgresSkipReason, startPostgres, type Postgres } from '../helpers/postgres.js';

const natsSkip = natsSkipReason();
const pgSkip = postgresSkipReason();

describe.skipIf(pgSkip !== undefined)(`hermetic PostgreSQL${pgSkip !== undefined ? ` (SKIPPED: ${pgSkip})` : ''}`, () => {
  let server: Postgres | undefined;
  afterAll(() => server?.stop());

  it('starts in a temp dir, keeps committed rows across an immediate stop and a start', async () => {
    server = await startPostgres();
    const c1 = new pg.Client({ connectionString: server.url });
    await c1.connect();
    await c1.query('CREATE TABLE t (x int)');
    await c1.query('INSERT INTO t VALUES (1), (2)');
    await c1.end().catch(() => undefined);
    server.crash();
    const refused = new pg.Client({ connectionString: server.url });
    await expect(refused.connect()).rejects.toThrow(/ECONNREFUSED/);
    server.start();
    const c2 = new pg.Client({ connectionString: server.url });
    await c2.connect();
    const r = await c2.query<{ n: string }>('SELECT count(*) AS n FROM t');
    expect(r.rows[0]?.n).toBe('2');
    await c2.end();
  });
});

describe.skipIf(natsSkip !== undefined)(`hermetic NATS JetStream cluster${natsSkip !== undefined ? ` (SKIPPED: ${natsSkip})` : ''}`, () => {
  let cluster: NatsCluster | undefined;
  afterAll(() => cluster?.stop());

  it('3 servers elect a leader; an R=3 stream keeps taking publishes with one server killed, and it rejoins', async () => {
    cluster = await startNatsCluster(3);
    const nc = await cluster.connect();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'probe', subjects: ['probe.>'], num_replicas: 3 });
    const js = nc.jetstream();
    await js.publish('probe.a', new Uint8Array([1]));
    // the killed server may be the one this client talks to, or the stream's leader: publishes
    // may fail while the rest reconnect and elect, but must succeed again within seconds
    await cluster.kill9(0);
    expect(cluster.nodes[0]?.running).toBe(false);
    await retry(() => js.publish('probe.a', new Uint8Array([2])));
    await cluster.restart(0);
    await retry(() => js.publish('probe.a', new Uint8Array([3])));
    const info = await retry(() => jsm.streams.info('probe'));
    expect(info.state.messages).toBe(3);
    expect(info.config.num_replicas).toBe(3);
  });
});

async function retry<T>(f: () => Promise<T>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
