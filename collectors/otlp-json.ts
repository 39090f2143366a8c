// OTLP/JSON: an ExportTraceServiceRequest / TracesData object, an array of them, JSON Lines of
// them (the Collector's file exporter), or Tempo's {"batches": [...]}.
import { asArray, isObject, type JsonObject } from '../src/model/json-value.js';
import type { JsonFormat, PathKey } from './format.js';
import { convertOtlp, isResourceSpansKey, isScopeSpansKey } from './otlp-convert.js';

// 64-bit integers written as JSON numbers lose precision in JSON.parse (epoch nanoseconds
// exceed 2^53), so quote every 16+ digit integer value of the 64-bit fields before parsing.
export const BIG_INT_FIELD = /"(startTimeUnixNano|endTimeUnixNano|timeUnixNano|start_time_unix_nano|end_time_unix_nano|time_unix_nano|intValue|int_value)"(\s*):(\s*)(-?\d{16,})/g;
export const HAS_BIG_INT = /(?:Nano|nano|[vV]alue)"\s*:\s*-?\d{16}/;

export const otlpJson: JsonFormat = {
  name: 'otlp-json',
  handleValue(value, src, ctx) {
    if (hasRoundedTimes(value)) return 'reparse';
    convertOtlp(value, src, ctx);
    return undefined;
  },
  // Walk into [i] / resourceSpans / [j] / scopeSpans / [k] / spans so that one huge resource
  // never has to be one string; flush each ResourceSpans (its resource and scope are inside).
  descend(p) {
    const q = stripRootIndex(p);
    if (q.length === 0) return true;
    if (!isResourceSpansKey(q[0])) return false;
    if (q.length <= 2) return true;
    if (!isScopeSpansKey(q[2])) return false;
    if (q.length <= 4) return true;
    return q.length === 5 && q[4] === 'spans';
  },
  flush(p) {
    const q = stripRootIndex(p);
    return q.length === 2 && isResourceSpansKey(q[0]) && typeof q[1] === 'number';
  },
  preprocessOnRequest: true,
  preprocess(text) {
    return HAS_BIG_INT.test(text) ? text.replace(BIG_INT_FIELD, '"$1"$2:$3"$4"') : text;
  },
};

/**
 * True when a span time is a JSON number beyond 2^53, i.e. JSON.parse rounded it. Checking the
 * parsed value costs two typeof tests per span; a regex over every line cost more than that.
 */
function hasRoundedTimes(value: unknown): boolean {
  // Nested arrays are walked with a stack of our own: a hostile input may nest them 10^5 deep.
  const stack: unknown[] = [value];
  for (let v = stack.pop(); stack.length > 0 || v !== undefined; v = stack.pop()) {
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    if (isObject(v) && requestHasRoundedTimes(v)) return true;
  }
  return false;
}

function requestHasRoundedTimes(v: JsonObject): boolean {
  for (const k of ['resourceSpans', 'resource_spans', 'batches']) {
    for (const rs of asArray(v[k]) ?? []) {
      if (!isObject(rs)) continue;
      for (const sk of ['scopeSpans', 'scope_spans', 'instrumentationLibrarySpans', 'instrumentation_library_spans']) {
        for (const ss of asArray(rs[sk]) ?? []) {
          if (!isObject(ss)) continue;
          for (const sp of asArray(ss['spans']) ?? []) {
            if (!isObject(sp)) continue;
            for (const t of [sp['startTimeUnixNano'], sp['endTimeUnixNano'], sp['start_time_unix_nano'], sp['end_time_unix_nano']]) {
              if (typeof t === 'number' && !Number.isSafeInteger(t)) return true;
            }
          }
        }
      }
    }
  }
  return false;
}

/** A top-level array of requests puts an index in front of every path. */
function stripRootIndex(p: readonly PathKey[]): readonly PathKey[] {
  return typeof p[0] === 'number' ? p.slice(1) : p;
}
