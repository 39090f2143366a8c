// The fuzzer's inputs, as fast-check arbitraries (so a run is reproducible from its seed):
// mutations of real inputs at three levels (the parsed JSON tree, lines and tokens, bytes) and
// structured garbage built from each format's own vocabulary. Generated nesting stays under
// ~50 levels (deep nesting is issue 15 finding 4, handled with the decoders).
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The largest input handed to a target: small inputs make 10^5 runs cheap. */
export const MAX_INPUT_BYTES = 16 * 1024;
/** Wrapping levels the mutations of one input may add in all (the seeds nest ~10 deep). */
export const MAX_WRAP_DEPTH = 40;

const STRINGS = [
  '', '0', '-1', '1', 'null', 'true', 'NaN', 'Infinity', '-Infinity', '1e400', '-0', '0x10', ' 12 ', '١٢',
  '00000000000000000000000000000000', '0000000000000000', 'ffffffffffffffffffffffffffffffff', 'ffffffffffffffff', 'FFFFFFFFFFFFFFFF',
  '5b8efff798038103d269b633813fc60c', 'eee19b7ec3c1b174', 'AAAAAAAAAAAAAAAAAAAAAA==', 'W47/95gDgQPSabYzgT/GDA==', '7uGbfsPBsXQ=', '_-_-_-_-_-_-_-_-_-_-_A==',
  '18446744073709551615', '18446744073709551616', '9223372036854775807', '9223372036854775808', '99999999999999999999', '1795168800502000000', '-1795168800502000000',
  'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_BOGUS', 'STATUS_CODE_ERROR', 'STATUS_CODE_OK', 'CHILD_OF', 'FOLLOWS_FROM', 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER',
  'server', 'client', 'error', 'ERROR', 'Unset', 'int64', 'float64', 'bool', 'string', 'binary',
  'service.name', 'thread.id', 'thread.name', 'span.kind', 'otel.status_code', 'otel.status_description', 'process.pid', 'host.name', 'peer.service', 'http.route',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
  '\u0000', '\ud800', '\udfff', '\u2028', '\ufeff', '"', '\\', '\n', 'é', '💥', 'a'.repeat(300),
];
const NUMBERS = [0, -0, 1, -1, 0.5, 1.5, 255, 256, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e21, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 1795168800502000, 1795168800502000000];
/** Number literals JSON.stringify cannot write: spliced into the text. */
const NUMBER_TEXTS = ['1e400', '-1e400', '99999999999999999999999999999', '18446744073709551616', '9223372036854775808', '-9223372036854775809', '1795168800502000123', '0.0000000001', '-0', '1E2', '00', '1.', '.5', '+1', '0x1F'];
const TOKENS = ['{', '}', '[', ']', '"', '\\', ',', ':', 'null', 'true', '\n', '\r\n', ' ', '\t', '{}', '[]', '""', '\\u', '\\ud800', '/*', '\u2028', 'NaN', ...NUMBER_TEXTS];

export const hexString = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: min, maxLength: max });

export const scalarArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Json>(null, true, false, ...NUMBERS) },
  { weight: 3, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.oneof(hexString(0, 34), fc.constantFrom(16, 32).chain((n) => hexString(n, n))) },
);

/** Random JSON of a format's shape: keys from its vocabulary (and a few odd ones), depth <= maxDepth. */
export function vocabularyJson(keys: readonly string[], maxDepth: number): fc.Arbitrary<Json> {
  const key = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.constantFrom(...STRINGS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });
  const { value } = fc.letrec<{ value: Json }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth, withCrossShrink: true },
      scalarArb,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 6, noNullPrototype: true }),
    ),
  }));
  return value;
}

/** A mutation of the parsed JSON tree; `at` picks a node (mod the node count). */
export type TreeOp =
  | { readonly op: 'replace'; readonly at: number; readonly value: Json }
  | { readonly op: 'delete'; readonly at: number }
  | { readonly op: 'duplicate'; readonly at: number }
  | { readonly op: 'rename'; readonly at: number; readonly key: string }
  | { readonly op: 'copy'; readonly at: number; readonly from: number }
  | { readonly op: 'wrap'; readonly at: number; readonly depth: number; readonly style: 'array' | 'anyArray' | 'kvlist' | 'object' };

export function treeOpArb(keys: readonly string[]): fc.Arbitrary<TreeOp> {
  const at = fc.nat();
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('replace' as const), at, value: fc.oneof(scalarArb, vocabularyJson(keys, 3)) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), at }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('rename' as const), at, key: fc.oneof(fc.constantFrom(...keys), fc.constantFrom(...STRINGS)) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('copy' as const), at, from: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), at, depth: fc.integer({ min: 1, max: MAX_WRAP_DEPTH }), style: fc.constantFrom('array' as const, 'anyArray' as const, 'kvlist' as const, 'object' as const) }) },
  );
}

interface Slot {
  readonly parent: Json[] | { [key: string]: Json };
  readonly key: string | number;
}

/** Every node below the root, found without recursion. */
function slots(root: Json): Slot[] {
  const out: Slot[] = [];
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      v.forEach((c, i) => {
        out.push({ parent: v, key: i });
        stack.push(c);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        out.push({ parent: v, key: k });
        stack.push(v[k] ?? null);
      }
    }
  }
  return out;
}

const get = (s: Slot): Json => (Array.isArray(s.parent) ? (s.parent[Number(s.key)] ?? null) : (s.parent[String(s.key)] ?? null));
function put(s: Slot, v: Json): void {
  if (Array.isArray(s.parent)) s.parent[Number(s.key)] = v;
  else Object.defineProperty(s.parent, String(s.key), { value: v, enumerable: true, writable: true, configurable: true });
}

function wrap(v: Json, depth: number, style: 'array' | 'anyArray' | 'kvlist' | 'object'): Json {
  let out = v;
  for (let i = 0; i < depth; i++) {
    if (style === 'array') out = [out];
    else if (style === 'object') out = { value: out };
    else if (style === 'anyArray') out = { arrayValue: { values: [out] } };
    else out = { kvlistValue: { values: [{ key: `k${i}`, value: out }] } };
  }
  return out;
}

/** Applies the ops to a copy of `root`; the root itself may be replaced. */
export function applyTreeOps(root: Json, ops: readonly TreeOp[]): Json {
  let doc = structuredClone(root);
  let wrapBudget = MAX_WRAP_DEPTH;
  for (const o of ops) {
    const all = slots(doc);
    if (all.length === 0) {
      if (o.op === 'replace') doc = o.value;
      continue;
    }
    const s = all[o.at % all.length];
    if (!s) continue;
    switch (o.op) {
      case 'replace':
        put(s, structuredClone(o.value));
        break;
      case 'delete':
        if (Array.isArray(s.parent)) s.parent.splice(Number(s.key), 1);
        else delete s.parent[String(s.key)];
        break;
      case 'duplicate':
        if (Array.isArray(s.parent)) s.parent.splice(Number(s.key), 0, structuredClone(get(s)));
        break;
      case 'rename':
        if (!Array.isArray(s.parent)) {
          const v = get(s);
          delete s.parent[String(s.key)];
          put({ parent: s.parent, key: o.key }, v);
        }
        break;
      case 'copy': {
        const from = all[o.from % all.length];
        if (from) put(s, structuredClone(get(from)));
        break;
      }
      case 'wrap': {
        const depth = Math.min(o.depth, wrapBudget);
        wrapBudget -= depth;
        put(s, wrap(get(s), depth, o.style));
        break;
      }
    }
  }
  return doc;
}

/** A mutation of the bytes (for text inputs: after the tree and line mutations). */
export type ByteOp =
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'flip'; readonly at: number; readonly mask: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly len: number }
  | { readonly op: 'dupe'; readonly at: number; readonly len: number; readonly to: number }
  | { readonly op: 'number'; readonly at: number; readonly text: string };

export function byteOpArb(binary: boolean): fc.Arbitrary<ByteOp> {
  const at = fc.nat();
  const tokens = binary
    ? fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 12 }),
        fc.constantFrom(...[[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x80], [0x0a, 0x7f], [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], [0x12, 0x00], [0x00, 0x00, 0x00, 0x00], [0x7f, 0xff, 0xff, 0xff], [0x3d], [0x39, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x0b], [0x0c], [0x0f]].map((a) => Uint8Array.from(a))),
      )
    : fc.oneof(fc.constantFrom(...TOKENS).map((t) => new Uint8Array(Buffer.from(t))), fc.uint8Array({ minLength: 1, maxLength: 4 }));
  const ops: fc.Arbitrary<ByteOp>[] = [
    fc.record({ op: fc.constant('truncate' as const), at }),
    fc.record({ op: fc.constant('flip' as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at, bytes: tokens }),
    fc.record({ op: fc.constant('delete' as const), at, len: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ op: fc.constant('dupe' as const), at, len: fc.integer({ min: 1, max: 256 }), to: fc.nat() }),
  ];
  if (!binary) ops.push(fc.record({ op: fc.constant('number' as const), at, text: fc.constantFrom(...NUMBER_TEXTS) }));
  return fc.oneof(...ops);
}

export function applyByteOps(input: Buffer, ops: readonly ByteOp[]): Buffer {
  let b = input;
  for (const o of ops) {
    const n = b.length;
    const at = n === 0 ? 0 : o.at % (n + 1);
    switch (o.op) {
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'flip':
        if (n > 0) {
          b = Buffer.from(b);
          const i = o.at % n;
          b[i] = (b[i] ?? 0) ^ o.mask;
        }
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), o.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + o.len)]);
        break;
      case 'dupe': {
        const piece = b.subarray(at, at + o.len);
        const to = n === 0 ? 0 : o.to % (n + 1);
        b = Buffer.concat([b.subarray(0, to), piece, b.subarray(to)]);
        break;
      }
      case 'number': {
        // The at-th number literal of the text, replaced by one JSON.stringify never writes.
        const text = b.toString('latin1');
        const nums = [...text.matchAll(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g)];
        const m = nums.length > 0 ? nums[o.at % nums.length] : undefined;
        if (m?.index !== undefined) b = Buffer.concat([b.subarray(0, m.index), Buffer.from(o.text), b.subarray(m.index + m[0].length)]);
        break;
      }
    }
    if (b.length > MAX_INPUT_BYTES) b = b.subarray(0, MAX_INPUT_BYTES);
  }
  return b;
}

/** A mutation of a line-oriented text (the bpftrace event log): whole lines and single tokens. */
export type LineOp =
  | { readonly op: 'drop'; readonly at: number }
  | { readonly op: 'dup'; readonly at: number }
  | { readonly op: 'swap'; readonly at: number; readonly with: number }
  | { readonly op: 'token'; readonly at: number; readonly tok: number; readonly text: string }
  | { readonly op: 'insert'; readonly at: number; readonly line: string };

export function lineOpArb(lineArb: fc.Arbitrary<string>, tokenArb: fc.Arbitrary<string>): fc.Arbitrary<LineOp> {
  const at = fc.nat();
  return fc.oneof(
    fc.record({ op: fc.constant('drop' as const), at }),
    fc.record({ op: fc.constant('dup' as const), at }),
    fc.record({ op: fc.constant('swap' as const), at, with: fc.nat() }),
    { weight: 4, arbitrary: fc.record({ op: fc.constant('token' as const), at, tok: fc.nat(), text: tokenArb }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('insert' as const), at, line: lineArb }) },
  );
}

export function applyLineOps(text: string, ops: readonly LineOp[]): string {
  const lines = text.split('\n');
  for (const o of ops) {
    const n = lines.length;
    const i = o.at % n;
    switch (o.op) {
      case 'drop':
        lines.splice(i, 1);
        break;
      case 'dup':
        lines.splice(i, 0, lines[i] ?? '');
        break;
      case 'swap': {
        const j = o.with % n;
        const a = lines[i] ?? '';
        lines[i] = lines[j] ?? '';
        lines[j] = a;
        break;
      }
      case 'token': {
        const parts = (lines[i] ?? '').split(/( +|\t)/);
        const words = parts.map((p, k) => (/^( +|\t)$/.test(p) ? -1 : k)).filter((k) => k >= 0);
        const k = words.length > 0 ? words[o.tok % words.length] : undefined;
        if (k !== undefined) parts[k] = o.text;
        lines[i] = parts.join('');
        break;
      }
      case 'insert':
        lines.splice(i, 0, o.line);
        break;
    }
    if (lines.length === 0) lines.push('');
  }
  return lines.join('\n');
}

export const numberTokenArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NUMBER_TEXTS, '0', '-1', '4294967296', '18446744073709551615', '-', '', 'x', '1.5', '9'.repeat(40)),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.nat().map(String),
  fc.string({ maxLength: 12 }),
);
