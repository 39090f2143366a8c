// The protobuf decode worker's thread (started by protobuf-decode-worker.ts): each body's parts
// are joined, decoded with the limits applied by the same code as on the event loop, and the
// result goes back with the body. The body is moved back in the same message: the decoded ids
// and bytes values are views of it, so nothing of it is copied.
import { parentPort } from 'node:worker_threads';
import type { SpanLimits } from '../src/model/limits.js';
import { decodeProtobufRequest, type ProtobufDecoded } from './otlp-schema.js';
import { lowerThreadPriority, ownsBuffer } from './worker-calls.js';

lowerThreadPriority();

parentPort?.on('message', (m: { readonly id: number; readonly parts: readonly Uint8Array<ArrayBuffer>[]; readonly limits: SpanLimits }) => {
  const { id, parts, limits } = m;
  // Joined here, off the event loop. A Buffer, as on the event loop: protobufjs then reads it
  // with the same (Buffer) reader.
  const [first] = parts;
  const body = parts.length === 1 && first ? Buffer.from(first.buffer, first.byteOffset, first.byteLength) : Buffer.concat(parts);
  let decoded: ProtobufDecoded = decodeProtobufRequest(body, limits);
  const transfer = ownsBuffer(body) ? [body.buffer] : [];
  try {
    parentPort?.postMessage({ id, decoded, body }, transfer);
  } catch (e) {
    // Not expected (a decoded message is plain data); the caller still gets an answer.
    decoded = { ok: false, message: `the decoded request could not be sent back (${e instanceof Error ? e.message : String(e)})` };
    parentPort?.postMessage({ id, decoded });
  }
});
