// What every export format implements: traces stream in (start-time order), the report ends it.
import type { AnalysedTrace } from '../report/trace-json.js';
import type { ThreadSource } from '../../analysis/threads/span-threads.js';
import type { AnalyzeReport, ReportTrace } from '../report/types.js';

export interface Exporter {
  /** Text to write now for this trace (streaming formats), or nothing (aggregating ones). */
  trace(a: AnalysedTrace): string | undefined;
  /** With thread data: the same trace with its path split into thread sections (after `trace`). */
  threadPath?(t: ReportTrace): void;
  /** The rest of the output, once every trace has been seen; `threads`: the event logs' models, when given. */
  end(report: AnalyzeReport, threads?: readonly ThreadSource[]): string;
}

/** A span's frame name, `service operation`, safe for folded stacks (no `;`, no newlines). */
export function frameName(service: string, operation: string): string {
  return `${service} ${operation}`.replace(/;/g, ':').replace(/[\r\n]+/g, ' ');
}

/**
 * The primary root's critical path by call path: for each section, the frames from the root down
 * to the span owning the section, and the section's length in integer ns.
 */
export function pathStacks(a: AnalysedTrace): { frames: string[]; ns: number }[] {
  const { trace, analysis } = a;
  const memo = new Map<number, string[]>();
  const stackOf = (i: number): string[] => {
    const hit = memo.get(i);
    if (hit) return hit;
    const chain: number[] = [];
    const seen = new Set<number>();
    for (let j = i; j >= 0 && !seen.has(j); j = trace.parent[j] ?? -1) {
      seen.add(j);
      chain.push(j);
    }
    const frames = chain.reverse().map((j) => {
      const s = trace.spans[j];
      return frameName(s?.resource.service ?? '', s?.name ?? '');
    });
    memo.set(i, frames);
    return frames;
  };
  return analysis.path.map((sec) => ({ frames: stackOf(sec.span), ns: Math.round(sec.end - sec.start) }));
}
