// JSON.parse of a big OTLP/JSON request, off the event loop. JSON.parse cannot be sliced: one
// span with 10^6 attributes (44 MB) took 3.4 s, and /healthz waited as long (issue 15). A worker
// thread parses, applies the span limits to the parsed value (attributes, events and links past
// them are cut and counted in the keys the protobuf decoder uses; values nested too deep are
// replaced by the marker) and sends back only what is kept, so the copy back is small.
import { Worker } from 'node:worker_threads';
import { MAX_ATTRIBUTE_DEPTH, type SpanLimits } from '../src/model/limits.js';
import { RESOURCE_SPANS_KEYS, SCOPE_SPANS_KEYS } from './otlp-convert.js';
import { BIG_INT_FIELD, HAS_BIG_INT } from './otlp-json.js';
import { SKIPPED_ATTRIBUTES, SKIPPED_EVENTS, SKIPPED_LINKS, TOO_DEEP_KEY } from './otlp-schema.js';
import { DECODE_THREAD_NICE, PER_THREAD_PRIORITY, WorkerCalls, movable, returnedBody } from './worker-calls.js';

/** Bodies at least this large are parsed on the worker; smaller ones parse faster than the round trip. */
export const OFF_THREAD_JSON_BYTES = 1024 * 1024;

/** The parsed request object, pruned to the limits, or why the text is not one. */
export type ParsedJson = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/** One worker, started on first use, shared by every request in turn. */
export class JsonParseWorker {
  private readonly calls = new WorkerCalls(
    () =>
      new Worker(WORKER_CODE, {
        eval: true,
        workerData: {
          bigIntField: BIG_INT_FIELD.source,
          hasBigInt: HAS_BIG_INT.source,
          resourceKeys: RESOURCE_SPANS_KEYS,
          scopeKeys: SCOPE_SPANS_KEYS,
          maxDepth: MAX_ATTRIBUTE_DEPTH,
          nice: PER_THREAD_PRIORITY ? DECODE_THREAD_NICE : undefined,
          keys: { attributes: SKIPPED_ATTRIBUTES, events: SKIPPED_EVENTS, links: SKIPPED_LINKS, tooDeep: TOO_DEEP_KEY },
        },
      }),
  );
  /** Bodies sent to the worker so far (tests check which path a body took). */
  sent = 0;

  /**
   * Parses the body made of `parts` on the worker. The parts are moved there, not copied (43 MB
   * copied each way cost the event loop more than the parse saved), joined there, and the whole
   * body moved back: use the `body` returned; the parts passed in are then empty.
   */
  async parse(parts: readonly Uint8Array[], limits: SpanLimits): Promise<{ parsed: ParsedJson; body: Uint8Array }> {
    const moved = movable(parts);
    this.sent++;
    const a = await this.calls.call({ parts: moved, limits }, moved.map((p) => p.buffer));
    const body = returnedBody(a);
    if (!a.ok) return { parsed: { ok: false, message: `the JSON parser stopped (${a.why})` }, body };
    const m = a.reply;
    if ('value' in m) return { parsed: { ok: true, value: m['value'] }, body };
    const why = typeof m['message'] === 'string' ? m['message'] : 'unreadable';
    return { parsed: { ok: false, message: 'shape' in m ? why : `not valid JSON (${why})` }, body };
  }

  close(): Promise<void> {
    return this.calls.close();
  }
}

// CommonJS run with eval (the worker must not depend on how this module was loaded: tests run
// the TypeScript sources). Iterative throughout: a hostile value may nest 10^5 levels.
const WORKER_CODE = `
const { parentPort, workerData: W } = require('node:worker_threads');
// As lowerThreadPriority (worker-calls.ts): the event loop runs before a parse.
if (W.nice !== undefined) try { require('node:os').setPriority(0, W.nice); } catch {}
const BIG = new RegExp(W.bigIntField, 'g');
const HAS_BIG = new RegExp(W.hasBigInt);
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const TOO_DEEP = { [W.keys.tooDeep]: true };

function children(v) {
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (!isObj(x)) continue;
    if (k === 'arrayValue' || k === 'array_value') return Array.isArray(x.values) ? x.values : [];
    if (k === 'kvlistValue' || k === 'kvlist_value') return Array.isArray(x.values) ? x.values.map((kv) => (isObj(kv) ? kv.value : undefined)) : [];
  }
  return [];
}
function tooDeep(v) {
  const stack = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop();
    if (!isObj(x)) continue;
    const c = children(x);
    if (c.length === 0) continue;
    if (d + 1 > W.maxDepth) return true;
    for (const y of c) stack.push([y, d + 1]);
  }
  return false;
}
function cut(owner, key, limit, countKey) {
  const list = owner[key];
  if (!Array.isArray(list)) return;
  if (list.length > limit) {
    owner[countKey] = list.length - limit;
    list.length = limit;
  }
}
function attributes(owner, limits) {
  cut(owner, 'attributes', limits.attributes, W.keys.attributes);
  if (!Array.isArray(owner.attributes)) return;
  for (const kv of owner.attributes) if (isObj(kv) && tooDeep(kv.value)) kv.value = TOO_DEEP;
}
function first(o, keys) {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
}
function prune(req, limits) {
  if (!isObj(req)) return;
  const rss = first(req, W.resourceKeys);
  if (!Array.isArray(rss)) return;
  for (const rs of rss) {
    if (!isObj(rs)) continue;
    if (isObj(rs.resource)) attributes(rs.resource, limits);
    const sss = first(rs, W.scopeKeys);
    if (!Array.isArray(sss)) continue;
    for (const ss of sss) {
      if (!isObj(ss) || !Array.isArray(ss.spans)) continue;
      for (const s of ss.spans) {
        if (!isObj(s)) continue;
        attributes(s, limits);
        cut(s, 'events', limits.events, W.keys.events);
        cut(s, 'links', limits.links, W.keys.links);
        if (Array.isArray(s.events)) for (const e of s.events) if (isObj(e)) attributes(e, limits);
        if (Array.isArray(s.links)) for (const l of s.links) if (isObj(l)) attributes(l, limits);
      }
    }
  }
}
parentPort.on('message', ({ id, parts, limits }) => {
  // Joined here, off the event loop; the body goes back with the answer, moved.
  const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  const post = (m) => parentPort.postMessage({ ...m, id, body }, body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? [body.buffer] : []);
  try {
    let text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    // Epoch nanoseconds as bare JSON numbers would be rounded: quote them first.
    if (HAS_BIG.test(text)) text = text.replace(BIG, '"$1"$2:$3"$4"');
    const value = JSON.parse(text);
    text = undefined;
    if (!isObj(value)) return post({ message: 'expected an ExportTraceServiceRequest object, found ' + (Array.isArray(value) ? 'an array' : typeof value), shape: true });
    prune(value, limits);
    post({ value });
  } catch (e) {
    post({ message: e instanceof Error ? e.message : String(e) });
  }
});
`;
