// The contract between the dispatcher (collectors/index.ts) and one file per input format.
import type { Diagnostics } from '../src/model/diagnostics.js';
import type { SpanLimits } from '../src/model/limits.js';
import type { ResourceInterner, SourceRef, SpanInput } from '../src/model/span.js';

export type InputFormat = 'otlp-json' | 'otlp-proto' | 'jaeger' | 'zipkin' | 'cpath-events';

export const INPUT_FORMATS: readonly InputFormat[] = ['otlp-json', 'otlp-proto', 'jaeger', 'zipkin', 'cpath-events'];

/** What an importer may touch: it hands spans on and counts problems, it never builds traces itself. */
export interface ImportContext {
  /** Name of the input for messages (`trace.json`, `-` for stdin). */
  readonly file: string;
  readonly diag: Diagnostics;
  readonly resources: ResourceInterner;
  /**
   * Span attribute keys worth keeping; undefined keeps all. An analysis that reads no span
   * attribute passes an empty set: converting and holding attributes is most of the memory.
   */
  readonly attributeKeys?: ReadonlySet<string>;
  /** Bounds on attributes, events and links per span (`cpath serve`); undefined: none but nesting depth. */
  readonly limits?: SpanLimits;
  /** Hands one valid span to the trace builder. */
  emit(span: SpanInput): void;
}

/** A key on the path from a JSON document's root: object keys are strings, array indices numbers. */
export type PathKey = string | number;

/**
 * A JSON-based format. Line-oriented input (JSON Lines) hands every line to `handleValue`.
 * Big single documents are streamed: the reader walks into the containers `descend` names,
 * JSON.parses everything else in small pieces, reassembles them, and hands each container
 * `flush` names to `handleValue` as soon as it closes, wrapped in its ancestors (an array
 * index becomes a one-element array, a key a one-key object), so `handleValue` sees the same
 * shapes either way and no single string ever holds the whole document.
 */
export interface JsonFormat {
  readonly name: InputFormat;
  /**
   * Returns 'reparse' (having emitted nothing) when the value holds 64-bit integers that
   * JSON.parse rounded; the reader then parses the text again through `preprocess`.
   */
  handleValue(value: unknown, src: SourceRef, ctx: ImportContext): void | 'reparse';
  descend(path: readonly PathKey[]): boolean;
  flush(path: readonly PathKey[]): boolean;
  /** Called once at the end of each input. */
  finish?(ctx: ImportContext): void;
  /**
   * Rewrites text before JSON.parse (quoting 64-bit integers so they stay exact). Applied to
   * every piece, unless `preprocessOnRequest`: then JSON Lines apply it only to a line that
   * `handleValue` sent back with 'reparse' (OTLP: checking parsed times is cheaper than a regex
   * over every line).
   */
  preprocess?(text: string): string;
  readonly preprocessOnRequest?: boolean;
}
