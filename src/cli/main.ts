// The `cpath` command line: parses flags, calls the library, renders. Exit status: 0 done;
// 1 the input could not be used at all; 2 usage error.
import { Command, CommanderError, Option } from 'commander';
import { INPUT_FORMATS, InputError, inputSize, type InputFormat } from '../../collectors/index.js';
import { analyzeFiles, noSpansError } from '../pipeline/analyze.js';
import { renderText } from '../report/text.js';
import { renderWaterfall } from '../report/waterfall.js';
import { VERSION } from '../version.js';
import { ExitStatus, UsageError, collect, durationOpt, outliersOpt, positiveIntOpt, timeOpt, traceIdOpt, whereOpt } from './options.js';
import { JsonReportWriter } from '../report/json.js';
import { HtmlReportBuilder } from '../report/html-report.js';
import { PageAssetsMissing, renderPage } from '../report/html.js';
import type { AnalyzeReport } from '../report/types.js';
import { Progress, openOutput } from './output.js';
import { addServeCommand } from './serve-command.js';
import { addRecordCommand } from './record-command.js';
import { addExportCommand } from './export-command.js';
import { addDiffCommand } from './diff-command.js';
import { addStoreCommand } from './store-command.js';
import { RecordError } from '../record/record.js';
import { StoreError } from '../store/span-store.js';
import { ClusterError } from '../cluster/errors.js';
import { ListenError } from '../server/serve.js';

interface AnalyzeFlags {
  store?: string;
  threads?: string[];
  root?: string;
  inputFormat?: InputFormat;
  format: 'text' | 'json' | 'html';
  embedTraces: string;
  output?: string;
  groupBy?: string;
  service?: string;
  operation?: string;
  since?: string;
  until?: string;
  traceId?: string[];
  where?: string[];
  outliers: string;
  top: string;
  trace?: string;
  skewAdjust: boolean;
  overlapTolerance?: string;
  progress: boolean;
}

function buildProgram(): Command {
  const program = new Command('cpath')
    .description('Critical-path analysis of distributed traces: where the latency comes from, per endpoint, per trace.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('analyze')
    .description('Read trace files and report critical paths, latency percentiles, outliers and blame per endpoint.')
    .argument('[input...]', 'trace files: OTLP JSON / JSON Lines / protobuf, Jaeger JSON, Zipkin v2 JSON; .gz is read transparently; - reads stdin')
    .option('--store <dir|url>', 'also read what `cpath serve` stored: its store directory, or the postgres://user@host:port/db of a cluster (it may be running)')
    .option('--threads <events.log>', 'an event log of `cpath record`: split each span section of the path into the threads that held it up (repeatable)', collect)
    .option('--root <function>', 'event logs without spans: analyse the calls of this probed function (default: the outermost probed calls of each thread)')
    .addOption(new Option('--input-format <format>', 'skip detection and read every input as this format').choices([...INPUT_FORMATS]))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --output <file>', 'write the result to a file instead of stdout')
    .option('--group-by <attribute>', 'endpoint = root service + this root span (or resource) attribute, e.g. http.route, instead of the root operation')
    .option('--service <name>', 'only traces with a span of this service')
    .option('--operation <name>', 'only traces with a span of this operation (with --service: the same span)')
    .option('--since <time>', 'only traces starting at or after: RFC 3339, or a duration back from now (1h)')
    .option('--until <time>', 'only traces starting before: RFC 3339, or a duration back from now')
    .option('--trace-id <id>', 'only this trace (repeatable)', collect)
    .option('--where <key=value>', 'only traces with a span (or resource) attribute equal to value (repeatable; all must match)', collect)
    .option('--outliers <rule>', 'auto (>= p99 and >= 1.5x median), pN (>= that percentile) or a duration (>= 250ms)', 'auto')
    .option('--top <n>', 'at most this many outliers per endpoint, slowest first', '20')
    .option('--embed-traces <n>', 'html: embed this many traces in full besides the outliers and typical traces', '50')
    .option('--trace <id>', 'print this one trace as a text waterfall with its critical path marked')
    .option('--no-skew-adjust', 'do not shift cross-host server spans into their client spans')
    .option('--overlap-tolerance <duration>', 'ε for every span instead of the detected start-time granularity (0 for the strict rule)')
    .option('--no-progress', 'never show the progress line on stderr')
    .action(async (inputs: string[], flags: AnalyzeFlags) => {
      await runAnalyze(inputs, flags);
    });
  addServeCommand(program);
  addRecordCommand(program);
  addExportCommand(program);
  addDiffCommand(program);
  addStoreCommand(program);
  return program;
}

async function runAnalyze(inputs: string[], f: AnalyzeFlags): Promise<void> {
  const top = positiveIntOpt('--top', f.top);
  const embed = positiveIntOpt('--embed-traces', f.embedTraces);
  const outliers = outliersOpt(f.outliers);
  const overlap = f.overlapTolerance !== undefined ? durationOpt('--overlap-tolerance', f.overlapTolerance) : undefined;
  const traceIds = f.traceId?.map((v) => traceIdOpt(v, true));
  const trace = f.trace !== undefined ? traceIdOpt(f.trace, true) : undefined;
  const filter = {
    ...(f.service !== undefined ? { service: f.service } : {}),
    ...(f.operation !== undefined ? { operation: f.operation } : {}),
    ...(f.since !== undefined ? { sinceNs: timeOpt('--since', f.since) } : {}),
    ...(f.until !== undefined ? { untilNs: timeOpt('--until', f.until) } : {}),
    ...(traceIds ? { traceIds: new Set(traceIds) } : {}),
    ...(f.where ? { where: f.where.map(whereOpt) } : {}),
  };
  if (inputs.filter((i) => i === '-').length > 1) throw new UsageError('stdin (-) can be given only once');
  if (inputs.length === 0 && f.store === undefined) throw new UsageError('analyze: give trace files, - for stdin, or --store DIR');

  const out = await openOutput(f.output);
  try {
    const json = f.format === 'json' && trace === undefined ? new JsonReportWriter(out, `cpath ${VERSION}`) : undefined;
    const html = f.format === 'html' && trace === undefined ? new HtmlReportBuilder() : undefined;
    const progress = new Progress(f.progress && process.stderr.isTTY === true);
    const sizes = new Map<string, number | undefined>();
    for (const i of inputs) sizes.set(i, await inputSize(i));
    let result;
    try {
      result = await analyzeFiles({
        files: inputs,
        ...(f.store !== undefined ? { store: f.store } : {}),
        ...(f.threads ? { threads: f.threads } : {}),
        ...(f.root !== undefined ? { rootFunction: f.root } : {}),
        ...(f.inputFormat ? { inputFormat: f.inputFormat } : {}),
        skewAdjust: f.skewAdjust,
        ...(overlap !== undefined ? { overlapToleranceNs: overlap } : {}),
        ...(f.groupBy !== undefined ? { groupBy: f.groupBy } : {}),
        filter,
        outliers,
        top,
        ...(trace !== undefined ? { keepTrace: trace } : {}),
        traces: json ? { span: (a, split) => json.trace(split ?? a), rootCall: (t) => json.trace(t) } : html ? { span: html.analysed, rootCall: html.rootCall } : false,
        ...(html ? { details: (r: AnalyzeReport) => html.select(r, embed) } : {}),
        onBytes: (file, b) => {
          const size = sizes.get(file);
          progress.update(`reading ${file}  ${size ? `${Math.floor((b / size) * 100)}%  ` : ''}${(b / 1e6).toFixed(0)} MB`);
        },
      });
    } finally {
      progress.done();
    }
    const { report } = result;
    if (report.input.threads !== undefined && report.input.spans === 0 && report.input.traces === 0) {
      throw new InputError(`no probed function calls in ${inputs.join(', ')}${f.root !== undefined ? ` named ${f.root}` : ''}: thread-only analysis needs root calls; record with --uprobe BINARY:FUNCTION (or give the spans of the same run and --threads)`);
    }
    if (report.input.spans === 0 && report.input.threads === undefined) {
      throw noSpansError([...inputs, ...(f.store !== undefined ? [`store ${f.store}`] : [])], report.diagnostics);
    }
    if (trace !== undefined) {
      if (!result.kept) throw new InputError(`trace ${trace} is not in the input${report.input.traces !== report.input.tracesAnalysed ? ' (or the filters excluded it)' : ''}`);
      out.writeText(renderWaterfall(result.kept.trace, result.kept.analysis));
    } else if (json) {
      await json.end(report);
    } else if (html) {
      out.writeText(renderPage(html.page(report, result.details ?? []), `cpath report: ${report.input.files.join(', ')}`));
    } else {
      out.writeText(renderText(report, result.chains));
    }
    await out.close();
  } catch (e) {
    await out.abandon();
    throw e;
  }
}

/** Runs the CLI; returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof ExitStatus) return e.status;
    if (e instanceof UsageError) {
      process.stderr.write(`cpath: ${e.message}\n`);
      return 2;
    }
    if (e instanceof InputError || e instanceof StoreError || e instanceof ClusterError || e instanceof ListenError || e instanceof RecordError || e instanceof PageAssetsMissing) {
      process.stderr.write(`cpath: ${e.message}\n`);
      return 1;
    }
    // The reader of our output went away (`| head`): not an error of ours, nothing left to say.
    if (typeof e === 'object' && e !== null && 'code' in e && e.code === 'EPIPE') return 0;
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`cpath: internal error: ${msg}\n${process.env['CPATH_DEBUG'] ? `${e instanceof Error ? (e.stack ?? '') : ''}\n` : 'set CPATH_DEBUG=1 for a stack trace, and please report it\n'}`);
    return 70;
  }
}
