// `cpath record`: flags -> record(), Ctrl-C -> a clean stop, a summary on stderr.
//
// Ctrl-C: the terminal sends SIGINT to its foreground process group, i.e. to cpath and to a
// command started with `--` (bpftrace runs in its own session and does not get it). cpath then
// stops tracing and finishes the log; the command handles its own SIGINT (cpath does not forward
// it). A second Ctrl-C quits at once, leaving the log without its `# end` line.
import type { Command } from 'commander';
import { RecordError, parseUprobe, parseUsdt, record, type RecordTarget } from '../record/record.js';
import { UsageError, collect, durationOpt } from './options.js';

interface RecordFlags {
  pid?: string[];
  uprobe?: string[];
  usdt?: string[];
  duration?: string;
  stacks?: boolean;
  targetOnly?: boolean;
  output?: string;
}

export function addRecordCommand(program: Command): void {
  program
    .command('record')
    .description('Record scheduler events (switches, wakeups with their interrupt context), probed function calls and clock anchors with bpftrace, for thread-level critical paths (`cpath analyze --threads`). Needs root and bpftrace.')
    .usage('[-p PID... | -- COMMAND [ARGS...]] [options] -o events.log')
    .argument('[command...]', 'the command to start and trace (after --); it runs once tracing is on')
    .option('-p, --pid <pid...>', 'trace these running processes (and what they start) instead of a command')
    .option('--uprobe <binary:function>', 'also record entry and return of this function (repeatable), e.g. ./server:handle or /usr/bin/node:uv_queue_work', collect)
    .option('--usdt <binary:provider:probe>', 'also record this USDT probe (repeatable)', collect)
    .option('--duration <duration>', 'stop after this long (a command is then left running); without it: when the command (or every -p process) exits, or at Ctrl-C')
    .option('--stacks', 'record the kernel and user stacks where target threads block')
    .option('--target-only', 'only events that involve the target processes (smaller logs; wakers in other processes keep no history)')
    .option('-o, --output <file>', 'the event log to write (.gz: compressed at the end)')
    .action(async (command: string[], f: RecordFlags) => {
      await runRecord(command, f);
    });
}

async function runRecord(command: string[], f: RecordFlags): Promise<void> {
  const pids = (f.pid ?? []).flatMap((p) => p.split(',')).filter((p) => p !== '');
  if (pids.length > 0 && command.length > 0) throw new UsageError(`record: give -p PID or -- COMMAND, not both (got -p ${pids.join(' ')} and ${command.join(' ')})`);
  if (pids.length === 0 && command.length === 0) throw new UsageError('record: nothing to trace: give -p PID or -- COMMAND [ARGS...]');
  for (const p of pids) if (!/^[1-9]\d{0,9}$/.test(p)) throw new UsageError(`-p: "${p}" is not a process id`);
  if (f.output === undefined || f.output === '') throw new UsageError('record: give the event log to write with -o FILE');
  const durationMs = f.duration !== undefined ? durationOpt('--duration', f.duration) / 1e6 : undefined;
  if (durationMs !== undefined && durationMs <= 0) throw new UsageError(`--duration: "${f.duration}" must be more than 0`);
  const target: RecordTarget = pids.length > 0 ? { kind: 'pids', pids: pids.map(Number) } : { kind: 'command', argv: command };

  const log = (line: string): void => void process.stderr.write(`cpath record: ${line}\n`);
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log(`${sig} again: quitting at once; the log has no "# end" line`);
      process.exit(130);
    }
    log(`${sig}: stopping (send it again to quit at once)`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const r = await record({
      target,
      output: f.output,
      uprobes: (f.uprobe ?? []).map((s) => parseUprobe(s)),
      usdt: (f.usdt ?? []).map((s) => parseUsdt(s)),
      ...(durationMs !== undefined ? { durationMs } : {}),
      stacks: f.stacks === true,
      targetOnly: f.targetOnly === true,
      stop: stop.signal,
      log,
    });
    const kinds = Object.entries(r.byKind)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const why = { 'command-exit': 'the command exited', 'targets-exited': 'the traced processes exited', duration: 'the duration elapsed', signal: 'stopped by a signal' }[r.stoppedBy];
    log(`${r.events} events (${kinds}) in ${(r.durationNs / 1e9).toFixed(2)} s to ${r.output} (${(r.bytes / 1e6).toFixed(2)} MB); ${why}`);
    log(r.lost > 0 ? `bpftrace LOST ${r.lost} events: the log has gaps (use --target-only, or fewer probes)` : 'no events lost');
    if (target.kind === 'command') log(`command exit status: ${r.exit}`);
    if (r.anchorVsClockNs !== undefined) log(`clock check: bpftrace's anchor is ${(r.anchorVsClockNs / 1e3).toFixed(1)} µs from cpath's own boot/Unix reading`);
  } catch (e) {
    if (e instanceof RecordError && e.kind === 'usage') throw new UsageError(e.message);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}
