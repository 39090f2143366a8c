// Decoding a big OTLP protobuf request off the event loop. The limits are applied while
// decoding, so a span of 10^6 attributes (16 MB) comes back as the 128 kept; the decode itself
// grows with the body, and a hostile client can send one after another (issue 15).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SpanLimits } from '../src/model/limits.js';
import type { ProtobufDecoded } from './otlp-schema.js';
import { WorkerCalls, movable, returnedBody } from './worker-calls.js';

/** Bodies at least this large are decoded on the worker (the same bound as for JSON). */
export const OFF_THREAD_PROTOBUF_BYTES = 1024 * 1024;

/** One worker, started on first use, shared by every request in turn. */
export class ProtobufDecodeWorker {
  private readonly calls = new WorkerCalls(() => new Worker(threadFile()));
  /** Bodies sent to the worker so far (tests check which path a body took). */
  sent = 0;

  /**
   * Decodes the body made of `parts` on the worker with `limits` applied. The parts are moved
   * there, not copied, joined there, and the whole body moved back: use the `body` returned
   * (the decoded ids are views of it); the parts passed in are then empty.
   */
  async decode(parts: readonly Uint8Array[], limits: SpanLimits): Promise<{ decoded: ProtobufDecoded; body: Uint8Array }> {
    const moved = movable(parts);
    this.sent++;
    const a = await this.calls.call({ parts: moved, limits }, moved.map((p) => p.buffer));
    const body = returnedBody(a);
    if (!a.ok) return { decoded: { ok: false, message: `the protobuf decoder stopped (${a.why})` }, body };
    const { decoded } = a.reply;
    return { decoded: isDecoded(decoded) ? decoded : { ok: false, message: 'the protobuf decoder sent no answer' }, body };
  }

  close(): Promise<void> {
    return this.calls.close();
  }
}

function isDecoded(v: unknown): v is ProtobufDecoded {
  if (typeof v !== 'object' || v === null || !('ok' in v)) return false;
  return v.ok === true ? 'value' in v : v.ok === false && 'message' in v && typeof v.message === 'string';
}

/**
 * The worker's compiled file. Run from dist/ it sits beside this one; run from the TypeScript
 * sources (vitest) there is no .js beside it and the one `npm run build` put in dist/ is used
 * (a worker thread cannot load TypeScript).
 */
function threadFile(): URL {
  const beside = new URL('./protobuf-decode-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL('../dist/collectors/protobuf-decode-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`${fileURLToPath(built)} is missing: run \`npm run build\` first`);
}
