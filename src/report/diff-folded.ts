// Differential folded stacks, as Brendan Gregg's difffolded.pl writes them and flamegraph.pl
// reads them: `frame;frame;frame BASE NEW`, one sorted line per call path. The counts are mean
// critical-path ns per trace of the path's endpoint on each side (integers), so that runs with
// different trace counts compare directly (no `difffolded.pl -n` needed).
import type { DiffStack } from '../../analysis/diff.js';

export function renderDiffFolded(stacks: readonly DiffStack[]): string {
  let out = '';
  for (const s of stacks) out += `${s.frames.join(';')} ${s.base} ${s.new}\n`;
  return out;
}
