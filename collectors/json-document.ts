// Streams one (or several concatenated) JSON documents of any size. V8 strings stop at about
// 512 MiB, so a big document is never held as one string: the reader walks structurally into
// the containers the format names (`descend`), JSON.parses every other value as a small piece,
// reassembles them, and hands each container the format names (`flush`) to the format as soon
// as it closes. See JsonFormat in format.ts.
import type { Diagnostics } from '../src/model/diagnostics.js';
import type { JsonFormat, PathKey } from './format.js';
import type { SourceRef } from '../src/model/span.js';

interface FrameBase {
  readonly key: PathKey;
  /** Next array index. */
  index: number;
  /** Object key of the value being read. */
  pendingKey: string;
  /** Where the container starts in the stream, for messages. */
  readonly offset: number;
}

/** A container being walked into, with what has been reassembled of it so far. */
type Frame = (FrameBase & { readonly isArray: true; readonly value: unknown[] }) | (FrameBase & { readonly isArray: false; readonly value: Record<string, unknown> });

type Mode = 'value' | 'afterValue' | 'key' | 'colon' | 'capture';

const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;

/** Largest single value parsed whole (a span, a resource); bigger ones cannot become a string. */
const MAX_PIECE = 256 * 1024 * 1024;

export class JsonDocumentReader {
  private readonly stack: Frame[] = [];
  private readonly path: PathKey[] = [];
  private mode: Mode = 'value';
  /** Offset in the stream of the current chunk's first byte. */
  private base = 0;
  private failed = false;
  // Capture state: a value or key being cut out for JSON.parse.
  private capIsKey = false;
  private capScalar = false;
  private capDepth = 0;
  private capInStr = false;
  private capEsc = false;
  private capStartOffset = 0;
  private capParts: Buffer[] = [];
  private capBytes = 0;
  private capPath: PathKey[] = [];

  constructor(
    private readonly format: JsonFormat,
    private readonly file: string,
    private readonly diag: Diagnostics,
    private readonly onValue: (value: unknown, src: SourceRef) => void,
  ) {}

  push(buf: Buffer): void {
    if (this.failed) return;
    let i = 0;
    const n = buf.length;
    let capStart = 0;
    while (i < n) {
      if (this.mode === 'capture') {
        const end = this.scanCapture(buf, i);
        if (end < 0) {
          this.capParts.push(buf.subarray(capStart));
          this.capBytes += n - capStart;
          if (this.capBytes > MAX_PIECE) return this.fail(this.capStartOffset, `a single value longer than ${MAX_PIECE} bytes`);
          break;
        }
        this.finishCapture(buf.subarray(capStart, end));
        if (this.failed) return;
        i = end;
        continue;
      }
      const b = buf[i] ?? 0;
      if (WS[b] === 1) {
        i++;
        continue;
      }
      const top = this.stack[this.stack.length - 1];
      switch (this.mode) {
        case 'value':
          if (top?.isArray && b === 0x5d /* ] */ && top.index === 0) {
            this.closeFrame();
            i++;
            break;
          }
          // A stray ',', '}' or ']' between top-level values would be an empty capture that
          // consumes nothing (and 'afterValue' without a container does not consume either).
          if (!top && (b === 0x2c || b === 0x5d || b === 0x7d)) return this.fail(this.base + i, `expected a value, found ${describeByte(b)}`);
          capStart = i;
          i = this.startValue(buf, i);
          break;
        case 'afterValue':
          if (!top) {
            this.mode = 'value'; // another top-level document (JSON Lines, concatenated JSON)
            break;
          }
          if (b === 0x2c /* , */) this.mode = top.isArray ? 'value' : 'key';
          else if (b === (top.isArray ? 0x5d : 0x7d)) this.closeFrame();
          else return this.fail(this.base + i, `expected ',' or '${top.isArray ? ']' : '}'}', found ${describeByte(b)}`);
          i++;
          break;
        case 'key':
          if (b === 0x7d /* } */ && top && !top.isArray) {
            this.closeFrame();
            i++;
            break;
          }
          if (b !== 0x22) return this.fail(this.base + i, `expected an object key, found ${describeByte(b)}`);
          capStart = i;
          this.beginCapture(i, true, false);
          break;
        case 'colon':
          if (b !== 0x3a) return this.fail(this.base + i, `expected ':', found ${describeByte(b)}`);
          this.mode = 'value';
          i++;
          break;
      }
      if (this.failed) return;
    }
    this.base += n;
  }

  /** End of input: anything unfinished is a truncation, reported with its offset. */
  end(): void {
    if (this.failed) return;
    if (this.mode === 'capture' && this.capScalar && !this.capIsKey) {
      this.finishCapture(Buffer.alloc(0));
    }
    if (this.mode === 'capture' || this.stack.length > 0) {
      const at = this.mode === 'capture' ? this.capStartOffset : this.base;
      this.diag.add('input_truncated', `${this.file}@${at}: the input ends inside ${this.describePath()}; everything before it was kept`);
    }
  }

  private startValue(buf: Buffer, i: number): number {
    const b = buf[i] ?? 0;
    const p = this.childPath();
    if ((b === 0x7b || b === 0x5b) && this.format.descend(p)) {
      const isArray = b === 0x5b;
      const base = { key: p[p.length - 1] ?? '', index: 0, pendingKey: '', offset: this.base + i };
      this.stack.push(isArray ? { ...base, isArray: true, value: [] } : { ...base, isArray: false, value: {} });
      if (this.stack.length > 1) this.path.push(p[p.length - 1] ?? '');
      this.mode = isArray ? 'value' : 'key';
      return i + 1;
    }
    this.beginCapture(i, false, b !== 0x7b && b !== 0x5b && b !== 0x22);
    this.capPath = p;
    return i;
  }

  private beginCapture(i: number, isKey: boolean, scalar: boolean): void {
    this.mode = 'capture';
    this.capIsKey = isKey;
    this.capScalar = scalar;
    this.capDepth = 0;
    this.capInStr = false;
    this.capEsc = false;
    this.capParts = [];
    this.capBytes = 0;
    this.capStartOffset = this.base + i;
  }

  /** Scans for the end of the captured value; returns its end index in buf, or -1 if it goes on. */
  private scanCapture(buf: Buffer, from: number): number {
    const n = buf.length;
    if (this.capScalar) {
      for (let i = from; i < n; i++) {
        const b = buf[i] ?? 0;
        if (b === 0x2c || b === 0x7d || b === 0x5d || WS[b] === 1) return i;
      }
      return -1;
    }
    let depth = this.capDepth;
    let inStr = this.capInStr;
    let esc = this.capEsc;
    for (let i = from; i < n; i++) {
      const b = buf[i] ?? 0;
      if (inStr) {
        if (esc) esc = false;
        else if (b === 0x5c) esc = true;
        else if (b === 0x22) {
          inStr = false;
          if (depth === 0) return i + 1;
        }
      } else if (b === 0x22) inStr = true;
      else if (b === 0x7b || b === 0x5b) depth++;
      else if (b === 0x7d || b === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    this.capDepth = depth;
    this.capInStr = inStr;
    this.capEsc = esc;
    return -1;
  }

  private finishCapture(last: Buffer): void {
    const bytes = this.capParts.length > 0 ? Buffer.concat([...this.capParts, last]) : last;
    this.capParts = [];
    let text = bytes.toString('utf8');
    if (this.capIsKey) {
      const top = this.stack[this.stack.length - 1];
      let key: unknown;
      try {
        key = JSON.parse(text);
      } catch {
        return this.fail(this.capStartOffset, `malformed object key ${clip(text)}`);
      }
      if (top && typeof key === 'string') top.pendingKey = key;
      this.mode = 'colon';
      return;
    }
    this.mode = 'afterValue';
    if (this.format.preprocess) text = this.format.preprocess(text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      // The structure around it is intact, so only this value is lost.
      this.diag.add('line_unparsable', () => `${this.file}@${this.capStartOffset}: ${errorText(e)} in ${clip(text)}`);
      this.advanceIndex();
      return;
    }
    this.place(this.capPath, value, { file: this.file, offset: this.capStartOffset });
  }

  private closeFrame(): void {
    const frame = this.stack.pop();
    if (!frame) return;
    const p = [...this.path];
    if (this.stack.length > 0) this.path.pop();
    this.mode = 'afterValue';
    this.place(p, frame.value, { file: this.file, offset: frame.offset });
  }

  /** Puts a finished value into its parent, or hands it to the format when its path is a flush point. */
  private place(p: readonly PathKey[], value: unknown, src: SourceRef): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      this.onValue(value, src);
      return;
    }
    if (this.format.flush(p)) {
      this.onValue(wrap(p, value), src);
    } else if (top.isArray) {
      top.value.push(value);
    } else {
      top.value[top.pendingKey] = value;
    }
    if (top.isArray) top.index++;
  }

  private advanceIndex(): void {
    const top = this.stack[this.stack.length - 1];
    if (top?.isArray) top.index++;
  }

  private childPath(): PathKey[] {
    const top = this.stack[this.stack.length - 1];
    if (!top) return [];
    return [...this.path, top.isArray ? top.index : top.pendingKey];
  }

  private fail(offset: number, what: string): void {
    this.failed = true;
    this.diag.add('line_unparsable', `${this.file}@${offset}: ${what}; the rest of this input was not read`);
  }

  private describePath(): string {
    return this.path.length === 0 ? 'the top-level value' : `/${this.path.join('/')}`;
  }
}

/** Rebuilds the ancestors of a flushed value: index -> one-element array, key -> one-key object. */
function wrap(p: readonly PathKey[], value: unknown): unknown {
  let v = value;
  for (let k = p.length - 1; k >= 0; k--) {
    const key = p[k];
    v = typeof key === 'number' ? [v] : { [key ?? '']: v };
  }
  return v;
}

function describeByte(b: number): string {
  return b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

export function clip(text: string, max = 60): string {
  const t = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(t);
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
