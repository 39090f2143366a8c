// JSON Lines (the OpenTelemetry Collector's file exporter): one JSON value per line. The fast
// path: a native newline search and one JSON.parse per line, no per-byte work in JavaScript.
import type { Diagnostics } from '../src/model/diagnostics.js';
import type { SourceRef } from '../src/model/span.js';
import { clip, errorText } from './json-document.js';

export class JsonLinesReader {
  private pending: Buffer[] = [];
  private line = 0;

  constructor(
    private readonly file: string,
    private readonly diag: Diagnostics,
    private readonly preprocess: ((text: string) => string) | undefined,
    /** Apply `preprocess` only when onValue asks for a reparse. */
    private readonly onRequest: boolean,
    private readonly onValue: (value: unknown, src: SourceRef) => void | 'reparse',
  ) {}

  push(buf: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = buf.subarray(start, nl);
      if (this.pending.length > 0) {
        this.pending.push(piece);
        const whole = Buffer.concat(this.pending);
        this.pending = [];
        this.handleLine(whole, false);
      } else {
        this.handleLine(piece, false);
      }
      start = nl + 1;
    }
    if (start < buf.length) this.pending.push(buf.subarray(start));
  }

  end(): void {
    if (this.pending.length > 0) {
      const rest = Buffer.concat(this.pending);
      this.pending = [];
      this.handleLine(rest, true);
    }
  }

  private handleLine(bytes: Buffer, last: boolean): void {
    this.line++;
    let text = bytes.toString('utf8');
    if (text.length === 0 || /^\s*$/.test(text)) return;
    if (this.preprocess && !this.onRequest) text = this.preprocess(text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      if (last) {
        this.diag.add('input_truncated', () => `${this.file}:${this.line}: the last line is incomplete (${errorText(e)}); every line before it was kept`);
      } else {
        this.diag.add('line_unparsable', () => `${this.file}:${this.line}: ${errorText(e)} in ${clip(text)}`);
      }
      return;
    }
    const src = { file: this.file, line: this.line };
    if (this.onValue(value, src) === 'reparse' && this.preprocess && this.onRequest) {
      // Rare: 64-bit integers written as bare numbers. Parse once more with them quoted.
      this.onValue(JSON.parse(this.preprocess(text)), src);
    }
  }
}
