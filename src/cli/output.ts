// Where a command's result goes (-o FILE or stdout), and the stderr progress line.
import { open, rm } from 'node:fs/promises';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ByteSink } from '../report/json.js';
import { UsageError } from './options.js';

/** An output opened up front, so that an unwritable -o fails before a long analysis. */
export interface Output extends ByteSink {
  writeText(text: string): void;
  close(): Promise<void>;
  /** The command failed: close, and remove the -o file so that no partial result is left behind. */
  abandon(): Promise<void>;
}

export async function openOutput(file: string | undefined): Promise<Output> {
  let stream: Writable;
  if (file === undefined || file === '-') stream = process.stdout;
  else {
    try {
      const fh = await open(file, 'w');
      stream = fh.createWriteStream();
    } catch (e) {
      throw new UsageError(`-o ${file}: cannot write (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  let failed: Error | undefined;
  stream.on('error', (e) => {
    failed = e;
  });
  const close = async (): Promise<void> => {
    if (stream === process.stdout) {
      await new Promise<void>((resolve) => {
        if (process.stdout.writableLength === 0) resolve();
        else process.stdout.once('drain', () => resolve());
      });
    } else {
      await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
    if (failed) throw failed;
  };
  return {
    write: (data) => stream.write(data),
    writeText: (text) => {
      stream.write(text);
    },
    drained: async () => {
      if (failed) throw failed;
      await once(stream, 'drain');
    },
    close,
    abandon: async () => {
      await close().catch(() => undefined);
      if (file !== undefined && file !== '-') await rm(file, { force: true });
    },
  };
}

/** A one-line progress display on stderr, only on a terminal and only after the first second. */
export class Progress {
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private text = '';
  private shown = false;

  constructor(private readonly enabled = process.stderr.isTTY === true) {
    if (this.enabled) {
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
  }

  update(text: string): void {
    this.text = text;
  }

  private draw(): void {
    if (Date.now() - this.started < 1000 || this.text === '') return;
    this.shown = true;
    process.stderr.write(`\r\u001b[2K${this.text}`);
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.shown) process.stderr.write('\r\u001b[2K');
  }
}
