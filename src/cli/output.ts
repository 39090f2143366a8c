// Where a command's result goes (-o FILE or stdout), and the stderr progress line.
import { writeFile } from 'node:fs/promises';
import { UsageError } from './options.js';

export async function writeOutput(text: string, file: string | undefined): Promise<void> {
  if (file !== undefined && file !== '-') {
    try {
      await writeFile(file, text);
    } catch (e) {
      throw new UsageError(`-o ${file}: cannot write (${e instanceof Error ? e.message : String(e)})`);
    }
    return;
  }
  await new Promise<void>((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
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
