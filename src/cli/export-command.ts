// `cpath export`: the analysis in formats other tools open (flame graphs, trace viewers,
// HdrHistogram tools). The library side is src/export/.
import { Command, Option } from 'commander';
import { INPUT_FORMATS, type InputFormat } from '../../collectors/index.js';
import { EXPORT_FORMATS, parseEndpoint, type ExportFormat } from '../export/index.js';
import { exportFiles } from '../pipeline/export.js';
import { UsageError, collect } from './options.js';
import { openOutput } from './output.js';

interface ExportFlags {
  to: ExportFormat;
  output?: string;
  endpoint?: string;
  inputFormat?: InputFormat;
  skewAdjust: boolean;
  threads?: string[];
}

export function addExportCommand(program: Command): void {
  program
    .command('export')
    .description('Read trace files and write the spans or their critical paths in a format other tools open.')
    .argument('<input...>', 'trace files, as for analyze (- reads stdin)')
    .addOption(new Option('--to <format>', 'output format').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--endpoint <endpoint>', 'only this endpoint\'s traces: "SERVICE OPERATION", e.g. "frontend GET /checkout"')
    .addOption(new Option('--input-format <format>', 'skip detection and read every input as this format').choices([...INPUT_FORMATS]))
    .option('--no-skew-adjust', 'do not shift cross-host server spans into their client spans')
    .option('--threads <events.log>', 'perfetto: an event log of `cpath record` of the same run: thread tracks with states, wakeups as flows (repeatable)', collect)
    .action(async (inputs: string[], flags: ExportFlags) => {
      await runExport(inputs, flags);
    });
}

async function runExport(inputs: string[], f: ExportFlags): Promise<void> {
  if (inputs.filter((i) => i === '-').length > 1) throw new UsageError('stdin (-) can be given only once');
  if (f.endpoint !== undefined && !parseEndpoint(f.endpoint)) throw new UsageError(`--endpoint: "${f.endpoint}" is not "SERVICE OPERATION" (e.g. "frontend GET /checkout")`);
  const out = await openOutput(f.output);
  try {
    await exportFiles(
      {
        files: inputs,
        to: f.to,
        ...(f.inputFormat ? { inputFormat: f.inputFormat } : {}),
        ...(f.endpoint !== undefined ? { endpoint: f.endpoint } : {}),
        skewAdjust: f.skewAdjust,
        ...(f.threads ? { threads: f.threads } : {}),
      },
      async (text) => {
        if (!out.write(Buffer.from(text))) await out.drained();
      },
    );
    await out.close();
  } catch (e) {
    await out.abandon();
    throw e;
  }
}
