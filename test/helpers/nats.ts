// Hermetic NATS JetStream servers for the cluster tests: one server, or a 3-server cluster on
// one machine, each on free ports with its store in a temp dir, started and stopped by the test.
// `kill9` and `restart` are there for the failure tests (a server lost mid-stream).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { freePorts } from './ports.js';

const BINARY = 'nats-server';

/** Why the NATS tests cannot run here, or undefined when they can. Printed once when they are skipped. */
export function natsSkipReason(): string | undefined {
  const r = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  const why = r.error !== undefined || r.status !== 0 ? `${BINARY} is missing (apt-get install -y nats-server)` : undefined;
  if (why !== undefined && !warned) {
    warned = true;
    process.stderr.write(`\n*** NATS tests SKIPPED: ${why} ***\n\n`);
  }
  return why;
}
let warned = false;

/** One nats-server process of a NatsCluster. */
export interface NatsNode {
  readonly name: string;
  /** `nats://127.0.0.1:PORT` for clients. */
  readonly url: string;
  readonly dir: string;
  readonly log: string;
  /** Running now (false between kill9 and restart). */
  readonly running: boolean;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every client URL, for `connect({ servers })`. */
  readonly urls: readonly string[];
  /** A client connected to every server (reconnecting forever); closed by stop(). */
  connect(): Promise<NatsConnection>;
  /** `kill -9` one server and wait until it is gone. */
  kill9(i: number): Promise<void>;
  /** Start a killed server again on its ports and store; resolves when it accepts clients. */
  restart(i: number): Promise<void>;
  /** Kill every server and delete the temp dir. */
  stop(): Promise<void>;
}

interface Proc {
  readonly name: string;
  readonly args: readonly string[];
  readonly url: string;
  readonly dir: string;
  readonly log: string;
  child: ChildProcess | undefined;
}

/** Every server any test started, killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** One JetStream server (replicas 1). */
export function startNats(): Promise<NatsCluster> {
  return withRetries(() => start(1));
}

/**
 * `n` JetStream servers routed to each other (cluster name `cp`), resolved once the cluster has
 * elected its metadata leader, so streams with `num_replicas: n` can be created at once.
 */
export function startNatsCluster(n = 3): Promise<NatsCluster> {
  return withRetries(() => start(n));
}

/** Ports are found free and then bound by a child process: another process may win the race. */
async function withRetries(f: () => Promise<NatsCluster>): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

async function start(n: number): Promise<NatsCluster> {
  const root = mkdtempSync(join(tmpdir(), 'cpath-nats-'));
  const ports = await freePorts(2 * n);
  const routes = Array.from({ length: n }, (_, i) => `nats://127.0.0.1:${ports[n + i]}`).join(',');
  const procs: Proc[] = Array.from({ length: n }, (_, i) => {
    const name = `n${i + 1}`;
    const dir = join(root, name);
    mkdirSync(dir);
    const args = ['-a', '127.0.0.1', '-p', String(ports[i]), '-js', '-sd', join(dir, 'js'), '-n', name];
    if (n > 1) args.push('--cluster_name', 'cp', '--cluster', `nats://127.0.0.1:${ports[n + i]}`, '--routes', routes);
    return { name, args, url: `nats://127.0.0.1:${ports[i]}`, dir, log: join(dir, 'server.log'), child: undefined };
  });
  const clients: NatsConnection[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(procs.map((p) => killProc(p)));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const p of procs) launch(p);
    await Promise.all(procs.map((p) => waitForLog(p, 'Server is ready', 15_000)));
    const urls = procs.map((p) => p.url);
    await waitForJetStream(urls, n > 1 ? procs : undefined);
    return {
      nodes: procs.map((p) => ({
        name: p.name,
        url: p.url,
        dir: p.dir,
        log: p.log,
        get running() {
          return p.child !== undefined;
        },
      })),
      urls,
      connect: async () => {
        const nc = await connect({ servers: urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
        clients.push(nc);
        return nc;
      },
      kill9: async (i) => killProc(at(procs, i)),
      restart: async (i) => {
        const p = at(procs, i);
        if (p.child !== undefined) throw new Error(`${p.name} is running`);
        const from = logText(p).length;
        launch(p);
        await waitForLog(p, 'Server is ready', 15_000, from);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function at(procs: readonly Proc[], i: number): Proc {
  const p = procs[i];
  if (p === undefined) throw new Error(`no NATS server ${i}`);
  return p;
}

function launch(p: Proc): void {
  const fd = openSync(p.log, 'a');
  const child = spawn(BINARY, p.args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  p.child = child;
  live.add(child);
  child.on('exit', () => {
    live.delete(child);
    if (p.child === child) p.child = undefined;
  });
}

async function killProc(p: Proc): Promise<void> {
  const c = p.child;
  if (c === undefined) return;
  const gone = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGKILL');
  await gone;
}

function logText(p: Proc): string {
  try {
    return readFileSync(p.log, 'utf8');
  } catch {
    return '';
  }
}

async function waitForLog(p: Proc, text: string, ms: number, from = 0): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const log = logText(p).slice(from);
    if (log.includes(text)) return;
    if (p.child === undefined || Date.now() > deadline) {
      throw new Error(`nats-server ${p.name} ${p.child === undefined ? 'exited' : 'did not start'}: ${log.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await sleep(50);
  }
}

/** In a cluster, JetStream answers API requests only once a metadata leader is elected. */
async function waitForJetStream(urls: readonly string[], cluster: readonly Proc[] | undefined): Promise<void> {
  const deadline = Date.now() + 20_000;
  if (cluster !== undefined) {
    while (!cluster.some((p) => logText(p).includes('JetStream cluster new metadata leader'))) {
      if (Date.now() > deadline) throw new Error('the NATS cluster elected no metadata leader in 20 s');
      await sleep(50);
    }
  }
  const nc = await connect({ servers: [...urls] });
  try {
    for (;;) {
      try {
        const jsm = await nc.jetstreamManager();
        await jsm.getAccountInfo();
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(100);
      }
    }
  } finally {
    await nc.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
