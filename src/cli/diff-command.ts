// `cpath diff`: what changed between two runs, on the critical path. The library side is
// src/pipeline/diff.ts (analysis/diff.ts computes). Exit status: 0 done; 3 --fail-on-regression found a
// regression; 1 an input could not be used; 2 usage error.
import { Command, Option } from 'commander';
import { INPUT_FORMATS, type InputFormat } from '../../collectors/index.js';
import { regressions, type RegressionThreshold } from '../../analysis/diff.js';
import { diffInputs, type DiffSources } from '../pipeline/diff.js';
import { renderDiffFolded } from '../report/diff-folded.js';
import { renderDiffText } from '../report/diff-text.js';
import { diffFlame } from '../report/page-data.js';
import { renderPage } from '../report/html.js';
import { frameName } from '../../analysis/analysed-trace.js';
import { formatDuration } from '../model/time.js';
import { ExitStatus, UsageError, durationOpt, timeOpt } from './options.js';
import { openOutput } from './output.js';

interface DiffFlags {
  store?: string;
  storeBase?: string;
  storeNew?: string;
  splitAt?: string;
  since?: string;
  until?: string;
  format: 'text' | 'json' | 'folded' | 'html';
  output?: string;
  failOnRegression?: string;
  inputFormat?: InputFormat;
  skewAdjust: boolean;
  overlapTolerance?: string;
}

/** Exit status when --fail-on-regression finds a regression. */
export const EXIT_REGRESSION = 3;

export function addDiffCommand(program: Command): void {
  program
    .command('diff')
    .description('Compare two runs (files, stores, or two time windows of one input): latency shift with a Mann-Whitney U test, critical-path changes, structure changes, per endpoint.')
    .argument('[input...]', 'BASE NEW trace files (as for analyze; - reads stdin), or one input with --split-at')
    .option('--store-base <dir|url>', 'read the base side from this `cpath serve` store (a directory, or a cluster\'s postgres:// URL) (then give only NEW, or also --store-new)')
    .option('--store-new <dir|url>', 'read the new side from this `cpath serve` store (a directory, or a cluster\'s postgres:// URL) (then give only BASE, or also --store-base)')
    .option('--store <dir|url>', 'with --split-at: split this store in time')
    .option('--split-at <time>', 'one input: base = traces starting before TIME, new = at or after (RFC 3339 or a duration back from now)')
    .option('--since <time>', 'both sides: only traces starting at or after (RFC 3339 or a duration back from now)')
    .option('--until <time>', 'both sides: only traces starting before')
    .addOption(new Option('--format <format>', 'output format: text, json, folded (differential folded stacks for difffolded/flamegraph.pl) or html (one page with the differential flame graph)').choices(['text', 'json', 'folded', 'html']).default('text'))
    .option('-o, --output <file>', 'write the result to a file instead of stdout')
    .option('--fail-on-regression <threshold>', `exit ${EXIT_REGRESSION} when an endpoint's median got significantly slower by more than this: a percentage of the base median (5%) or a duration (5ms)`)
    .addOption(new Option('--input-format <format>', 'skip detection and read every input as this format').choices([...INPUT_FORMATS]))
    .option('--no-skew-adjust', 'do not shift cross-host server spans into their client spans')
    .option('--overlap-tolerance <duration>', 'ε for every span instead of the detected start-time granularity (0 for the strict rule)')
    .action(async (inputs: string[], flags: DiffFlags) => {
      const status = await runDiff(inputs, flags);
      // A regression is a result, not an error: the output is written and closed by now.
      if (status !== 0) throw new ExitStatus(status);
    });
}

/** `5%` / `2.5%` or a duration (`5ms`). */
export function regressionOpt(v: string): RegressionThreshold {
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(v.trim());
  if (m) return { kind: 'relative', fraction: Number(m[1]) / 100 };
  if (/^\d/.test(v.trim())) {
    try {
      return { kind: 'absolute', ns: durationOpt('--fail-on-regression', v.trim()) };
    } catch {
      // fall through to the message naming both forms
    }
  }
  throw new UsageError(`--fail-on-regression: "${v}" is neither a percentage of the base median (5%) nor a duration (5ms)`);
}

/** Returns the exit status: 0, or EXIT_REGRESSION. */
export async function runDiff(inputs: string[], f: DiffFlags): Promise<number> {
  const threshold = f.failOnRegression !== undefined ? regressionOpt(f.failOnRegression) : undefined;
  const overlap = f.overlapTolerance !== undefined ? durationOpt('--overlap-tolerance', f.overlapTolerance) : undefined;
  const sinceNs = f.since !== undefined ? timeOpt('--since', f.since) : undefined;
  const untilNs = f.until !== undefined ? timeOpt('--until', f.until) : undefined;
  if (sinceNs !== undefined && untilNs !== undefined && untilNs <= sinceNs) throw new UsageError(`--until (${f.until}) must be after --since (${f.since})`);
  if (inputs.filter((i) => i === '-').length > 1) throw new UsageError('stdin (-) can be given only once');
  const sources = diffSources(inputs, f);

  const out = await openOutput(f.output);
  try {
    const result = await diffInputs({
      sources,
      ...(f.inputFormat ? { inputFormat: f.inputFormat } : {}),
      skewAdjust: f.skewAdjust,
      ...(overlap !== undefined ? { overlapToleranceNs: overlap } : {}),
      ...(sinceNs !== undefined ? { sinceNs } : {}),
      ...(untilNs !== undefined ? { untilNs } : {}),
    });
    switch (f.format) {
      case 'json':
        out.writeText(`${JSON.stringify(result.report, null, 2)}\n`);
        break;
      case 'folded':
        out.writeText(renderDiffFolded(result.stacks));
        break;
      case 'text':
        out.writeText(renderDiffText(result.report));
        break;
      case 'html': {
        const flames = result.report.endpoints.map((e) => diffFlame(result.stacks, frameName(e.service, e.operation)));
        out.writeText(renderPage({ mode: 'diff', diff: result.report, flames }, `cpath diff: ${[...result.report.input.base.files, ...result.report.input.new.files].join(' vs ')}`));
        break;
      }
    }
    await out.close();
    if (!threshold) return 0;
    const bad = regressions(result.model, threshold);
    if (bad.length === 0) return 0;
    const limit = threshold.kind === 'relative' ? `${+(threshold.fraction * 100).toFixed(6)}% of the base median` : formatDuration(threshold.ns);
    for (const e of bad) {
      process.stderr.write(`cpath: regression: ${e.service} ${e.operation} median ${formatDuration(e.base.latencyNs.p50)} -> ${formatDuration(e.new.latencyNs.p50)} (p = ${e.test.pValue.toPrecision(2)}), more than ${limit} slower\n`);
    }
    return EXIT_REGRESSION;
  } catch (e) {
    await out.abandon();
    throw e;
  }
}

/** Which inputs make which side; every ambiguous combination is a usage error. */
function diffSources(inputs: readonly string[], f: DiffFlags): DiffSources {
  if (f.splitAt !== undefined) {
    const atNs = timeOpt('--split-at', f.splitAt);
    if (f.storeBase !== undefined || f.storeNew !== undefined) throw new UsageError('--split-at splits one input: use --store DIR (not --store-base/--store-new) or one file');
    if (inputs.length + (f.store !== undefined ? 1 : 0) !== 1) throw new UsageError(`--split-at takes exactly one input (a file, - or --store DIR); got ${describe(inputs, f.store)}`);
    const file = inputs[0];
    return { kind: 'split', atNs, source: file !== undefined ? { files: [file] } : { files: [], ...(f.store !== undefined ? { store: f.store } : {}) } };
  }
  if (f.store !== undefined) throw new UsageError('--store is for --split-at; to compare two stores use --store-base DIR --store-new DIR');
  const wanted = (f.storeBase === undefined ? 1 : 0) + (f.storeNew === undefined ? 1 : 0);
  if (inputs.length !== wanted) {
    const form = wanted === 2 ? 'BASE NEW (two inputs)' : wanted === 1 ? (f.storeBase !== undefined ? 'only NEW (the base is --store-base)' : 'only BASE (the new side is --store-new)') : 'no file (both sides are stores)';
    throw new UsageError(`diff: expected ${form}; got ${describe(inputs, undefined)}. One input split in time: --split-at TIME`);
  }
  let i = 0;
  const side = (store: string | undefined): { files: string[]; store?: string } => (store !== undefined ? { files: [], store } : { files: [inputs[i++] ?? ''] });
  const base = side(f.storeBase);
  const next = side(f.storeNew);
  return { kind: 'two', base, new: next };
}

function describe(inputs: readonly string[], store: string | undefined): string {
  const all = [...inputs.map((x) => `"${x}"`), ...(store !== undefined ? [`--store ${store}`] : [])];
  return all.length === 0 ? 'none' : `${all.length}: ${all.join(', ')}`;
}
