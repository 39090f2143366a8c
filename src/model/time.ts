// Exact integer nanoseconds. Unix-epoch nanoseconds exceed 2^53, so absolute times are bigint;
// durations and times relative to a trace's start fit a double exactly and are plain numbers.

const DIGITS = /^\d{1,20}$/;

/**
 * The latest time cpath keeps: 2^63 - 1 ns (2262-04-11). The store holds times as signed 64-bit
 * integers; OTLP's fixed64 can say more, and such a span could never be stored.
 */
export const MAX_TIME_NS = 0x7fffffffffffffffn;

/** What is wrong with a span's [start, end] as times cpath can hold, or undefined when nothing is. */
export function timeRangeProblem(startNs: bigint, endNs: bigint): string | undefined {
  if (startNs > MAX_TIME_NS || endNs > MAX_TIME_NS) return `is past 2^63-1 ns (${formatUnixNano(MAX_TIME_NS)}), the latest time cpath can store`;
  return undefined;
}

/** Same as DIGITS.test, without the regex: this runs twice per span. */
function isDigits(v: string): boolean {
  const n = v.length;
  if (n === 0 || n > 20) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * A non-negative 64-bit integer given as a decimal string or a JSON number (OTLP's
 * `startTimeUnixNano`). Numbers above 2^53 have already lost precision in JSON.parse; the
 * OTLP reader quotes them first, so those arrive here as strings.
 */
export function parseUint64(v: unknown): bigint | undefined {
  if (typeof v === 'string') {
    if (!isDigits(v)) return undefined;
    const n = BigInt(v);
    return n <= 0xffffffffffffffffn ? n : undefined;
  }
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  if (typeof v === 'bigint') return v >= 0n ? v : undefined;
  return undefined;
}

/** Microseconds (Jaeger, Zipkin) to nanoseconds; fractional microseconds are kept to the nanosecond. */
export function microsToNanos(v: unknown): bigint | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return undefined;
    if (Number.isSafeInteger(v)) return BigInt(v) * 1000n;
    // Near Number.MAX_VALUE the product is Infinity, which BigInt() throws on.
    const ns = Math.round(v * 1000);
    return Number.isFinite(ns) ? BigInt(ns) : undefined;
  }
  if (typeof v === 'string' && DIGITS.test(v)) return BigInt(v) * 1000n;
  return undefined;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9, d: 86400e9 };

/** `250ms`, `1.5s`, `800us`, `42ns`, `2h`, `7d` -> integer nanoseconds; undefined if malformed. */
export function parseDuration(s: string): number | undefined {
  if (/^\s*0+\s*$/.test(s)) return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h|d)$/.exec(s.trim());
  if (!m) return undefined;
  const unit = UNITS[m[2] ?? ''];
  if (unit === undefined) return undefined;
  return Math.round(Number(m[1]) * unit);
}

/**
 * A point in time for --since / --until: RFC 3339 (`2026-11-26T10:00:00.123456789Z`, offsets
 * allowed) or a duration counted back from `now` (`1h`, `30m`).
 */
export function parseTimeArg(s: string, nowNs: bigint): bigint | undefined {
  const rel = parseDuration(s);
  if (rel !== undefined) return nowNs - BigInt(rel);
  const m = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(s.trim());
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(ms) * 1_000_000n + BigInt(frac);
}

export function nowUnixNano(): bigint {
  // Date.now() has millisecond precision; fine for relative filters.
  return BigInt(Date.now()) * 1_000_000n;
}

/** RFC 3339 with nanoseconds, UTC. */
export function formatUnixNano(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-11-26T10:00:00.123Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** ISO 8601 to the millisecond, UTC: `2026-11-20T10:00:30.792Z` (a report line's time of day needs its date and zone). */
export function formatUnixMs(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

/** Human duration with 3 significant digits: `812 ns`, `4.21 µs`, `32.2 ms`, `1.50 s`. */
export function formatDuration(ns: number): string {
  const a = Math.abs(ns);
  const [div, unit] = a < 1e3 ? [1, 'ns'] : a < 1e6 ? [1e3, 'µs'] : a < 1e9 ? [1e6, 'ms'] : [1e9, 's'];
  if (div === 1) return `${ns} ns`;
  const v = ns / div;
  // Pick the decimals from the value as it will be rounded: 9.996 ms prints as 10.0 ms.
  const av = Math.abs(Number(v.toPrecision(3)));
  if (av >= 1000 && unit !== 's') return formatDuration(Math.sign(ns) * 1000 * div);
  return `${av >= 100 ? v.toFixed(0) : av >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;
}

/** The exact median of bigints (mean of the middle two, rounded toward -inf, for an even count). */
export function medianBigint(values: readonly bigint[]): bigint {
  const v = [...values].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const m = v.length >> 1;
  if (v.length % 2 === 1) return v[m] as bigint;
  const sum = (v[m - 1] as bigint) + (v[m] as bigint);
  return sum >= 0n || sum % 2n === 0n ? sum / 2n : sum / 2n - 1n;
}
