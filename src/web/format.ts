// Numbers as people read them; durations share the CLI's formatter so the page and the text agree.
import { formatDuration } from '../model/time.js';

export const dur = formatDuration;

export function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

/** Unix ns (decimal string or bigint) as `2026-11-26 10:00:30.792` UTC, ms precision. */
export function clock(unixNano: string | bigint): string {
  const ms = Number(BigInt(unixNano) / 1_000_000n);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}
