// Streams the JSON report: traces are written as they are analysed, so a report of 10k traces
// is never one string in memory. Key order: version, generator, traces, then input,
// diagnostics and endpoints (known only once every trace is done).
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import { TraceJsonWriter } from './trace-json.js';
import type { AnalyzeReport, ReportTrace } from './types.js';

/** Where the bytes go; write returns false when the caller should wait for `drained()`. */
export interface ByteSink {
  write(data: Uint8Array): boolean;
  drained(): Promise<void>;
}

const CHUNK = 1 << 20;

export class JsonReportWriter {
  private buf = Buffer.allocUnsafe(CHUNK);
  private off = 0;
  private count = 0;
  private blocked = false;
  private readonly traces = new TraceJsonWriter();

  constructor(
    private readonly out: ByteSink,
    generator: string,
  ) {
    this.put(`{"version":1,"generator":${JSON.stringify(generator)},"traces":[`);
  }

  /** Adds one trace (streamed from the analysis, or a finished entry); resolves when the sink can take more. */
  async trace(t: AnalysedTrace | ReportTrace): Promise<void> {
    this.put(this.count++ === 0 ? '\n' : ',\n');
    if ('analysis' in t) for (const _ of this.traces.write(t, this.put)) await this.wait();
    else this.put(JSON.stringify(t));
    await this.wait();
  }

  /** Writes the rest of the report (its `traces` are ignored: they were streamed). */
  async end(report: AnalyzeReport): Promise<void> {
    const { input, diagnostics, endpoints } = report;
    this.put(`\n],\n"input":${JSON.stringify(input)},\n"diagnostics":${JSON.stringify(diagnostics)},\n"endpoints":${JSON.stringify(endpoints)}}\n`);
    this.flush();
    await this.wait();
  }

  /**
   * Encodes text straight into a fixed buffer: writing small flat strings avoids building (and
   * then flattening and re-encoding) big concatenated ones.
   */
  private readonly put = (text: string): void => {
    if (text.length * 3 > CHUNK - this.off) {
      this.flush();
      if (text.length * 3 > CHUNK) {
        if (!this.out.write(Buffer.from(text))) this.blocked = true;
        return;
      }
    }
    this.off += this.buf.write(text, this.off);
  };

  private flush(): void {
    if (this.off === 0) return;
    const full = this.buf.subarray(0, this.off);
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.off = 0;
    if (!this.out.write(full)) this.blocked = true;
  }

  private async wait(): Promise<void> {
    if (!this.blocked) return;
    this.blocked = false;
    await this.out.drained();
  }
}
