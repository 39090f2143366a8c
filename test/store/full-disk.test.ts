// `cpath serve` stopping on a full disk (issue 15, finding 7): the final checkpoint cannot run;
// the server says so in one line, exits 0, and every acknowledged span is still in the store.
// A real full disk: a 6 MiB tmpfs, which needs root (skipped otherwise, with the reason).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceInterner } from '../../src/model/span.js';
import { SpanStore } from '../../src/store/span-store.js';
import { T0, postOtlp, protoRequest, spanIdFor, traceIdFor, type ProtoSpan } from '../helpers/serve-harness.js';
import { startServeCli } from '../helpers/serve-cli.js';

const base = mkdtempSync(join(tmpdir(), 'cpath-full-'));
const mnt = join(base, 'disk');
let mounted = false;
let why = '';
try {
  if (process.getuid?.() !== 0) throw new Error('not root');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt], { stdio: 'pipe' });
  mounted = true;
} catch (e) {
  why = e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e);
}

afterAll(() => {
  if (mounted) execFileSync('umount', [mnt]);
  rmSync(base, { recursive: true, force: true });
});

describe.skipIf(!mounted)(`stopping on a full disk${mounted ? '' : ` (skipped: a tmpfs cannot be mounted here: ${why})`}`, () => {
  let cli: Awaited<ReturnType<typeof startServeCli>>;
  const acked: string[] = [];
  let refused = 0;
  beforeAll(async () => {
    cli = await startServeCli(join(mnt, 'store'), ['--trace-idle', '1h', '--retention', 'off', '--max-store', 'off']);
    const pad = 'p'.repeat(2000);
    for (let n = 0; n < 3000 && refused < 5; n++) {
      const traceId = traceIdFor(0x77, n);
      const spans: ProtoSpan[] = Array.from({ length: 20 }, (_, i) => ({ traceId, spanId: spanIdFor(i), name: 'fill', startNs: T0 + BigInt(n), endNs: T0 + BigInt(n) + 10n, attributes: { pad: `${pad}${n}.${i}` } }));
      const r = await postOtlp(cli.otlp, protoRequest({ fill: spans }), 'application/x-protobuf');
      if (r.status === 200) acked.push(traceId);
      else if (r.status === 503) refused++;
      else throw new Error(`unexpected ${r.status}`);
    }
  }, 120_000);

  it('fills the disk (the store answers 503, retryable)', () => {
    expect(refused).toBeGreaterThan(0);
    expect(acked.length).toBeGreaterThan(10);
  });

  it('stops with exit 0 and a one-line notice, no stack trace, and keeps every acknowledged span', async () => {
    cli.child.kill('SIGTERM');
    const { code } = await cli.exited;
    const err = cli.stderr();
    expect(err).not.toMatch(/^\s+at /m);
    expect(err).not.toMatch(/internal error/);
    expect(code, err).toBe(0);
    expect(err).toMatch(/stopped/);
    expect(err).toMatch(/the final checkpoint could not run \(.*\); nothing is lost/);
    const store = SpanStore.openReadOnly(join(mnt, 'store'));
    try {
      const resources = new ResourceInterner();
      const missing = acked.filter((id) => store.spansOfTrace(id, resources).length !== 20);
      expect(missing).toEqual([]);
    } finally {
      store.close();
    }
  });
});
