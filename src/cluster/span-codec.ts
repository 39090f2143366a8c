// Spans as JetStream messages: what a receiver publishes and an analyser consumes. JSON text,
// because V8's JSON.parse is the fastest decoder at hand and the attributes are already stored
// as JSON (the stores' encodeAttributes, spliced in as they are, not quoted again):
//
//   {"v":1,"r":[<resource attributes>...],"s":[[traceId, spanId, parentId or "", parentRef
//    (0 child-of, 1 follows-from), name, kind (KINDS index), start, end (decimal ns strings),
//    status (STATUSES index), statusMessage or null, resource index, attributes or null,
//    links ([[traceId, spanId]...]) or null], ...]}
//
// A message stays under the stream's largest message (NATS' max_payload, 1 MiB by default):
// a request's spans for one partition are cut into as many messages as needed.
import type { AttrValue, Attributes, ResourceInfo, ResourceInterner, SpanInput, SpanLinkRef } from '../model/span.js';
import { KINDS, STATUSES, encodeAttributes } from '../store/span-store.js';

export const CODEC_VERSION = 1;

/** The spans as messages of at most `maxBytes` (a single span larger than that is a message alone). */
export function encodeSpanMessages(spans: readonly SpanInput[], maxBytes: number): Buffer[] {
  const out: Buffer[] = [];
  let resources = new Map<ResourceInfo, number>();
  let resourceText: string[] = [];
  let rows: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (rows.length === 0) return;
    out.push(Buffer.from(`{"v":${CODEC_VERSION},"r":[${resourceText.join(',')}],"s":[${rows.join(',')}]}`));
    resources = new Map();
    resourceText = [];
    rows = [];
    size = 0;
  };
  for (const s of spans) {
    let r = resources.get(s.resource);
    let rText = '';
    if (r === undefined) rText = encodeAttributes(s.resource.attributes) ?? '{}';
    const attrs = encodeAttributes(s.attributes);
    const links = s.links && s.links.length > 0 ? JSON.stringify(s.links.map((l) => [l.traceId, l.spanId])) : 'null';
    const rowOf = (ri: number): string =>
      `["${s.traceId}","${s.spanId}","${s.parentSpanId ?? ''}",${s.parentRef === 'follows-from' ? 1 : 0},${JSON.stringify(s.name)},${KINDS.indexOf(s.kind)},"${s.startNs}","${s.endNs}",${STATUSES.indexOf(s.status)},${s.statusMessage !== undefined ? JSON.stringify(s.statusMessage) : 'null'},${ri},${attrs ?? 'null'},${links}]`;
    let row = rowOf(r ?? resourceText.length);
    if (size > 0 && size + row.length + rText.length + 2 > maxBytes) {
      flush();
      r = undefined;
      rText = encodeAttributes(s.resource.attributes) ?? '{}';
      row = rowOf(0);
    }
    if (r === undefined) {
      resources.set(s.resource, resourceText.length);
      resourceText.push(rText);
      size += rText.length + 1;
    }
    rows.push(row);
    size += row.length + 1;
  }
  flush();
  return out;
}

/** The spans of one message, or why it is not one (`source` names it in spans and messages). */
export function decodeSpanMessage(data: Uint8Array, resources: ResourceInterner, source: string): { ok: true; spans: SpanInput[] } | { ok: false; message: string } {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (e) {
    return { ok: false, message: `${source}: not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (typeof v !== 'object' || v === null || !('v' in v) || v.v !== CODEC_VERSION || !('r' in v) || !Array.isArray(v.r) || !('s' in v) || !Array.isArray(v.s)) {
    return { ok: false, message: `${source}: not a cpath span message of version ${CODEC_VERSION}` };
  }
  const res: ResourceInfo[] = [];
  for (const r of v.r as unknown[]) {
    if (!isAttributes(r)) return { ok: false, message: `${source}: resource ${res.length} is not an attribute object` };
    res.push(resources.intern(r));
  }
  const src = { file: source };
  const spans: SpanInput[] = [];
  for (const row of v.s as unknown[]) {
    const s = toSpan(row, res, resources, src);
    if (s === undefined) return { ok: false, message: `${source}: span ${spans.length} is malformed` };
    spans.push(s);
  }
  return { ok: true, spans };
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const NS = /^-?[0-9]{1,19}$/;

function toSpan(row: unknown, res: readonly ResourceInfo[], resources: ResourceInterner, source: { file: string }): SpanInput | undefined {
  if (!Array.isArray(row) || row.length !== 13) return undefined;
  const [traceId, spanId, parent, ref, name, kind, start, end, status, statusMessage, ri, attrs, links] = row as unknown[];
  if (typeof traceId !== 'string' || !HEX32.test(traceId) || typeof spanId !== 'string' || !HEX16.test(spanId)) return undefined;
  if (typeof parent !== 'string' || (parent !== '' && !HEX16.test(parent))) return undefined;
  if (typeof name !== 'string' || typeof start !== 'string' || !NS.test(start) || typeof end !== 'string' || !NS.test(end)) return undefined;
  const k = typeof kind === 'number' ? KINDS[kind] : undefined;
  const st = typeof status === 'number' ? STATUSES[status] : undefined;
  const resource = typeof ri === 'number' ? res[ri] : undefined;
  if (k === undefined || st === undefined || resource === undefined) return undefined;
  if (statusMessage !== null && typeof statusMessage !== 'string') return undefined;
  if (attrs !== null && !isAttributes(attrs)) return undefined;
  const linkRefs = links === null ? undefined : toLinks(links);
  if (links !== null && linkRefs === undefined) return undefined;
  return {
    traceId: resources.string(traceId),
    spanId,
    ...(parent !== '' ? { parentSpanId: parent } : {}),
    ...(ref === 1 ? { parentRef: 'follows-from' as const } : {}),
    name: resources.string(name),
    kind: k,
    startNs: BigInt(start),
    endNs: BigInt(end),
    status: st,
    ...(typeof statusMessage === 'string' ? { statusMessage } : {}),
    attributes: attrs ?? {},
    resource,
    ...(linkRefs && linkRefs.length > 0 ? { links: linkRefs } : {}),
    source,
  };
}

function toLinks(v: unknown): SpanLinkRef[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: SpanLinkRef[] = [];
  for (const l of v as unknown[]) {
    if (!Array.isArray(l) || typeof l[0] !== 'string' || typeof l[1] !== 'string') return undefined;
    out.push({ traceId: l[0], spanId: l[1] });
  }
  return out;
}

/** An attribute object as encodeAttributes writes it: JSON values only (no bigint survives JSON). */
function isAttributes(v: unknown): v is Attributes {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isAttrValue);
}

function isAttrValue(v: unknown): v is AttrValue {
  // Nesting is bounded by the receivers' decoders (MAX_ATTRIBUTE_DEPTH): walk with a stack anyway.
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') continue;
    if (typeof x !== 'object' || x === null) return false;
    for (const y of Array.isArray(x) ? (x as unknown[]) : Object.values(x)) stack.push(y);
  }
  return true;
}
