// The query API's parameters, parsed. A bad value is an ApiParamError: a 400 whose message names
// the parameter as the URL spells it (`since`, `cursor`, `trace id`), never a CLI flag. Every
// value is checked against what the store can bind (signed 64-bit integers), so no parameter can
// reach SQLite or BigInt() out of range.
import { normalizeId } from '../model/ids.js';
import { nowUnixNano, parseDuration, parseTimeArg } from '../model/time.js';

export class ApiParamError extends Error {}

/** The largest integer the store holds (SQLite INTEGER): 2262-04-11T23:47:16.854775807Z as a time. */
export const INT64_MAX = 2n ** 63n - 1n;

/**
 * A time given as RFC 3339 or as a duration back from now, within 1970 .. 2262 (int64
 * nanoseconds, what the store can bind). The API's `since`/`until` and the CLI's `--since`/`--until`
 * both take it; the message starts with `name`.
 */
export function checkedTime(name: string, v: string, nowNs: bigint): { ok: true; ns: bigint } | { ok: false; message: string } {
  const back = parseDuration(v);
  if (back !== undefined) {
    // A huge number of hours is a finite double past int64, or Infinity: compare before BigInt().
    if (!Number.isFinite(back) || BigInt(back) > nowNs) return { ok: false, message: `${name}: "${v}" reaches back before 1970-01-01T00:00:00Z, the earliest time cpath takes` };
    return { ok: true, ns: nowNs - BigInt(back) };
  }
  const t = parseTimeArg(v, nowNs);
  if (t === undefined) return { ok: false, message: `${name}: "${v}" is neither an RFC 3339 time (2026-11-26T10:00:00Z) nor a duration back from now (1h, 30m)` };
  if (t < 0n) return { ok: false, message: `${name}: "${v}" is before 1970-01-01T00:00:00Z, the earliest time cpath takes` };
  if (t > INT64_MAX) return { ok: false, message: `${name}: "${v}" is after 2262-04-11T23:47:16Z, the latest time cpath takes` };
  return { ok: true, ns: t };
}

/** `since` / `until` of the API. */
export function timeParam(name: string, v: string, nowNs: bigint = nowUnixNano()): bigint {
  const r = checkedTime(name, v, nowNs);
  if (!r.ok) throw new ApiParamError(r.message);
  return r.ns;
}

/** `minDuration` / `maxDuration`: `250ms`, `1.5s`, `2h`, at most 2^63-1 ns (about 292 years). */
export function durationParam(name: string, v: string): number {
  const d = parseDuration(v);
  if (d === undefined) throw new ApiParamError(`${name}: "${v}" is not a duration (a number with ns, us, ms, s, m, h or d, e.g. 250ms)`);
  if (!Number.isFinite(d) || d >= 2 ** 63) throw new ApiParamError(`${name}: "${v}" is longer than the longest duration the API takes (about 292 years)`);
  return d;
}

/** `limit`: a whole number in 1..max. */
export function limitParam(v: string, max: number): number {
  if (!/^\d+$/.test(v)) throw new ApiParamError(`limit: "${v}" is not a whole number`);
  const n = Number(v);
  if (n < 1 || n > max) throw new ApiParamError(`limit: ${v} is outside 1..${max}`);
  return n;
}

export interface Cursor {
  readonly startNs: bigint;
  readonly traceId: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.startNs}.${c.traceId}`).toString('base64url');
}

/** `cursor`: what `encodeCursor` made; a start past int64 was not made by this API. */
export function cursorParam(s: string): Cursor {
  const m = /^(\d{1,19})\.([0-9a-f]{32})$/.exec(Buffer.from(s, 'base64url').toString());
  const startNs = m ? BigInt(m[1] ?? '') : undefined;
  if (!m || startNs === undefined || startNs > INT64_MAX) throw new ApiParamError(`cursor: "${s}" is not a cursor this API returned`);
  return { startNs, traceId: m[2] ?? '' };
}

/** `/api/traces/{trace id}`: the path segment as sent (percent-encoded). */
export function traceIdParam(segment: string): string {
  let raw: string;
  try {
    raw = decodeURIComponent(segment);
  } catch {
    throw new ApiParamError(`trace id: "${segment}" is not valid percent-encoding`);
  }
  const r = normalizeId(raw.trim(), 16, true);
  if (!r.ok) throw new ApiParamError(`trace id: "${raw}" is not a trace id (hex, up to 32 digits)`);
  return r.id;
}
