// The benchmark's floor: stream a JSON Lines file and JSON.parse every line, nothing else.
//
//   node dist/test/bench/baseline.js FILE
//
// Reads like cpath does (fs.createReadStream with 1 MiB chunks, a native newline search per
// chunk, one utf8 decode and one JSON.parse per line) and prints the line count.
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function parseLines(file: string): Promise<{ lines: number; bytes: number }> {
  let lines = 0;
  let bytes = 0;
  let pending: Buffer[] = [];
  const parse = (b: Buffer): void => {
    if (b.length === 0) return;
    JSON.parse(b.toString('utf8'));
    lines++;
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    bytes += buf.length;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = buf.subarray(start, nl);
      if (pending.length > 0) {
        pending.push(piece);
        const whole = Buffer.concat(pending);
        pending = [];
        parse(whole);
      } else {
        parse(piece);
      }
      start = nl + 1;
    }
    if (start < buf.length) pending.push(buf.subarray(start));
  }
  if (pending.length > 0) parse(Buffer.concat(pending));
  return { lines, bytes };
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: baseline FILE');
  const r = await parseLines(file);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`baseline: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
