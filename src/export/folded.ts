// Folded stacks (flamegraph.pl, speedscope, inferno...): `frame;frame;frame COUNT`, one line per
// distinct call path, sorted. COUNT is critical-path time in integer nanoseconds; frames are
// `service operation` from the primary root down to the span owning the path section.
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import { pathStacks } from '../../analysis/analysed-trace.js';
import type { Exporter } from './exporter.js';

export class FoldedExporter implements Exporter {
  private readonly totals = new Map<string, number>();

  trace(a: AnalysedTrace): undefined {
    for (const { frames, ns } of pathStacks(a)) {
      if (ns <= 0) continue;
      const key = frames.join(';');
      this.totals.set(key, (this.totals.get(key) ?? 0) + ns);
    }
    return undefined;
  }

  end(): string {
    const keys = [...this.totals.keys()].sort();
    return keys.map((k) => `${k} ${this.totals.get(k) ?? 0}\n`).join('');
  }
}
