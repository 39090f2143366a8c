// Issue 11: a cluster node set up wrongly exits with one clear line and never starts
// half-configured: unreachable NATS, NATS without JetStream, unreachable PostgreSQL, another
// --partitions or --replicas than the stream has: exit 1; a role without what it needs (an
// analyser or api without a postgres:// store, an api role with --api off, an unknown role, a
// bad NATS URL, --partitions or --replicas out of range): a usage error, exit 2. In every case nothing ever listens on the ports given.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureStream, connectCluster } from '../../src/cluster/stream.js';
import { runFailingServe } from '../helpers/cluster-cli.js';
import { natsSkipReason, startNats, type NatsCluster } from '../helpers/nats.js';
import { freePorts } from '../helpers/ports.js';

const natsSkip = natsSkipReason();

/** Runs the failing node with the receiver, gRPC and API on ports probed while it runs. */
async function failing(args: readonly string[]): Promise<{ code: number | null; line: string; lines: number; listened: boolean }> {
  const ports = await freePorts(3);
  const [http, grpc, api] = ports;
  const r = await runFailingServe([...args, '--otlp-http', `127.0.0.1:${http}`, '--otlp-grpc', `127.0.0.1:${grpc}`, '--api', `127.0.0.1:${api}`], ports);
  const text = r.stderr.trim();
  return { code: r.code, line: text, lines: text === '' ? 0 : text.split('\n').length, listened: r.listened };
}

describe('cluster configuration errors without servers', () => {
  it('unreachable NATS: exit 1, one line naming the servers; nothing listens', async () => {
    const [dead] = await freePorts(1);
    const r = await failing(['--cluster', `nats://127.0.0.1:${dead}`, '--role', 'receiver']);
    expect(r).toEqual({ code: 1, line: `cpath: cannot reach NATS at nats://127.0.0.1:${dead}: connection refused`, lines: 1, listened: false });
  });

  it('usage errors exit 2 with one line, before connecting to anything', async () => {
    const [dead] = await freePorts(1);
    const nats = `nats://127.0.0.1:${dead}`;
    const cases: [string[], RegExp][] = [
      [['--cluster', nats, '--role', 'analyser'], /^cpath: --role analyser needs --store postgres:\/\/user@host:port\/db \(the cluster's shared store\), not \.\/cpath-data$/],
      [['--cluster', nats, '--role', 'receiver,api', '--store', '/tmp/x'], /^cpath: --role receiver,api needs --store postgres:\/\//],
      [['--cluster', nats, '--role', 'collector'], /^cpath: --role: "collector" is not a role \(receiver, analyser, api, all\)$/],
      [['--cluster', 'http://127.0.0.1:4222', '--role', 'receiver'], /^cpath: --cluster: "http:\/\/127\.0\.0\.1:4222" is not a NATS URL/],
      [['--cluster', nats, '--role', 'receiver', '--partitions', '0'], /^cpath: --partitions: 0 is not from 1 to 4096$/],
      [['--cluster', nats, '--role', 'receiver', '--partitions', '5000'], /^cpath: --partitions: 5000 is not from 1 to 4096$/],
      [['--cluster', nats, '--role', 'receiver', '--replicas', '7'], /^cpath: --replicas: 7 is not from 1 to 5$/],
    ];
    for (const [args, want] of cases) {
      const r = await failing(args);
      expect({ code: r.code, lines: r.lines, listened: r.listened }, args.join(' ')).toEqual({ code: 2, lines: 1, listened: false });
      expect(r.line, args.join(' ')).toMatch(want);
    }
    // --api off on a node with the api role: checked before anything starts too.
    const [http] = await freePorts(1);
    const off = await runFailingServe(['--cluster', nats, '--role', 'api', '--store', 'postgres://postgres@127.0.0.1:1/x', '--api', 'off', '--otlp-http', `127.0.0.1:${http}`], [http ?? 0]);
    expect({ code: off.code, text: off.stderr.trim(), listened: off.listened }).toEqual({ code: 2, text: 'cpath: --api: "off" is not HOST:PORT (e.g. 127.0.0.1:4318, 0.0.0.0:4318, [::1]:4318)', listened: false });
  }, 60_000);
});

describe.skipIf(natsSkip !== undefined)(`cluster configuration errors with NATS running${natsSkip !== undefined ? ` (SKIPPED: ${natsSkip})` : ''}`, () => {
  let nats: NatsCluster | undefined;
  let plain: ChildProcess | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'cpath-fail-config-'));
  afterAll(async () => {
    plain?.kill('SIGKILL');
    await nats?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('unreachable PostgreSQL, another --partitions or --replicas than the stream: exit 1, one line; nothing listens', async () => {
    nats = await startNats();
    const url = nats.urls.join(',');
    const { nc, jsm } = await connectCluster(nats.urls);
    const [deadPg] = await freePorts(1);
    const store = `postgres://postgres:secret@127.0.0.1:${deadPg}/cpath`;

    // PostgreSQL is checked before the stream is created: the failed node fixed no P.
    const pg = await failing(['--cluster', url, '--role', 'analyser,api', '--partitions', '8', '--replicas', '1', '--store', store]);
    expect({ code: pg.code, lines: pg.lines, listened: pg.listened }).toEqual({ code: 1, lines: 1, listened: false });
    // The password is not shown.
    expect(pg.line).toMatch(new RegExp(`^cpath: cannot reach PostgreSQL at postgres://postgres(:\\*+)?@127\\.0\\.0\\.1:${deadPg}/cpath: .*ECONNREFUSED`));
    expect(pg.line).not.toContain('secret');
    await expect(jsm.streams.info('cpath-spans')).rejects.toThrow(/stream not found/);

    await ensureStream(jsm, { partitions: 8, replicas: 1 });
    await nc.close();

    const p = await failing(['--cluster', url, '--role', 'receiver', '--partitions', '4', '--replicas', '1']);
    expect(p).toEqual({ code: 1, line: 'cpath: NATS stream cpath-spans has 8 partitions, this node was started with --partitions 4: P is fixed when the stream is created', lines: 1, listened: false });

    const r = await failing(['--cluster', url, '--role', 'receiver', '--partitions', '8', '--replicas', '3']);
    expect(r).toEqual({ code: 1, line: 'cpath: NATS stream cpath-spans has 1 replicas, this node was started with --replicas 3', lines: 1, listened: false });
  }, 60_000);

  it('a NATS server without JetStream: exit 1, one line; nothing listens', async () => {
    const [port] = await freePorts(1);
    plain = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    // Until it accepts connections.
    for (let i = 0; i < 100; i++) {
      const ok = await connectCluster([`nats://127.0.0.1:${port}`], { timeoutMs: 500 }).then(
        async ({ nc }) => {
          await nc.close();
          return true;
        },
        (e: unknown) => !/cannot reach/.test(String(e)),
      );
      if (ok) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const r = await failing(['--cluster', `nats://127.0.0.1:${port}`, '--role', 'receiver']);
    expect({ code: r.code, lines: r.lines, listened: r.listened }).toEqual({ code: 1, lines: 1, listened: false });
    expect(r.line).toMatch(new RegExp(`^cpath: NATS at nats://127\\.0\\.0\\.1:${port} does not answer JetStream requests \\(is nats-server running with -js`));
  }, 60_000);
});
