// Reads a request body, decompressing gzip / deflate, and stops at the size limit counted
// after decompression: a 10 KB gzip bomb never becomes gigabytes in memory.
import type { IncomingMessage } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';

/** Bytes held by bodies being read, across all requests; a request past it is refused as busy. */
export class ByteBudget {
  used = 0;
  constructor(readonly max: number) {}

  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used -= n;
  }

  /** Gives `n` back once, however often the result is called. */
  releaser(n: number): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.give(n);
    };
  }
}

/**
 * A body as the socket gave it, in chunks: joined here only for a decoder on the event loop. A
 * big body goes to a decode worker as its chunks, moved, and is joined there: joining 44 MB
 * here held the event loop 140–200 ms, mostly the kernel faulting in the fresh buffer's pages,
 * and honest requests waited behind it (issue 15).
 */
export interface BodyParts {
  readonly parts: readonly Buffer[];
  readonly length: number;
}

/** The body as one buffer (the chunk itself when there is one). */
export function joinParts(b: BodyParts): Buffer {
  const [first] = b.parts;
  return b.parts.length === 1 && first ? first : Buffer.concat(b.parts, b.length);
}

export type BodyResult =
  | { readonly ok: true; readonly body: BodyParts; /** Release the budget once the body is no longer needed. */ release(): void }
  | { readonly ok: false; readonly status: 400 | 413 | 415 | 503; readonly message: string };

export async function readBody(req: IncomingMessage, maxBytes: number, budget: ByteBudget): Promise<BodyResult> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const inflate = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipSync : encoding === 'deflate' ? inflateSync : undefined;
  if (!inflate && encoding !== 'identity' && encoding !== '') {
    req.resume();
    return { ok: false, status: 415, message: `unsupported Content-Encoding "${encoding}" (cpath takes gzip, deflate or none)` };
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return { ok: false, status: 413, message: `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes (--max-body)` };
  }
  const raw = await readRaw(req, maxBytes, budget);
  if (!raw.ok || !inflate) return raw;
  // Inflate in one synchronous call bounded by maxOutputLength: zlib stops as soon as the output
  // passes the limit, so a bomb costs at most the limit. (A zlib stream per request cost more:
  // its work hops through the thread pool.)
  let body: Buffer;
  try {
    body = inflate(joinParts(raw.body), { maxOutputLength: maxBytes });
  } catch (e) {
    raw.release();
    if (e instanceof RangeError) return { ok: false, status: 413, message: `request body exceeds the limit of ${maxBytes} bytes after decompression (--max-body)` };
    return { ok: false, status: 400, message: `the ${encoding} body could not be decompressed (${e instanceof Error ? e.message : String(e)})` };
  }
  raw.release();
  if (!budget.take(body.length)) return { ok: false, status: 503, message: 'too many request bytes in flight; retry later' };
  return { ok: true, body: { parts: [body], length: body.length }, release: budget.releaser(body.length) };
}

/** The body as sent, up to `maxBytes`. */
function readRaw(req: IncomingMessage, maxBytes: number, budget: ByteBudget): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let total = 0;
  return new Promise<BodyResult>((resolve) => {
    let done = false;
    const finish = (r: BodyResult): void => {
      if (done) return;
      done = true;
      if (!r.ok) {
        budget.give(total);
        chunks.length = 0;
        // Stop reading a body we refused; the reply still goes out.
        req.resume();
      }
      resolve(r);
    };
    req.on('data', (c: Buffer) => {
      if (done) return;
      if (total + c.length > maxBytes) {
        finish({ ok: false, status: 413, message: `request body exceeds the limit of ${maxBytes} bytes (--max-body)` });
        return;
      }
      if (!budget.take(c.length)) {
        finish({ ok: false, status: 503, message: 'too many request bytes in flight; retry later' });
        return;
      }
      total += c.length;
      chunks.push(c);
    });
    req.on('end', () => {
      finish({ ok: true, body: { parts: chunks, length: total }, release: budget.releaser(total) });
    });
    req.on('error', (e: Error) => finish({ ok: false, status: 400, message: `the request body could not be read (${e.message})` }));
    req.on('aborted', () => finish({ ok: false, status: 400, message: 'the client aborted the request' }));
  });
}
