// Calls to one worker thread, answered by id: the bookkeeping shared by the decoders that run
// off the event loop (json-parse-worker.ts, protobuf-decode-worker.ts). The worker is started
// on first use, does not keep the process alive, and one that dies fails the calls it held;
// the next call starts another.
import { setPriority } from 'node:os';
import type { TransferListItem, Worker } from 'node:worker_threads';

/**
 * The decode threads' nice value. On a machine with few CPUs a hostile client's decodes (3 s of
 * JSON.parse per 44 MB body, one after another) competed with the event loop for them; lowered,
 * the event loop (honest requests, /healthz) runs first and a decode takes what is left.
 */
export const DECODE_THREAD_NICE = 19;

/** True where a thread can lower its own priority alone (Linux); elsewhere it would lower the whole process's. */
export const PER_THREAD_PRIORITY = process.platform === 'linux';

/** Called on a decode thread: lowers its priority, where that affects it alone. */
export function lowerThreadPriority(): void {
  if (!PER_THREAD_PRIORITY) return;
  try {
    setPriority(0, DECODE_THREAD_NICE);
  } catch {
    // Not permitted (a seccomp profile, say): decode at the normal priority.
  }
}

/** The worker's answer (its whole message), or why there is none. */
export type WorkerAnswer = { readonly ok: true; readonly reply: Readonly<Record<string, unknown>> } | { readonly ok: false; readonly why: string };

/** A started worker and the calls it holds (its own: a dead worker's late events must not fail its successor's). */
interface Running {
  readonly worker: Worker;
  readonly waiting: Map<number, (a: WorkerAnswer) => void>;
}

export class WorkerCalls {
  private current: Running | undefined;
  private next = 0;

  constructor(private readonly start: () => Worker) {}

  /** Posts `message` with an `id`; the worker answers with a message carrying the same `id`. */
  call(message: Readonly<Record<string, unknown>>, transfer: readonly TransferListItem[]): Promise<WorkerAnswer> {
    const { worker, waiting } = this.running();
    const id = this.next++;
    const answer = new Promise<WorkerAnswer>((resolve) => waiting.set(id, resolve));
    try {
      worker.postMessage({ ...message, id }, transfer);
    } catch (e) {
      waiting.get(id)?.({ ok: false, why: e instanceof Error ? e.message : String(e) });
      waiting.delete(id);
    }
    return answer;
  }

  async close(): Promise<void> {
    const r = this.current;
    this.current = undefined;
    if (r) await r.worker.terminate();
  }

  private running(): Running {
    if (this.current) return this.current;
    const r: Running = { worker: this.start(), waiting: new Map() };
    const { worker, waiting } = r;
    worker.unref();
    worker.on('message', (m: unknown) => {
      if (typeof m !== 'object' || m === null || !('id' in m) || typeof m.id !== 'number') return;
      const done = waiting.get(m.id);
      waiting.delete(m.id);
      done?.({ ok: true, reply: m });
    });
    const fail = (why: string): void => {
      if (this.current === r) this.current = undefined;
      for (const done of waiting.values()) done({ ok: false, why });
      waiting.clear();
    };
    worker.on('error', (e) => fail(e.message));
    worker.on('exit', (code) => fail(`exit ${code}`));
    this.current = r;
    return r;
  }
}

/** True when `b` views the whole of an ArrayBuffer, which can then be moved to a worker and back. */
export function ownsBuffer(b: Uint8Array): b is Uint8Array<ArrayBuffer> {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer;
}

/**
 * A body's parts, ready to be moved to a worker: each that views part of a larger buffer is
 * copied out (posted as it is, its whole buffer would be cloned). The request chunks Node gives
 * own their buffers, so a body read from a socket is moved without a copy.
 */
export function movable(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer>[] {
  return parts.map((p) => (ownsBuffer(p) ? p : new Uint8Array(p)));
}

/** The joined body a decode worker moved back with its answer; empty when it sent none (it died holding it). */
export function returnedBody(a: WorkerAnswer): Buffer {
  const b = a.ok ? a.reply['body'] : undefined;
  return b instanceof Uint8Array ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.alloc(0);
}
