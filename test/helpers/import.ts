// Imports a file or a Buffer through the one dispatcher (collectors/index.ts `readInput`) and
// checks a fixture three ways, like speedscope's importer tests:
//   1. a readable dump of the spans (one line each) and the diagnostics match the expectation;
//   2. the same result when the content is read gzip-compressed (a .gz temp copy) and when the
//      format must be sniffed without a file name (a temp copy named `no-extension`);
//   3. for JSON documents: the same result when the document is fed to the streaming
//      JsonDocumentReader in tiny (7-byte) chunks.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { expect } from 'vitest';
import type { ImportContext } from '../../collectors/format.js';
import { readInput, type InputFormat, type InputSummary, type ReadOptions } from '../../collectors/index.js';
import { JsonDocumentReader } from '../../collectors/json-document.js';
import { otlpJson } from '../../collectors/otlp-json.js';
import { Diagnostics, type DiagnosticEntry } from '../../src/model/diagnostics.js';
import { ResourceInterner, type AttrValue, type SpanInput } from '../../src/model/span.js';

export interface Imported {
  readonly spans: SpanInput[];
  readonly diagnostics: DiagnosticEntry[];
  readonly summary: InputSummary;
}

/** Reads one path through readInput into fresh diagnostics and a fresh resource interner. */
export async function importPath(path: string, opts: ReadOptions = {}): Promise<Imported> {
  const spans: SpanInput[] = [];
  const diag = new Diagnostics();
  const summary = await readInput(path, { diag, resources: new ResourceInterner(), emit: (s) => spans.push(s) }, opts);
  return { spans, diagnostics: diag.entries(), summary };
}

/** A fresh directory under os.tmpdir(), removed by the returned cleanup function. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cpath-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes the bytes to `name` in a temp directory and imports that file. */
export async function importBytes(content: Buffer | string, name: string, opts: ReadOptions = {}): Promise<Imported & { path: string }> {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, name);
    await writeFile(path, content);
    return { ...(await importPath(path, opts)), path };
  } finally {
    await cleanup();
  }
}

/** An attribute value as text: strings quoted, bigints with an `n`, containers JSON-like. */
export function formatValue(v: AttrValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}: ${formatValue(x)}`)
    .join(', ')}}`;
}

/**
 * One line per span:
 * `traceId spanId < parent|- kind "name" service@host start +durationns status["message"] {attrs} [links t/s] location`
 * where location is `:line` (line-oriented input) or `@offset` (byte offset), without the file name.
 */
export function dumpSpans(spans: readonly SpanInput[], o: { location?: boolean } = {}): string[] {
  return spans.map((s) => {
    const parts = [
      s.traceId,
      s.spanId,
      `< ${s.parentSpanId ?? '-'}${s.parentRef === 'follows-from' ? ' (follows)' : ''}`,
      s.kind,
      JSON.stringify(s.name),
      `${s.resource.service}@${s.resource.host}`,
      `${s.startNs} +${s.endNs - s.startNs}ns`,
      `${s.status}${s.statusMessage !== undefined ? ` ${JSON.stringify(s.statusMessage)}` : ''}`,
      formatValue(s.attributes),
    ];
    if (s.links && s.links.length > 0) parts.push(`links ${s.links.map((l) => `${l.traceId}/${l.spanId}`).join(' ')}`);
    if (o.location !== false) parts.push(s.source.line !== undefined ? `:${s.source.line}` : s.source.offset !== undefined ? `@${s.source.offset}` : '(no location)');
    return parts.join(' ');
  });
}

export type DiagRow = [code: string, count: number, example: string | undefined];

/** Diagnostics as [code, count, example], with every occurrence of `path` in examples shown as `name`. */
export function diagRows(entries: readonly DiagnosticEntry[], path?: string, name?: string): DiagRow[] {
  return entries.map((e) => [e.code, e.count, e.example !== undefined && path !== undefined && name !== undefined ? e.example.split(path).join(name) : e.example]);
}

export interface ImportExpectation {
  /** The format the dispatcher must pick by content. */
  readonly format: InputFormat;
  /** dumpSpans() of the result. */
  readonly spans: readonly string[];
  /** diagRows() with the file shown as the fixture's name; elements may be asymmetric matchers. Default: none. */
  readonly diagnostics?: readonly unknown[];
  /** Feed the content to JsonDocumentReader in 7-byte chunks too. Default: for otlp-json inputs named *.json. */
  readonly chunked?: boolean;
}

export type ImportSource = { readonly path: string } | { readonly bytes: Buffer; readonly name: string };

const CHUNK = 7;

/** The three checks described at the top of this file. Returns the import of the original. */
export async function checkImport(src: ImportSource, want: ImportExpectation): Promise<Imported> {
  const { dir, cleanup } = await tempDir();
  try {
    let path: string;
    let name: string;
    if ('path' in src) {
      path = src.path;
      name = basename(src.path);
    } else {
      name = src.name;
      path = join(dir, name);
      await writeFile(path, src.bytes);
    }
    const content = await readFile(path);

    // 1. The dump and the diagnostics.
    const got = await importPath(path);
    expect(got.summary, `${name}: summary`).toMatchObject({ file: path, format: want.format, detectedBy: 'content', gzip: false, bytes: content.length, spans: got.spans.length });
    expect(got.spans.every((s) => s.source.file === path), `${name}: every span names the file it came from`).toBe(true);
    expect(dumpSpans(got.spans), `${name}: spans`).toEqual(want.spans);
    expect(diagRows(got.diagnostics, path, name), `${name}: diagnostics`).toEqual(want.diagnostics ?? []);

    // 2a. The same, gzip-compressed.
    const gzPath = join(dir, `${name}.gz`);
    const gz = gzipSync(content);
    await writeFile(gzPath, gz);
    const zipped = await importPath(gzPath);
    expect(zipped.summary, `${name}.gz: summary`).toMatchObject({ format: want.format, detectedBy: 'content', gzip: true, bytes: gz.length, spans: got.spans.length });
    expect(dumpSpans(zipped.spans), `${name}.gz: spans`).toEqual(want.spans);
    expect(diagRows(zipped.diagnostics, gzPath, name), `${name}.gz: diagnostics`).toEqual(want.diagnostics ?? []);

    // 2b. The same, sniffed without a file name.
    const bare = join(dir, 'no-extension');
    await writeFile(bare, content);
    const sniffed = await importPath(bare);
    expect(sniffed.summary, `${name} as "no-extension": summary`).toMatchObject({ format: want.format, detectedBy: 'content', gzip: false, spans: got.spans.length });
    expect(dumpSpans(sniffed.spans), `${name} as "no-extension": spans`).toEqual(want.spans);
    expect(diagRows(sniffed.diagnostics, bare, name), `${name} as "no-extension": diagnostics`).toEqual(want.diagnostics ?? []);

    // 3. JSON documents, streamed in tiny chunks. Locations are compared only when readInput
    //    read the file as one document too (JSON Lines gives `:line`, the document reader `@offset`).
    if (want.chunked ?? (want.format === 'otlp-json' && name.endsWith('.json'))) {
      const spans: SpanInput[] = [];
      const diag = new Diagnostics();
      const ctx: ImportContext = { file: name, diag, resources: new ResourceInterner(), emit: (s) => spans.push(s) };
      const reader = new JsonDocumentReader(otlpJson, name, diag, (v, at) => otlpJson.handleValue(v, at, ctx));
      const bytes = name.endsWith('.gz') ? gunzipSync(content) : content;
      for (let i = 0; i < bytes.length; i += CHUNK) reader.push(bytes.subarray(i, i + CHUNK));
      reader.end();
      const documentMode = got.spans.every((s) => s.source.offset !== undefined);
      expect(dumpSpans(spans, { location: documentMode }), `${name} in ${CHUNK}-byte chunks: spans`).toEqual(dumpSpans(got.spans, { location: documentMode }));
      const rows = (entries: readonly DiagnosticEntry[], p: string): DiagRow[] => (documentMode ? diagRows(entries, p, name) : entries.map((e) => [e.code, e.count, undefined]));
      expect(rows(diag.entries(), name), `${name} in ${CHUNK}-byte chunks: diagnostics`).toEqual(rows(got.diagnostics, path));
    }
    return got;
  } finally {
    await cleanup();
  }
}
