// One fuzz target in a worker thread (the main thread watches it for hangs): runs `runs` inputs
// of the target's arbitrary from `seed`, times each, and reports what failed, one example per
// kind of failure written to `outDir`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { startTestServer } from '../helpers/serve-harness.js';
import { buildTargets, serverTargets, type FuzzInput, type Target } from './targets.js';

export interface Job {
  readonly target: string;
  readonly runs: number;
  readonly seed: number;
  readonly outDir: string;
  /** [inputs started]: the main thread's watchdog reads it. */
  readonly progress: SharedArrayBuffer;
}

export interface FailureClass {
  readonly key: string;
  count: number;
  readonly message: string;
  readonly example: string;
}

export interface Result {
  readonly target: string;
  readonly runs: number;
  /** Inputs refused with a typed error (InputError, a 4xx, a decoder's `ok: false`). */
  readonly typed: number;
  readonly failures: FailureClass[];
  /** Inputs that took longer than 1 s: files written. */
  readonly slow: string[];
  readonly maxMs: number;
  readonly seconds: number;
}

const SLOW_MS = 1000;

function job(d: unknown): Job {
  if (typeof d !== 'object' || d === null) throw new Error('no job');
  const j = d as Record<string, unknown>;
  const { target, runs, seed, outDir, progress } = j;
  if (typeof target !== 'string' || typeof runs !== 'number' || typeof seed !== 'number' || typeof outDir !== 'string' || !(progress instanceof SharedArrayBuffer)) throw new Error('bad job');
  return { target, runs, seed, outDir, progress };
}

/** Failures of one kind: the error type, its message with numbers blurred, and where it was thrown. */
function classify(e: unknown): { key: string; message: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  const frame = (err.stack ?? '').split('\n').find((l) => /\/(collectors|src|analysis)\//.test(l))?.trim() ?? '';
  const message = `${err.constructor.name}: ${err.message}`.slice(0, 300);
  return { key: `${message.replace(/\d+/g, 'N').slice(0, 120)} ${frame.replace(/:\d+:\d+\)?$/, '')}`, message: `${message}\n    ${frame}` };
}

async function main(): Promise<void> {
  const j = job(workerData);
  const counter = new Int32Array(j.progress);
  let cleanup = async (): Promise<void> => {};
  let target: Target | undefined = buildTargets().find((t) => t.name === j.target);
  if (!target && j.target.startsWith('serve-')) {
    const t = await startTestServer({ log: () => {} });
    const server = t.server;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const base = `http://${server.addresses.otlpHttp ?? ''}`;
    const post = (body: Buffer, contentType: string): Promise<{ status: number; message: string }> =>
      new Promise((resolve, reject) => {
        const req = request(`${base}/v1/traces`, { method: 'POST', agent, headers: { 'Content-Type': contentType, 'Content-Length': body.length } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, message: Buffer.concat(chunks).toString('latin1').replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 200) }));
        });
        req.on('error', reject);
        req.end(body);
      });
    target = serverTargets(post).find((t) => t.name === j.target);
    cleanup = async () => {
      agent.destroy();
      await t.stop();
    };
  }
  if (!target) throw new Error(`no fuzz target ${j.target}`);
  const t = target;

  mkdirSync(j.outDir, { recursive: true });
  const failures = new Map<string, FailureClass>();
  const slow: string[] = [];
  let typed = 0;
  let ran = 0;
  let maxMs = 0;
  const save = (name: string, input: FuzzInput, note: string): string => {
    const file = join(j.outDir, `${t.name}-${name}`);
    writeFileSync(`${file}.bin`, input.bytes);
    writeFileSync(`${file}.txt`, `target ${t.name}, seed ${j.seed}, input #${ran}, made by ${input.how}, format ${input.forced ? 'forced' : 'sniffed'}\n${note}\n`);
    return `${file}.bin`;
  };
  const t0 = performance.now();
  await fc.assert(
    fc.asyncProperty(t.input, async (input) => {
      Atomics.store(counter, 0, ++ran);
      const start = performance.now();
      const v = await t.run(input);
      const ms = performance.now() - start;
      maxMs = Math.max(maxMs, ms);
      if (ms > SLOW_MS) slow.push(save(`slow-${slow.length}`, input, `${ms.toFixed(0)} ms`));
      if (!v.ok) {
        const c = classify(v.error);
        const known = failures.get(c.key);
        if (known) known.count++;
        else failures.set(c.key, { key: c.key, count: 1, message: c.message, example: save(`crash-${failures.size}`, input, v.error instanceof Error ? (v.error.stack ?? v.error.message) : String(v.error)) });
      } else if (v.typed === true) typed++;
      return true;
    }),
    { numRuns: j.runs, seed: j.seed },
  );
  const result: Result = { target: t.name, runs: ran, typed, failures: [...failures.values()], slow, maxMs, seconds: (performance.now() - t0) / 1000 };
  await cleanup();
  parentPort?.postMessage(result);
}

await main();
