// What every export format implements: traces stream in (start-time order), the report ends it.
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
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
