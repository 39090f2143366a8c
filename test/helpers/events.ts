// Shared by the event-log parser and thread-timeline tests: inline event logs in µs, parsed from
// small chunks (so every line boundary and multi-byte character is split somewhere).
import { EVENT_KIND_NAMES, type EventLog } from '../../src/model/event-log.js';
import { parseEventLog } from '../../collectors/bpftrace/parse.js';
import { Diagnostics } from '../../src/model/diagnostics.js';

/** CLOCK_BOOTTIME of µs 0 in the fixtures (16 digits, above 2^53: exactness matters). */
export const BOOT0 = 9_100_000_000_000_000n;

/** The boot-ns timestamp of `us` µs after BOOT0, as printed in a log line. */
export const at = (us: number): string => (BOOT0 + BigInt(Math.round(us * 1000))).toString();

/** Relative ns of `us` µs (fixtures start their first event at µs 0). */
export const us = (x: number): number => Math.round(x * 1000);

/** `[µs, rest]` pairs to event lines: `<ts> <rest>`. Strings are passed through (header, frames). */
export function lines(...items: (readonly [number, string] | string)[]): string {
  return items.map((it) => (typeof it === 'string' ? it : `${at(it[0])} ${it[1]}`)).join('\n') + '\n';
}

export async function* chunked(text: string | Buffer, size: number): AsyncIterable<Buffer> {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

export async function parseText(text: string, opts: { chunk?: number; file?: string } = {}): Promise<{ log: EventLog; diag: Diagnostics }> {
  const diag = new Diagnostics();
  const log = await parseEventLog(chunked(text, opts.chunk ?? 7), opts.file ?? 'events.log', diag);
  return { log, diag };
}

/** The text log in bpftrace `-f json` form: header lines stay text (cpath record writes them), json lines stay, every other line (an ST with its frames) becomes one printf. */
export function toJson(text: string): string {
  const out: string[] = [];
  const src = text.split('\n');
  if (src[src.length - 1] === '') src.pop();
  for (let i = 0; i < src.length; i++) {
    const line = src[i] as string;
    if (line.startsWith('#') || line.startsWith('{')) {
      out.push(line);
      continue;
    }
    let data = `${line}\n`;
    if (/^\d+ ST /.test(line)) {
      while (i + 1 < src.length && /^(\s|$)/.test(src[i + 1] as string)) data += `${src[++i]}\n`;
    }
    out.push(`{"type": "printf", "data": ${JSON.stringify(data)}}`);
  }
  return out.join('\n') + '\n';
}

export interface Row {
  ts: number;
  kind: string;
  cpu: number;
  pid: number;
  tid: number;
  arg: number;
  arg2: number;
  s1: string | null;
  s2: string | null;
  line: number;
}

export function rows(log: EventLog): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < log.count; i++) {
    const s1 = log.s1[i] as number;
    const s2 = log.s2[i] as number;
    out.push({
      ts: log.ts[i] as number,
      kind: EVENT_KIND_NAMES[log.kind[i] as number] as string,
      cpu: log.cpu[i] as number,
      pid: log.pid[i] as number,
      tid: log.tid[i] as number,
      arg: log.arg[i] as number,
      arg2: log.arg2[i] as number,
      s1: s1 >= 0 ? (log.strings[s1] as string) : null,
      s2: s2 >= 0 ? (log.strings[s2] as string) : null,
      line: log.line[i] as number,
    });
  }
  return out;
}

export function diagTable(diag: Diagnostics): [string, number, string | undefined][] {
  return diag.entries().map((e) => [e.code, e.count, e.example]);
}
