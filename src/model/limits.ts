// Bounds on what one span may carry, like the OpenTelemetry SDKs' span limits and the
// Collector's: a span past them is kept, truncated, with a counted diagnostic. They protect the
// server's memory and event loop from one client's oversized spans (issue 15).

/** Levels of arrayValue / kvlistValue nesting in one attribute value; deeper values are dropped. */
export const MAX_ATTRIBUTE_DEPTH = 32;

export interface SpanLimits {
  /** Attributes kept per span (and per resource); the SDKs' default is 128. */
  readonly attributes: number;
  /** Characters kept of a string (or base64 bytes) attribute value; the SDKs' default is unlimited. */
  readonly valueLength: number;
  /** Events decoded per span; the SDKs' default is 128. cpath keeps no event: this bounds decoding. */
  readonly events: number;
  /** Links kept per span; the SDKs' default is 128. */
  readonly links: number;
}

/** `cpath serve`'s defaults (README lists them with their flags). */
export const DEFAULT_SPAN_LIMITS: SpanLimits = { attributes: 128, valueLength: 16_384, events: 128, links: 128 };

/** No limit but the nesting depth (`cpath analyze` of a file keeps every attribute). */
export const NO_SPAN_LIMITS: SpanLimits = { attributes: Infinity, valueLength: Infinity, events: Infinity, links: Infinity };
