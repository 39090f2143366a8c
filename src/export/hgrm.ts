// HdrHistogram percentile distributions (.hgrm, as HdrHistogram's outputPercentileDistribution
// writes them) of each endpoint's trace latency (primary root duration), values in nanoseconds.
// One endpoint (`--endpoint`, or an input with only one) gives a plain .hgrm; several are
// written one after the other, each preceded by a `# endpoint: SERVICE OPERATION` line.
import * as hdr from 'hdr-histogram-js';
import type { AnalyzeReport } from '../report/types.js';
import type { Exporter } from './exporter.js';

export class HgrmExporter implements Exporter {
  trace(): undefined {
    return undefined;
  }

  end(report: AnalyzeReport): string {
    const parts = report.endpoints.map((e) => {
      const h = hdr.decodeFromCompressedBase64(e.latencyHistogram, 64, false);
      const text = h.outputPercentileDistribution(5, 1);
      h.destroy();
      return report.endpoints.length > 1 ? `# endpoint: ${e.service} ${e.operation}\n${text}` : text;
    });
    return parts.join('\n');
  }
}
