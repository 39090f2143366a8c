// The span model every importer produces and the builder consumes. Wire formats (OTLP, Jaeger,
// Zipkin) have their own shapes inside collectors/; this is the one internal shape.

/** OpenTelemetry span kinds, by name. Jaeger and Zipkin kinds map onto these. */
export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export type StatusCode = 'unset' | 'ok' | 'error';

/** An attribute value after decoding (OTLP AnyValue, Jaeger typed tag, Zipkin string tag). */
export type AttrValue =
  | string
  | number
  | boolean
  | bigint
  | readonly AttrValue[]
  | { readonly [key: string]: AttrValue };

export type Attributes = Record<string, AttrValue>;

/**
 * Where a record came from, for messages: `file:line` for line-oriented input, `file@offset`
 * for byte offsets. One object is shared by every span of the same line or message.
 */
export interface SourceRef {
  readonly file: string;
  /** 1-based line number, when the input is line-oriented. */
  readonly line?: number;
  /** 0-based byte offset into the (decompressed) input, otherwise. */
  readonly offset?: number;
}

export function formatSource(src: SourceRef): string {
  if (src.line !== undefined) return `${src.file}:${src.line}`;
  if (src.offset !== undefined) return `${src.file}@${src.offset}`;
  return src.file;
}

/**
 * The process a span ran in (an OTLP resource, a Jaeger process, a Zipkin local endpoint).
 * Importers intern these: every span of one resource shares the same object.
 */
export interface ResourceInfo {
  /** `service.name`, or `unknown_service` when absent. */
  readonly service: string;
  /** Host identity for clock-skew decisions: host.id, else host.name, else service.instance.id, else service.name. */
  readonly host: string;
  /** `process.pid` when present. */
  readonly pid?: number;
  readonly attributes: Attributes;
}

export interface SpanLinkRef {
  readonly traceId: string;
  readonly spanId: string;
}

/** One span as an importer hands it to the builder. Ids are already normalised lowercase hex. */
export interface SpanInput {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** 16 lowercase hex digits, or undefined for a root. */
  readonly parentSpanId?: string;
  /**
   * How the parent reference was made: `follows-from` only for Jaeger FOLLOWS_FROM references
   * (the child is then async to its parent, rule 4 of docs/critical-path.md).
   */
  readonly parentRef?: 'child-of' | 'follows-from';
  readonly name: string;
  readonly kind: SpanKind;
  /** Exact Unix nanoseconds. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly status: StatusCode;
  readonly statusMessage?: string;
  readonly attributes: Attributes;
  readonly resource: ResourceInfo;
  readonly links?: readonly SpanLinkRef[];
  readonly source: SourceRef;
}

export function kindFromNumber(n: number): SpanKind | undefined {
  switch (n) {
    case 0:
      return 'unspecified';
    case 1:
      return 'internal';
    case 2:
      return 'server';
    case 3:
      return 'client';
    case 4:
      return 'producer';
    case 5:
      return 'consumer';
    default:
      return undefined;
  }
}

/** Accepts OTLP enum names (`SPAN_KIND_SERVER`), short names (`server`, `SERVER`) and Jaeger/Zipkin spellings. */
export function kindFromName(s: string): SpanKind | undefined {
  const k = s.toLowerCase().replace(/^span_kind_/, '');
  switch (k) {
    case 'unspecified':
    case 'internal':
    case 'server':
    case 'client':
    case 'producer':
    case 'consumer':
      return k;
    default:
      return undefined;
  }
}

export function statusFromNumber(n: number): StatusCode | undefined {
  return n === 0 ? 'unset' : n === 1 ? 'ok' : n === 2 ? 'error' : undefined;
}

export function statusFromName(s: string): StatusCode | undefined {
  const k = s.toLowerCase().replace(/^status_code_/, '');
  return k === 'unset' || k === 'ok' || k === 'error' ? k : undefined;
}

/** Host identity per docs/critical-path.md rule 3. */
export function hostIdentity(service: string, attrs: Attributes): string {
  for (const key of ['host.id', 'host.name', 'service.instance.id']) {
    const v = attrs[key];
    if (typeof v === 'string' && v !== '') return v;
  }
  return service;
}

/** Interns resources so that identical ones share one object (and one granularity class). */
export class ResourceInterner {
  private readonly byKey = new Map<string, ResourceInfo>();
  private readonly strings = new Map<string, string>();

  /**
   * One copy of a repeating string (trace ids, span names): a million spans otherwise hold a
   * million copies, and the garbage collector copies each of them. Bounded, for names that
   * embed ids.
   */
  string(s: string): string {
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit;
    if (this.strings.size >= 200_000) this.strings.clear();
    this.strings.set(s, s);
    return s;
  }

  intern(attributes: Attributes, fallbackService = 'unknown_service'): ResourceInfo {
    const key = stableKey(attributes);
    const hit = this.byKey.get(key);
    if (hit) return hit;
    const svc = attributes['service.name'];
    const service = typeof svc === 'string' && svc !== '' ? svc : fallbackService;
    const pidRaw = attributes['process.pid'];
    const pid = typeof pidRaw === 'number' ? pidRaw : typeof pidRaw === 'bigint' ? Number(pidRaw) : typeof pidRaw === 'string' && /^\d+$/.test(pidRaw) ? Number(pidRaw) : undefined;
    const info: ResourceInfo = { service, host: hostIdentity(service, attributes), attributes, ...(pid !== undefined ? { pid } : {}) };
    this.byKey.set(key, info);
    return info;
  }
}

function stableKey(attrs: Attributes): string {
  const keys = Object.keys(attrs).sort();
  let s = '';
  for (const k of keys) s += `${k}\u0000${stringifyAttr(attrs[k])}\u0001`;
  return s;
}

export function stringifyAttr(v: AttrValue | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}
