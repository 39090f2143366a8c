// Cluster nodes for the tests: NATS (one server or three) and PostgreSQL started hermetically,
// and `cpath serve --cluster` nodes in this process (startClusterNode) on port 0.
import pg from 'pg';
import { startClusterNode, type ClusterRole, type ClusterServeOptions, type RunningClusterNode } from '../../src/server/cluster-serve.js';
import { startNats, startNatsCluster, natsSkipReason, type NatsCluster } from './nats.js';
import { postgresSkipReason, startPostgres, type Postgres } from './postgres.js';

/** Why the cluster tests cannot run here (printed by the helpers), or undefined. */
export function clusterSkipReason(): string | undefined {
  return natsSkipReason() ?? postgresSkipReason();
}

export interface TestCluster {
  readonly nats: NatsCluster;
  readonly pg: Postgres;
  /** postgres:// URL of this cluster's database. */
  readonly storeUrl: string;
  readonly nodes: RunningClusterNode[];
  node(roles: readonly ClusterRole[], over?: Partial<ClusterServeOptions>): Promise<RunningClusterNode>;
  stop(): Promise<void>;
}

export async function startTestCluster(o: { natsServers?: 1 | 3; db?: string } = {}): Promise<TestCluster> {
  const nats = o.natsServers === 3 ? await startNatsCluster(3) : await startNats();
  const pgServer = await startPostgres();
  const db = o.db ?? 'cpath';
  const admin = new pg.Client({ connectionString: pgServer.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const storeUrl = pgServer.url.replace(/\/postgres$/, `/${db}`);
  const nodes: RunningClusterNode[] = [];
  return {
    nats,
    pg: pgServer,
    storeUrl,
    nodes,
    node: async (roles, over = {}) => {
      const n = await startClusterNode({
        cluster: nats.urls,
        roles: new Set(roles),
        partitions: 8,
        replicas: o.natsServers === 3 ? 3 : 1,
        storeUrl,
        ...(roles.includes('receiver') ? { otlpHttp: { host: '127.0.0.1', port: 0 }, otlpGrpc: { host: '127.0.0.1', port: 0 } } : {}),
        api: { host: '127.0.0.1', port: 0 },
        maxBody: 16 * 1024 * 1024,
        cors: [],
        traceIdleMs: 300,
        retention: {},
        skewAdjust: true,
        outliers: { kind: 'auto' },
        top: 20,
        maxQueuedSpans: 200_000,
        maxPendingTraces: 1_000_000,
        leaseTtlMs: 3_000,
        log: () => {},
        ...over,
      });
      nodes.push(n);
      return n;
    },
    stop: async () => {
      for (const n of nodes) await n.close().catch(() => undefined);
      await nats.stop();
      await pgServer.stop();
    },
  };
}

/** Polls `f` every 100 ms until it returns true; fails after `ms`, saying what it waited for. */
export async function waitFor(what: string, f: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
