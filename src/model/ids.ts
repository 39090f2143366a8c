// Trace and span ids: always lowercase hex, 32 / 16 digits, never all zeros (docs/critical-path.md rule 5).

const HEX = /^[0-9a-fA-F]+$/;
const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const ZERO = /^0+$/;

export type IdProblem = 'empty' | 'zero' | 'malformed' | 'length';

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
  }
}
