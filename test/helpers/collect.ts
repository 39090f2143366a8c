// Shared by the Jaeger and Zipkin golden tests: an ImportContext that collects what an importer
// emits, and the fixture times.
import { readFileSync } from 'node:fs';
import type { ImportContext } from '../../collectors/format.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';

/** 1700000000000000 µs (2023-11-14T22:13:20Z) in ns: every fixture starts there. */
export const T0 = 1_700_000_000_000_000_000n;
/** Nanoseconds `us` microseconds after T0. */
export const at = (us: number): bigint => T0 + BigInt(us) * 1000n;

export function collect(file: string): { ctx: ImportContext; spans: SpanInput[]; diag: Diagnostics } {
  const spans: SpanInput[] = [];
  const diag = new Diagnostics();
  const ctx: ImportContext = { file, diag, resources: new ResourceInterner(), emit: (s) => spans.push(s) };
  return { ctx, spans, diag };
}

export function fixtureText(folder: string, name: string): string {
  return readFileSync(new URL(`../fixtures/${folder}/${name}`, import.meta.url), 'utf8');
}
