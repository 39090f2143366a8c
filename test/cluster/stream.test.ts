// The span stream of the cluster: the partition rule (golden values of the documented hash),
// the split of a batch, and ensureStream against a real nats-server and a real 3-server
// JetStream cluster (R=3): created once, checked after, another P or R refused in one line.
import fc from 'fast-check';
import { AckPolicy, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterError, connectCluster, ensureStream, fnv1a32Hex, partitionOf, partitionSubject, splitByPartition } from '../../src/cluster/stream.js';
import { natsSkipReason, startNats, startNatsCluster, type NatsCluster } from '../helpers/nats.js';
import { freePorts } from '../helpers/ports.js';

const natsSkip = natsSkipReason();
const skipped = natsSkip !== undefined ? ` (SKIPPED: ${natsSkip})` : '';

describe('the partition rule', () => {
  it('is FNV-1a 32-bit over the id bytes (published test vectors)', () => {
    expect(fnv1a32Hex('')).toBe(0x811c9dc5);
    expect(fnv1a32Hex('61')).toBe(0xe40c292c); // "a"
    expect(fnv1a32Hex('666f6f626172')).toBe(0xbf9cf968); // "foobar"
  });

  it('places a trace id by its bytes, whatever the hex case; P=16 golden values', () => {
    const id = '5b8efff798038103d269b633813fc60c';
    // fnv1a32(5b 8e ff ... 0c) = 0x1a7cd0f8 (computed by hand from the vectors' algorithm, checked with python)
    expect(fnv1a32Hex(id)).toBe(0xea07a58f);
    expect(partitionOf(id, 16)).toBe(15);
    expect(partitionOf(id.toUpperCase(), 16)).toBe(15);
    expect(partitionOf('00000000000000000000000000000001', 16)).toBe(fnv1a32Hex('00000000000000000000000000000001') % 16);
    expect(partitionSubject(15)).toBe('cpath.spans.15');
  });

  it('rejects a non-hex id instead of hashing garbage', () => {
    expect(() => fnv1a32Hex('zz')).toThrow(RangeError);
  });

  it('splits a batch into partitions: every item once, in batch order, each on its trace id`s partition', () => {
    const hex = fc.stringMatching(/^[0-9a-f]{32}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), hex), { maxLength: 60 }), fc.integer({ min: 1, max: 32 }), (picks, p) => {
        // a few trace ids repeated, in runs and interleaved, as spans of a request are
        const ids = picks.map(([, h]) => h);
        const items = picks.map(([k], i) => ({ traceId: ids[k] ?? ids[0] ?? '', n: i })).filter((x) => x.traceId !== '');
        const parts = splitByPartition(items, p);
        expect(parts.map(([q]) => q)).toEqual([...parts.map(([q]) => q)].sort((a, b) => a - b));
        const flat = parts.flatMap(([, l]) => l);
        expect(flat.map((x) => x.n).sort((a, b) => a - b)).toEqual(items.map((x) => x.n));
        for (const [q, l] of parts) {
          expect(l.length).toBeGreaterThan(0);
          for (const x of l) expect(partitionOf(x.traceId, p)).toBe(q);
          for (let i = 1; i < l.length; i++) expect((l[i]?.n ?? 0) > (l[i - 1]?.n ?? 0)).toBe(true);
        }
      }),
    );
  });
});

describe('connectCluster', () => {
  it('an unreachable NATS is one line naming the servers', async () => {
    const [port] = await freePorts(1);
    const err = await connectCluster([`nats://127.0.0.1:${port}`], { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect(String((err as Error).message)).toBe(`cannot reach NATS at nats://127.0.0.1:${port}: connection refused`);
  });
});

describe.skipIf(natsSkip !== undefined)(`ensureStream on one JetStream server${skipped}`, () => {
  let nats: NatsCluster | undefined;
  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    nats = await startNats();
    ({ nc, jsm } = await connectCluster(nats.urls));
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('creates the stream with P subjects and R=1, then finds it again', async () => {
    const first = await ensureStream(jsm, { partitions: 16, replicas: 1 });
    expect(first).toEqual({ name: 'cpath-spans', partitions: 16, replicas: 1, created: true });
    const info = await jsm.streams.info('cpath-spans');
    expect(info.config.subjects).toEqual(Array.from({ length: 16 }, (_, p) => `cpath.spans.${p}`));
    expect(info.config.description).toContain('partitions=16');
    expect(info.config.retention).toBe('workqueue');
    expect(info.config.discard).toBe('new');
    expect(await ensureStream(jsm, { partitions: 16, replicas: 1 })).toEqual({ ...first, created: false });
  });

  it('a node with another P or R refuses with one line naming both values', async () => {
    await expect(ensureStream(jsm, { partitions: 8, replicas: 1 })).rejects.toThrow(
      new ClusterError('NATS stream cpath-spans has 16 partitions, this node was started with --partitions 8: P is fixed when the stream is created'),
    );
    await expect(ensureStream(jsm, { partitions: 16, replicas: 3 })).rejects.toThrow(new ClusterError('NATS stream cpath-spans has 1 replicas, this node was started with --replicas 3'));
    await expect(ensureStream(jsm, { partitions: 0, replicas: 1 })).rejects.toThrow(/partitions must be an integer from 1 to 4096, not 0/);
    // R=3 where there is one server: JetStream's own reason, in one line
    const err = await ensureStream(jsm, { name: 'three', partitions: 4, replicas: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect(String(err)).toMatch(/^Error: cannot create NATS stream three \(P=4, R=3\): [^\n]*replicas/);
  });

  it('a stream of that name that is not ours is refused, not used', async () => {
    await jsm.streams.add({ name: 'other', subjects: ['elsewhere.>'] });
    await expect(ensureStream(jsm, { name: 'other', partitions: 16, replicas: 1 })).rejects.toThrow('NATS stream other exists but is not a cpath span stream (subjects elsewhere.>)');
  });

  it('refuses a publish to a partition beyond P, and a second consumer of one partition', async () => {
    const js = nc?.jetstream();
    await expect(js?.publish('cpath.spans.16', new Uint8Array([1]))).rejects.toThrow(/503|no responders/i);
    await jsm.consumers.add('cpath-spans', { durable_name: 'p3', filter_subject: 'cpath.spans.3', ack_policy: AckPolicy.Explicit });
    await expect(jsm.consumers.add('cpath-spans', { durable_name: 'p3-again', filter_subject: 'cpath.spans.3', ack_policy: AckPolicy.Explicit })).rejects.toThrow(/filtered consumer not unique on workqueue stream/);
  });
});

describe.skipIf(natsSkip !== undefined)(`ensureStream on a 3-server JetStream cluster, R=3${skipped}`, () => {
  let nats: NatsCluster | undefined;
  const conns: NatsConnection[] = [];
  beforeAll(async () => {
    nats = await startNatsCluster(3);
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await nats?.stop();
  });

  it('two nodes starting at once both get the one stream; split spans land on their partitions', async () => {
    if (nats === undefined) throw new Error('no cluster');
    // each node talks to a different server first
    const urls = nats.urls;
    const a = await connectCluster([urls[0] ?? '', ...urls.slice(1)]);
    const b = await connectCluster([urls[2] ?? '', ...urls.slice(0, 2)]);
    conns.push(a.nc, b.nc);
    const both = await Promise.all([ensureStream(a.jsm, { partitions: 16, replicas: 3 }), ensureStream(b.jsm, { partitions: 16, replicas: 3 })]);
    // JetStream accepts a create identical to an existing stream, so both may say they created it
    expect(both.some((s) => s.created)).toBe(true);
    expect(both.map(({ created: _, ...rest }) => rest)).toEqual([0, 1].map(() => ({ name: 'cpath-spans', partitions: 16, replicas: 3 })));
    expect((await a.jsm.streams.names().next()).filter((n) => n === 'cpath-spans')).toHaveLength(1);
    const info = await a.jsm.streams.info('cpath-spans');
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.replicas?.length).toBe(2); // the leader plus two followers

    const spans = Array.from({ length: 400 }, (_, i) => ({ traceId: (i % 100).toString(16).padStart(32, '0'), spanId: i.toString(16).padStart(16, '0') }));
    const parts = splitByPartition(spans, 16);
    const js = a.nc.jetstream();
    await Promise.all(parts.map(([p, list]) => js.publish(partitionSubject(p), new TextEncoder().encode(JSON.stringify(list)))));
    const after = await a.jsm.streams.info('cpath-spans', { subjects_filter: '>' });
    expect(after.state.messages).toBe(parts.length);
    expect(after.state.subjects).toEqual(Object.fromEntries(parts.map(([p]) => [partitionSubject(p), 1])));
    await expect(ensureStream(b.jsm, { partitions: 32, replicas: 3 })).rejects.toThrow('has 16 partitions, this node was started with --partitions 32');
  });
});
