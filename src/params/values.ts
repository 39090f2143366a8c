// Values users give as command-line flags or API query parameters: a bad one is a UsageError
// (the CLI exits 2 with its one line; the API answers 400 with it).
import { normalizeId, normalizeTextId } from '../model/ids.js';
import { nowUnixNano, parseDuration } from '../model/time.js';
import { checkedTime } from './api-params.js';

/** A value the user gave (a flag, an API parameter) is wrong; the message says which and why. */
export class UsageError extends Error {}

export function durationOpt(flag: string, v: string): number {
  const d = parseDuration(v);
  if (d === undefined) throw new UsageError(`${flag}: "${v}" is not a duration (a number with ns, us, ms or s, e.g. 250ms)`);
  return d;
}

export function timeOpt(flag: string, v: string): bigint {
  const r = checkedTime(flag, v, nowUnixNano());
  if (!r.ok) throw new UsageError(r.message);
  return r.ns;
}

export function positiveIntOpt(flag: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag}: "${v}" is not a whole number`);
  return Number(v);
}

export function traceIdOpt(v: string, opaque = false): string {
  // Opaque ids (Jaeger's `trace-123`) map as the importers map them.
  const r = opaque ? normalizeTextId(v.trim(), 16) : normalizeId(v.trim(), 16, true);
  if (!r.ok) throw new UsageError(`--trace-id: "${v}" is not a trace id (hex, up to 32 digits${opaque ? ', or the text id a Jaeger or Zipkin file uses' : ''})`);
  return r.id;
}

export function whereOpt(v: string): { key: string; value: string } {
  const i = v.indexOf('=');
  if (i <= 0) throw new UsageError(`--where: "${v}" is not KEY=VALUE`);
  return { key: v.slice(0, i), value: v.slice(i + 1) };
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** `64MiB`, `10GB`, `1048576` -> bytes. */
export function sizeOpt(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? 'x').toLowerCase()];
  if (!m || unit === undefined) throw new UsageError(`${flag}: "${v}" is not a size (bytes, or a number with KB, MB, GB, KiB, MiB, GiB)`);
  return Math.floor(Number(m[1]) * unit);
}

/** `127.0.0.1:4318`, `0.0.0.0:4318`, `[::1]:4318`, `:4318` (loopback) or `off` (undefined). */
export function listenOpt(flag: string, v: string, allowOff: boolean): { host: string; port: number } | undefined {
  if (allowOff && v === 'off') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`${flag}: "${v}" is not HOST:PORT${allowOff ? ' or off' : ''} (e.g. 127.0.0.1:4318, 0.0.0.0:4318, [::1]:4318)`);
  return { host: m[1] ?? (m[2] !== undefined && m[2] !== '' ? m[2] : '127.0.0.1'), port };
}
