// Trace and span id checks shared by the text-id formats (Jaeger, Zipkin): a span with a bad
// id is counted with the concrete value and skipped.
import { describeIdProblem, normalizeId } from '../src/model/ids.js';
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
  const tid = normalizeId(rawTraceId, 16, true);
  if (!tid.ok) {
    ctx.diag.add('id_invalid', () => `${where()}: ${names.trace} ${show(rawTraceId)} ${describeIdProblem(tid.problem)}`);
    return undefined;
  }
  const sid = normalizeId(rawSpanId, 8, true);
  if (!sid.ok) {
    ctx.diag.add('id_invalid', () => `${where()}: ${names.span} ${show(rawSpanId)} ${describeIdProblem(sid.problem)}`);
    return undefined;
  }
  return { traceId: tid.id, spanId: sid.id };
}
