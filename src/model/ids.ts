// Trace and span ids: always lowercase hex, 32 / 16 digits, never all zeros (docs/critical-path.md rule 5).
import { createHash } from 'node:crypto';

const HEX = /^[0-9a-fA-F]+$/;
const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const ZERO = /^0+$/;

export type IdProblem = 'empty' | 'zero' | 'malformed' | 'length' | 'too-long';

export type IdResult = { readonly ok: true; readonly id: string } | { readonly ok: false; readonly problem: IdProblem };

/**
 * Normalises an id given as text. `bytes` is 16 for trace ids, 8 for span ids.
 * Exact-length hex wins; then base64 of exactly `bytes` bytes (Tempo, some OTLP/JSON
 * exporters); then, when `allowShort` (Jaeger, Zipkin), shorter hex left-padded with zeros.
 */
export function normalizeId(raw: string, bytes: 8 | 16, allowShort = false): IdResult {
  if (raw === '') return { ok: false, problem: 'empty' };
  const hexLen = bytes * 2;
  let id: string | undefined;
  if (raw.length === hexLen && HEX.test(raw)) id = raw.toLowerCase();
  else if (raw.length === base64Length(bytes) && B64.test(raw)) {
    const buf = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (buf.length === bytes) id = buf.toString('hex');
  }
  if (id === undefined && allowShort && raw.length < hexLen && HEX.test(raw)) id = raw.toLowerCase().padStart(hexLen, '0');
  if (id === undefined) return { ok: false, problem: HEX.test(raw) || B64.test(raw) ? 'length' : 'malformed' };
  if (ZERO.test(id)) return { ok: false, problem: 'zero' };
  return { ok: true, id };
}

/** Opaque ids longer than this are refused: no tracer writes them, a corrupt file might. */
export const MAX_OPAQUE_ID_LENGTH = 256;

export type TextIdResult = { readonly ok: true; readonly id: string; readonly opaque: boolean } | { readonly ok: false; readonly problem: IdProblem };

/**
 * An id of a text-id format (Jaeger, Zipkin): what normalizeId accepts, short hex included;
 * anything else that is neither empty nor absurdly long (Jaeger UI's fixtures use `trace-123`
 * and `span-A`) is an opaque string, mapped to the first 32 / 16 hex digits of
 * sha256(`cpath-opaque-id:<raw>`), so a span and the references to it map to the same id.
 */
export function normalizeTextId(raw: string, bytes: 8 | 16): TextIdResult {
  const r = normalizeId(raw, bytes, true);
  if (r.ok) return { ok: true, id: r.id, opaque: false };
  if (r.problem === 'empty' || r.problem === 'zero') return r;
  if (raw.length > MAX_OPAQUE_ID_LENGTH) return { ok: false, problem: 'too-long' };
  return { ok: true, id: opaqueId(raw, bytes), opaque: true };
}

/** The stable hex id of an opaque text id (see normalizeTextId). */
export function opaqueId(raw: string, bytes: 8 | 16): string {
  return createHash('sha256').update(`cpath-opaque-id:${raw}`).digest('hex').slice(0, bytes * 2);
}

/** Normalises an id given as raw bytes (OTLP protobuf). */
export function idFromBytes(b: Uint8Array, bytes: 8 | 16): IdResult {
  if (b.length === 0) return { ok: false, problem: 'empty' };
  if (b.length !== bytes) return { ok: false, problem: 'length' };
  const id = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  if (ZERO.test(id)) return { ok: false, problem: 'zero' };
  return { ok: true, id };
}

function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

export function describeIdProblem(p: IdProblem): string {
  switch (p) {
    case 'empty':
      return 'is empty';
    case 'zero':
      return 'is all zeros';
    case 'malformed':
      return 'is neither hex nor base64';
    case 'length':
      return 'has the wrong length';
    case 'too-long':
      return `is longer than ${MAX_OPAQUE_ID_LENGTH} characters`;
  }
}
