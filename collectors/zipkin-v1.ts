// Zipkin v1 JSON spans (old deployments' exports, /api/v1/traces): the kind and times are in
// core annotations (`cs`/`cr` client send/receive, `sr`/`ss` server receive/send, `ms`/`mr`
// message send/receive), each with the endpoint that logged it; tags are `binaryAnnotations`,
// where `ca`/`sa`/`ma` (value true) name the client, server and broker addresses and `lc` the
// local component. Converted to v2 span objects the way Zipkin's own V1SpanConverter does, then
// read by zipkin.ts like any v2 span:
// - cs/cr give a CLIENT span logged by the cs (else cr) endpoint: timestamp = the span's own
//   timestamp else cs, duration = the span's own duration else cr - cs; remote endpoint = sa.
// - sr/ss give a SERVER span logged by the sr (else ss) endpoint: timestamp sr, duration ss - sr;
//   remote endpoint = ca. It is `shared` when the same v1 span has a client side too, or when
//   the span has no timestamp of its own (in v1 only the span's creator sets it: a server that
//   did not set it joined its client's span).
// - ms gives a PRODUCER span, mr a CONSUMER span (remote endpoint ma), likewise.
// - A span without core annotations is a local span: local endpoint from `lc` (else the first
//   annotated endpoint), the span's own timestamp and duration.
// - A binary annotation goes, as a string tag, to the span whose local endpoint logged it
//   (matched by service name), else to the first span.
import { asArray, asString, isObject, type JsonObject } from '../src/model/json-value.js';

/** A v1 span: it has binaryAnnotations, or annotations with endpoints, and none of v2's kind / localEndpoint. */
export function isV1Span(s: JsonObject): boolean {
  if (s['kind'] !== undefined || s['localEndpoint'] !== undefined || s['remoteEndpoint'] !== undefined) return false;
  if (Array.isArray(s['binaryAnnotations'])) return true;
  const anns = asArray(s['annotations']);
  return anns !== undefined && anns.some((a) => isObject(a) && isObject(a['endpoint']));
}

interface Annotation {
  readonly timestamp: unknown;
  readonly value: string;
  readonly endpoint: JsonObject | undefined;
}

const CORE = new Set(['cs', 'cr', 'sr', 'ss', 'ms', 'mr', 'ws', 'wr']);

function annotations(s: JsonObject): Annotation[] {
  const out: Annotation[] = [];
  for (const a of asArray(s['annotations']) ?? []) {
    if (!isObject(a)) continue;
    const value = asString(a['value']);
    if (value === undefined) continue;
    out.push({ timestamp: a['timestamp'], value, endpoint: isObject(a['endpoint']) ? a['endpoint'] : undefined });
  }
  return out;
}

/** Microseconds as a number (v1 writes numbers; strings of digits are accepted). */
function micros(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d{1,17}$/.test(v)) return Number(v);
  return undefined;
}

function sameService(a: JsonObject | undefined, b: JsonObject | undefined): boolean {
  return a !== undefined && b !== undefined && asString(a['serviceName']) === asString(b['serviceName']);
}

/** The v2 span objects one v1 span stands for (one, or two for a client + server span). */
export function v1ToV2(s: JsonObject): JsonObject[] {
  const anns = annotations(s);
  const first = (v: string): Annotation | undefined => anns.find((a) => a.value === v);
  const cs = first('cs');
  const cr = first('cr');
  const sr = first('sr');
  const ss = first('ss');
  const ms = first('ms');
  const mr = first('mr');
  const addr: Record<string, JsonObject> = {};
  const tags: { key: string; value: string; endpoint: JsonObject | undefined }[] = [];
  let lc: JsonObject | undefined;
  for (const b of asArray(s['binaryAnnotations']) ?? []) {
    if (!isObject(b)) continue;
    const key = asString(b['key']);
    if (key === undefined) continue;
    const endpoint = isObject(b['endpoint']) ? b['endpoint'] : undefined;
    const v = b['value'];
    if ((key === 'ca' || key === 'sa' || key === 'ma') && endpoint !== undefined && (v === true || v === 1 || v === '1' || v === 'true')) {
      addr[key] = endpoint;
      continue;
    }
    if (key === 'lc') lc ??= endpoint;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') tags.push({ key, value: String(v), endpoint });
  }
  const ownTs = micros(s['timestamp']);
  const ownDur = micros(s['duration']);
  const base = (): Record<string, unknown> => {
    const o: Record<string, unknown> = { traceId: s['traceId'], id: s['id'] };
    if (s['parentId'] !== undefined && s['parentId'] !== null) o['parentId'] = s['parentId'];
    if (typeof s['name'] === 'string') o['name'] = s['name'];
    return o;
  };
  const side = (kind: string, start: Annotation | undefined, end: Annotation | undefined, remote: JsonObject | undefined, owner: boolean): Record<string, unknown> => {
    const o = base();
    o['kind'] = kind;
    const local = start?.endpoint ?? end?.endpoint;
    if (local !== undefined) o['localEndpoint'] = local;
    if (remote !== undefined) o['remoteEndpoint'] = remote;
    const t0 = micros(start?.timestamp);
    const t1 = micros(end?.timestamp);
    const ts = owner && ownTs !== undefined ? ownTs : t0;
    const dur = owner && ownDur !== undefined ? ownDur : t0 !== undefined && t1 !== undefined ? t1 - t0 : undefined;
    if (ts !== undefined) o['timestamp'] = ts;
    if (dur !== undefined) o['duration'] = dur;
    // The core annotations travel along: a side reported in two pieces (cs, then cr) gets its
    // times from them once the pieces are merged (coreTimes).
    const core = [start, end].flatMap((a) => (a !== undefined && micros(a.timestamp) !== undefined ? [{ timestamp: a.timestamp, value: a.value }] : []));
    if (core.length > 0) o['annotations'] = core;
    return o;
  };
  const out: Record<string, unknown>[] = [];
  const client = cs !== undefined || cr !== undefined;
  const server = sr !== undefined || ss !== undefined;
  if (client) out.push(side('CLIENT', cs, cr, addr['sa'], true));
  if (server) {
    const o = side('SERVER', sr, ss, addr['ca'], !client && ownTs !== undefined);
    if (client || ownTs === undefined) o['shared'] = true;
    out.push(o);
  }
  if (ms !== undefined) out.push(side('PRODUCER', ms, undefined, addr['ma'], !client && !server));
  if (mr !== undefined) out.push(side('CONSUMER', mr, undefined, addr['ma'], !client && !server && ms === undefined));
  if (out.length === 0) {
    const o = base();
    const local = lc ?? anns.find((a) => !CORE.has(a.value) && a.endpoint !== undefined)?.endpoint ?? tags.find((t) => t.endpoint !== undefined)?.endpoint;
    if (local !== undefined) o['localEndpoint'] = local;
    if (ownTs !== undefined) o['timestamp'] = ownTs;
    if (ownDur !== undefined) o['duration'] = ownDur;
    out.push(o);
  }
  for (const t of tags) {
    const target = out.find((o) => sameService(isObject(o['localEndpoint']) ? o['localEndpoint'] : undefined, t.endpoint)) ?? out[0];
    if (target === undefined) continue;
    const have = isObject(target['tags']) ? target['tags'] : {};
    if (have[t.key] === undefined) target['tags'] = { ...have, [t.key]: t.value };
  }
  return out;
}

/** `v1 span with cs, cr, sr, ss -> CLIENT + shared SERVER`, for the diagnostic's example. */
export function describeV1(s: JsonObject, pieces: readonly JsonObject[]): string {
  const core = annotations(s)
    .map((a) => a.value)
    .filter((v) => CORE.has(v));
  const kinds = pieces.map((p) => `${p['shared'] === true ? 'shared ' : ''}${asString(p['kind']) ?? 'local'}`);
  return `v1 span${core.length > 0 ? ` with ${core.join(', ')}` : ' without core annotations'} -> ${kinds.join(' + ')}`;
}

const CORE_PAIRS: Record<string, readonly [string, string]> = { CLIENT: ['cs', 'cr'], SERVER: ['sr', 'ss'] };

/**
 * Timestamp and duration from a merged span's core annotations, where the span has none of its
 * own: a v1 side reported in pieces (cs in one, cr in the other) only has both once merged.
 */
export function coreTimes(s: JsonObject): { timestamp?: number; duration?: number } {
  const pair = CORE_PAIRS[asString(s['kind']) ?? ''];
  if (pair === undefined) return {};
  const anns = asArray(s['annotations']) ?? [];
  const find = (v: string): number | undefined => {
    for (const a of anns) if (isObject(a) && a['value'] === v) return micros(a['timestamp']);
    return undefined;
  };
  const t0 = find(pair[0]);
  const t1 = find(pair[1]);
  return { ...(t0 !== undefined ? { timestamp: t0 } : {}), ...(t0 !== undefined && t1 !== undefined ? { duration: t1 - t0 } : {}) };
}
