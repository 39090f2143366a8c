// speedscope's file format (https://www.speedscope.app/file-format-schema.json): one `sampled`
// profile per endpoint, each sample a critical-path call path (root first) weighted by its
// critical-path time in nanoseconds; frames shared between profiles.
import type { AnalysedTrace } from '../../analysis/analysed-trace.js';
import { VERSION } from '../version.js';
import { pathStacks } from '../../analysis/analysed-trace.js';
import type { Exporter } from './exporter.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export interface SpeedscopeFile {
  $schema: string;
  shared: { frames: { name: string }[] };
  profiles: { type: 'sampled'; name: string; unit: 'nanoseconds'; startValue: number; endValue: number; samples: number[][]; weights: number[] }[];
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export class SpeedscopeExporter implements Exporter {
  private readonly frames = new Map<string, number>();
  /** Endpoint -> call path (frame indexes joined by `,`) -> ns. */
  private readonly byEndpoint = new Map<string, Map<string, number>>();

  trace(a: AnalysedTrace): undefined {
    const name = `${a.endpoint.service} ${a.endpoint.operation}`;
    let stacks = this.byEndpoint.get(name);
    if (!stacks) {
      stacks = new Map();
      this.byEndpoint.set(name, stacks);
    }
    for (const { frames, ns } of pathStacks(a)) {
      if (ns <= 0) continue;
      const key = frames.map((f) => this.frame(f)).join(',');
      stacks.set(key, (stacks.get(key) ?? 0) + ns);
    }
    return undefined;
  }

  end(): string {
    const profiles: SpeedscopeFile['profiles'] = [];
    for (const [name, stacks] of this.byEndpoint) {
      const keys = [...stacks.keys()].sort();
      const weights = keys.map((k) => stacks.get(k) ?? 0);
      profiles.push({
        type: 'sampled',
        name,
        unit: 'nanoseconds',
        startValue: 0,
        endValue: weights.reduce((n, w) => n + w, 0),
        samples: keys.map((k) => k.split(',').map(Number)),
        weights,
      });
    }
    const file: SpeedscopeFile = {
      $schema: SPEEDSCOPE_SCHEMA,
      shared: { frames: [...this.frames.keys()].map((name) => ({ name })) },
      profiles,
      name: 'cpath critical paths',
      activeProfileIndex: 0,
      exporter: `cpath@${VERSION}`,
    };
    return `${JSON.stringify(file)}\n`;
  }

  private frame(name: string): number {
    let i = this.frames.get(name);
    if (i === undefined) {
      i = this.frames.size;
      this.frames.set(name, i);
    }
    return i;
  }
}
