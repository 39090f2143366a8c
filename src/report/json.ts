// Streams the JSON report: traces are written as they are analysed, so a report of 10k traces
// is never one string in memory. Key order: version, generator, traces, then input,
// diagnostics and endpoints (known only once every trace is done).
import { TraceJsonWriter, type AnalysedTrace } from './trace-json.js';
import type { AnalyzeReport } from './types.js';

/** Where the text goes; returns false when the caller should wait for `drained()`. */
export interface TextSink {
  write(text: string): boolean;
  drained(): Promise<void>;
}

const FLUSH_AT = 1 << 20;

export class JsonReportWriter {
  private buf = '';
  private count = 0;
  private readonly traces = new TraceJsonWriter();

  constructor(
    private readonly out: TextSink,
    generator: string,
  ) {
    this.buf = `{"version":1,"generator":${JSON.stringify(generator)},"traces":[`;
  }

  /** Adds one trace; resolves when the sink can take more. */
  async trace(t: AnalysedTrace): Promise<void> {
    this.buf += this.count++ === 0 ? '\n' : ',\n';
    for (const piece of this.traces.chunks(t)) {
      this.buf += piece;
      if (this.buf.length >= FLUSH_AT) await this.flush();
    }
  }

  /** Writes the rest of the report (its `traces` are ignored: they were streamed). */
  async end(report: AnalyzeReport): Promise<void> {
    const { input, diagnostics, endpoints } = report;
    this.buf += `\n],\n"input":${JSON.stringify(input)},\n"diagnostics":${JSON.stringify(diagnostics)},\n"endpoints":${JSON.stringify(endpoints)}}\n`;
    await this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.buf;
    this.buf = '';
    if (!this.out.write(text)) await this.out.drained();
  }
}
