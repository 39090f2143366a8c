// Narrowing helpers for parsed JSON: input is `unknown` until validated, never `any`.

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** First present key among several spellings (camelCase, snake_case). */
export function field(o: JsonObject, a: string, b?: string): unknown {
  const v = o[a];
  if (v !== undefined) return v;
  return b === undefined ? undefined : o[b];
}

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function asArray(v: unknown): readonly unknown[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

/** A value as it appeared in the input, clipped, for messages. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'missing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    // A value nested deeper than the stack allows (JSON.stringify recurses).
    return Array.isArray(v) ? '[…]' : '{…}';
  }
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/** What kind of value it is, for "expected an object" messages. */
export function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${showValue(v)}`;
}
