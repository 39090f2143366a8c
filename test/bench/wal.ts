// How big the store's WAL grows under a steady stream of group commits (issue 15, finding 7):
// SpanStore with its checkpointer thread, as `cpath serve` runs it, committing a batch of 512
// spans (with attributes) per turn of the event loop for N seconds; the WAL file's size is read
// every 100 ms. Prints the largest WAL, the database size, and the commit rate.
//
// Usage: node dist/test/bench/wal.js [seconds, default 30]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { SpanStore } from '../../src/store/span-store.js';

const SECONDS = Number(process.argv[2] ?? 30);
const T0 = 1_764_151_200_000_000_000n;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cpath-wal-'));
  const store = SpanStore.open(dir, 'batch');
  const stop = store.startCheckpointer(1000);
  const resource = new ResourceInterner().intern({ 'service.name': 'wal-bench' });
  const size = (f: string): number => {
    try {
      return statSync(f).size;
    } catch {
      return 0;
    }
  };
  let walMax = 0;
  const timer = setInterval(() => (walMax = Math.max(walMax, size(`${store.file}-wal`))), 100);
  const end = Date.now() + SECONDS * 1000;
  let spans = 0;
  for (let b = 0; Date.now() < end; b++) {
    const batch: SpanInput[] = Array.from({ length: 512 }, (_, i) => ({
      traceId: `${b.toString(16).padStart(16, '0')}${(i >> 3).toString(16).padStart(16, '0')}`,
      spanId: (i + 1).toString(16).padStart(16, '0'),
      name: 'GET /wal',
      kind: 'server',
      startNs: T0 + BigInt(b * 1000 + i),
      endNs: T0 + BigInt(b * 1000 + i) + 5000n,
      status: 'unset',
      attributes: { 'http.route': '/wal', 'http.status_code': 200, note: `batch ${b} span ${i}` },
      resource,
      source: { file: 'bench' },
    }));
    store.append([{ spans: batch, receivedNs: T0 }]);
    spans += batch.length;
    await new Promise((r) => setImmediate(r));
  }
  clearInterval(timer);
  walMax = Math.max(walMax, size(`${store.file}-wal`));
  const dbBytes = size(store.file);
  await stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
  process.stdout.write(`${SECONDS} s, ${spans} spans committed (${Math.round(spans / SECONDS)} spans/s): largest WAL ${mib(walMax)}, database ${mib(dbBytes)}\n`);
}

void main();
