// Trace and span id checks shared by the text-id formats (Jaeger, Zipkin): a span with an empty,
// all-zero or absurdly long id is counted with the concrete value and skipped; ids that are not
// hex (`trace-123`, `span-A` in Jaeger UI's fixtures) are mapped to stable hex ids and counted
// once per span as id_opaque.
import { describeIdProblem, normalizeTextId, type TextIdResult } from '../src/model/ids.js';
import { showValue as show } from '../src/model/json-value.js';
import type { ImportContext } from './format.js';

export function readSpanIds(
  rawTraceId: string,
  rawSpanId: string,
  names: { readonly trace: string; readonly span: string },
  where: () => string,
  ctx: ImportContext,
): { traceId: string; spanId: string } | undefined {
  // Old Jaeger and Zipkin clients wrote short ids: left-pad them (docs/critical-path.md rule 5).
  const tid = normalizeTextId(rawTraceId, 16);
  if (!tid.ok) {
    ctx.diag.add('id_invalid', () => `${where()}: ${names.trace} ${show(rawTraceId)} ${describeIdProblem(tid.problem)}`);
    return undefined;
  }
  const sid = normalizeTextId(rawSpanId, 8);
  if (!sid.ok) {
    ctx.diag.add('id_invalid', () => `${where()}: ${names.span} ${show(rawSpanId)} ${describeIdProblem(sid.problem)}`);
    return undefined;
  }
  if (tid.opaque || sid.opaque) {
    const mapped = [tid.opaque ? `${names.trace} ${show(rawTraceId)} -> ${tid.id}` : '', sid.opaque ? `${names.span} ${show(rawSpanId)} -> ${sid.id}` : ''].filter((x) => x !== '').join(', ');
    ctx.diag.add('id_opaque', () => `${where()}: ${mapped}`);
  }
  return { traceId: tid.id, spanId: sid.id };
}

/** A reference (parent) id of a text-id format, mapped exactly as readSpanIds maps span ids. */
export function readRefId(raw: string, bytes: 8 | 16): TextIdResult {
  return normalizeTextId(raw, bytes);
}
