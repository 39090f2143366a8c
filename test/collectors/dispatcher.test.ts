// The dispatcher (collectors/index.ts): format detection by content, --input-format forcing,
// inputs that are empty, not traces, not files, damaged or huge. Fixtures of odd inputs are in
// test/fixtures/inputs/; the samples (samples/README.md) serve as realistic files of each format.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, detectFormat, readInput, type InputFormat } from '../../collectors/index.js';
import { ExportTraceServiceRequest } from '../../collectors/otlp-schema.js';
import { Diagnostics } from '../../src/model/diagnostics.js';
import { ResourceInterner } from '../../src/model/span.js';
import { diagRows, dumpSpans, importBytes, importPath, tempDir, type Imported } from '../helpers/import.js';

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const SAMPLE = {
  jsonl: root('samples/shop.otlp.jsonl'),
  pb: root('samples/shop.otlp.pb'),
  jaeger: root('samples/shop.jaeger.json'),
  zipkin: root('samples/shop.zipkin.json'),
};
const otlpFixture = (name: string): string => root(`test/fixtures/otlp/${name}`);
const inputFixture = (name: string): string => root(`test/fixtures/inputs/${name}`);

/** A bare ExportTraceServiceRequest with one span. */
function bareRequest(): Buffer {
  const msg = ExportTraceServiceRequest.fromObject({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bare' } }] },
        scopeSpans: [{ spans: [{ traceId: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'), spanId: Buffer.from('1112131415161718', 'hex'), name: 'bare', kind: 2, startTimeUnixNano: '1764151200000000000', endTimeUnixNano: '1764151200000001000' }] }],
      },
    ],
  });
  return Buffer.from(ExportTraceServiceRequest.encode(msg).finish());
}

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp.cleanup();
});

/** Copies `content` to `name` in the temp directory and imports it. */
async function importAs(content: Buffer, name: string, format?: InputFormat): Promise<Imported & { path: string }> {
  const path = join(tmp.dir, name);
  await writeFile(path, content);
  return { ...(await importPath(path, format ? { format } : {})), path };
}

describe('format detection', () => {
  it('recognises each format by its content, whatever the file is called', async () => {
    const cases: [content: Buffer, misleadingName: string, format: InputFormat, spans: number][] = [
      [readFileSync(SAMPLE.jsonl), 'trace.pb', 'otlp-json', 1534],
      [readFileSync(SAMPLE.pb), 'trace.json', 'otlp-proto', 1534], // length-prefixed: starts with 0x00
      [bareRequest(), 'spans.zipkin.json', 'otlp-proto', 1], // bare: starts with 0x0a (also a newline)
      [readFileSync(SAMPLE.jaeger), 'zipkin-export.json', 'jaeger', 1534],
      [readFileSync(SAMPLE.zipkin), 'jaeger-ui-download.json', 'zipkin', 1534],
      [readFileSync(otlpFixture('tempo-batches.json')), 'trace.jaeger.json', 'otlp-json', 3],
    ];
    for (const [content, name, format, spans] of cases) {
      for (const n of [name, 'no-extension']) {
        const got = await importAs(content, n);
        expect([n, got.summary.format, got.summary.detectedBy, got.summary.spans, got.spans.length], `${format} as ${n}`).toEqual([n, format, 'content', spans, spans]);
      }
    }
  });

  it('OTLP JSON Lines and the length-prefixed protobuf of the same batches give the same spans', async () => {
    const jsonl = await importPath(SAMPLE.jsonl);
    const pb = await importPath(SAMPLE.pb);
    expect(jsonl.spans).toHaveLength(1534);
    expect(dumpSpans(pb.spans, { location: false })).toEqual(dumpSpans(jsonl.spans, { location: false }));
    expect(jsonl.spans[0]?.source).toEqual({ file: SAMPLE.jsonl, line: 1 });
    expect(pb.spans[0]?.source).toEqual({ file: SAMPLE.pb, offset: 4 });
    expect(jsonl.diagnostics).toEqual([]);
    expect(pb.diagnostics).toEqual([]);
  });

  it('detectFormat: tell-tale keys, empty documents named by the file, binary heads', () => {
    const d = (text: string | Buffer, name = 'x'): InputFormat | undefined => detectFormat(Buffer.isBuffer(text) ? text : Buffer.from(text), name);
    expect(d('{"resourceSpans": []}')).toBe('otlp-json');
    expect(d('[{"batches": []}]')).toBe('otlp-json');
    expect(d('{"data": [{"traceID": "ab", "spans": []}]}')).toBe('jaeger');
    expect(d('[{"traceId": "ab", "id": "cd", "localEndpoint": {}}]')).toBe('zipkin');
    // OTLP spans contain "traceId" too, but only after "resourceSpans".
    expect(d('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab"}]}]}]}')).toBe('otlp-json');
    expect(d('{}')).toBe('otlp-json');
    expect(d(' [ ] ', 'old.zipkin.json')).toBe('zipkin');
    expect(d('{}', 'jaeger-trace.json')).toBe('jaeger');
    expect(d('{"foo": 1}')).toBeUndefined();
    expect(d('   \n')).toBeUndefined();
    expect(d('\n\n{"resourceSpans": []}')).toBe('otlp-json');
    expect(d('\nhello')).toBeUndefined();
    expect(d(bareRequest())).toBe('otlp-proto');
    expect(d(Buffer.from([0x00, 0x00, 0x00, 0x05, 0x0a]))).toBe('otlp-proto');
    // A bare request whose first ResourceSpans is 123 bytes long: 0x0a 0x7b, and 0x7b is '{'.
    const brace = Buffer.concat([Buffer.from([0x0a, 0x7b, 0x1a, 0x79]), Buffer.alloc(121, 0x78)]);
    expect(ExportTraceServiceRequest.decode(brace).toJSON()).toEqual({ resourceSpans: [{ schemaUrl: 'x'.repeat(121) }] });
    expect(d(brace)).toBe('otlp-proto');
    expect(d(Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'trace.pb')).toBe('otlp-proto'); // the name is the last resort
    expect(d(Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'trace.bin')).toBeUndefined();
  });

  it('reads a JSON document that starts with a blank line as JSON, not as protobuf', async () => {
    const got = await importPath(inputFixture('leading-blank-line.json'));
    expect(got.summary).toMatchObject({ format: 'otlp-json', detectedBy: 'content', spans: 2 });
    expect(got.diagnostics).toEqual([]);
  });
});

describe('--input-format forcing', () => {
  it('skips detection: an OTLP file read as Zipkin or Jaeger yields no spans and says why', async () => {
    const path = otlpFixture('collector-file-exporter.jsonl');
    const zipkin = await importPath(path, { format: 'zipkin' });
    expect(zipkin.summary).toMatchObject({ format: 'zipkin', detectedBy: 'forced', spans: 0 });
    expect(diagRows(zipkin.diagnostics, path, 'cfe.jsonl')).toEqual([['record_invalid', 3, 'cfe.jsonl:1: span 0: traceId is missing, expected a string']]);
    const jaeger = await importPath(path, { format: 'jaeger' });
    expect(jaeger.summary).toMatchObject({ format: 'jaeger', detectedBy: 'forced', spans: 0 });
    expect(diagRows(jaeger.diagnostics, path, 'cfe.jsonl')).toEqual([['record_invalid', 3, 'cfe.jsonl:1: expected {"data": [traces]}, an array of traces or one trace, found an object']]);
  });

  it('reads content detection would reject, as the forced format', async () => {
    const json = await importAs(Buffer.from('{"foo": 1}\n'), 'foo.json', 'otlp-json');
    expect(json.summary).toMatchObject({ format: 'otlp-json', detectedBy: 'forced', spans: 0 });
    expect(diagRows(json.diagnostics, json.path, 'foo.json')).toEqual([['record_invalid', 1, 'foo.json:1: no resourceSpans in an object with keys foo']]);
    const pb = await importAs(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]), 'image.png', 'otlp-proto');
    expect(pb.summary).toMatchObject({ format: 'otlp-proto', detectedBy: 'forced', spans: 0 });
    expect(diagRows(pb.diagnostics, pb.path, 'image.png')).toEqual([['line_unparsable', 1, 'image.png@0: not a valid OTLP protobuf message (index out of range: 13 + 8 > 16)']]);
  });

  it('forcing the right format gives what detection gives', async () => {
    const detected = await importPath(SAMPLE.zipkin);
    const forced = await importPath(SAMPLE.zipkin, { format: 'zipkin' });
    expect(forced.summary.detectedBy).toBe('forced');
    expect(dumpSpans(forced.spans)).toEqual(dumpSpans(detected.spans));
  });
});

describe('inputs that are not trace files', () => {
  it('an empty or blank file (also gzip-compressed) is an empty input, not an error', async () => {
    for (const [name, content] of [
      ['empty.json', Buffer.alloc(0)],
      ['blank.jsonl', Buffer.from('  \n\r\n\t')],
      ['empty.json.gz', gzipSync(Buffer.alloc(0))],
    ] as const) {
      const got = await importAs(content, name);
      expect(got.summary, name).toEqual({ file: got.path, format: undefined, detectedBy: 'empty', gzip: name.endsWith('.gz'), bytes: content.length, spans: 0 });
      expect(got.diagnostics, name).toEqual([]);
    }
  });

  it('binary garbage is an InputError naming the file and showing its first bytes', async () => {
    const path = join(tmp.dir, 'image.png');
    await writeFile(path, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0]));
    const err = await importPath(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err instanceof Error ? err.message : '').toBe(
      `${path}: not a trace format cpath reads (OTLP JSON or protobuf, Jaeger JSON, Zipkin v1 or v2 JSON, a cpath record event log); it starts with bytes 89 50 4e 47 0d 0a 1a 0a 00 00 00 0d 49 48 44 52. Use --input-format to force one.`,
    );
  });

  it('text and JSON that is not a trace are InputErrors too', async () => {
    const text = inputFixture('text-with-leading-newline.txt');
    await expect(importPath(text)).rejects.toThrow(new InputError(`${text}: not a trace format cpath reads (OTLP JSON or protobuf, Jaeger JSON, Zipkin v1 or v2 JSON, a cpath record event log); it starts with "\\nThis is a note,". Use --input-format to force one.`));
    const path = join(tmp.dir, 'hello.txt');
    await writeFile(path, 'hello, world, this is text');
    await expect(importPath(path)).rejects.toThrow(new InputError(`${path}: not a trace format cpath reads (OTLP JSON or protobuf, Jaeger JSON, Zipkin v1 or v2 JSON, a cpath record event log); it starts with "hello, world, th". Use --input-format to force one.`));
    const pkg = root('package.json');
    await expect(importPath(pkg)).rejects.toBeInstanceOf(InputError);
  });

  it('a directory is an InputError', async () => {
    const dir = join(tmp.dir, 'traces.d');
    await mkdir(dir);
    await expect(importPath(dir)).rejects.toThrow(new InputError(`${dir}: is a directory; give trace files`));
  });

  it('a missing file is an InputError', async () => {
    const path = join(tmp.dir, 'no-such-trace.jsonl');
    await expect(importPath(path)).rejects.toThrow(new InputError(`${path}: no such file`));
  });
});

describe('damaged and unusual inputs', () => {
  it('a truncated gzip file: every complete line before the damage is kept, the damage reported', async () => {
    const original = readFileSync(SAMPLE.jsonl);
    const gz = gzipSync(original);
    const cut = gz.subarray(0, Math.floor(gz.length * 0.7));
    // What can be decoded from the cut stream, independently of the dispatcher.
    const prefix = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
    const completeLines = prefix.split('\n').slice(0, -1);
    expect(completeLines.length).toBeGreaterThan(5);
    expect(completeLines.length).toBeLessThan(31);
    const expected = await importBytes(`${completeLines.join('\n')}\n`, 'prefix.jsonl');

    const got = await importAs(cut, 'shop.otlp.jsonl.gz');
    expect(got.summary).toMatchObject({ format: 'otlp-json', gzip: true, bytes: cut.length, spans: expected.spans.length });
    expect(dumpSpans(got.spans)).toEqual(dumpSpans(expected.spans));
    // One damaged stream, reported once, as gzip damage (the partial last line is part of it).
    expect(diagRows(got.diagnostics, got.path, 'shop.otlp.jsonl.gz')).toEqual([
      ['input_truncated', 1, expect.stringMatching(/^shop\.otlp\.jsonl\.gz: the gzip stream is damaged or incomplete \(.+\); everything before the damage was kept$/)],
    ]);
  });

  it('gzip damage before anything could be decoded is reported, not taken for an empty input', async () => {
    const gz = gzipSync(readFileSync(otlpFixture('collector-file-exporter.jsonl')));
    const damaged = Buffer.from(gz);
    for (let i = damaged.length - 8; i < damaged.length - 4; i++) damaged[i] = (damaged[i] ?? 0) ^ 0xff; // the CRC32
    const got = await importAs(damaged, 'cfe.jsonl.gz');
    expect(got.summary).toMatchObject({ format: undefined, detectedBy: 'empty', gzip: true, spans: 0 });
    expect(diagRows(got.diagnostics, got.path, 'cfe.jsonl.gz')).toEqual([
      ['input_truncated', 1, 'cfe.jsonl.gz: the gzip stream is damaged or incomplete (incorrect data check); everything before the damage was kept'],
    ]);
  });

  it('a UTF-8 byte order mark at the start is skipped (JSON Lines, one document, gzip)', async () => {
    const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
    for (const name of ['collector-file-exporter.jsonl', 'pretty-printed.json', 'ids-base64.json']) {
      const plain = await importPath(otlpFixture(name));
      const content = Buffer.concat([BOM, readFileSync(otlpFixture(name))]);
      for (const [n, c] of [
        [name, content],
        [`${name}.gz`, gzipSync(content)],
      ] as const) {
        const got = await importAs(c, n);
        expect(got.summary.format, n).toBe('otlp-json');
        // Offsets count from after the BOM.
        expect(dumpSpans(got.spans), n).toEqual(dumpSpans(plain.spans));
        expect(got.diagnostics, n).toEqual([]);
      }
    }
  });

  it('a stray closing brace after a document ends the read with a diagnostic (it used to loop forever)', async () => {
    for (const [name, found] of [
      ['stray-closing-brace.json', "'}'"],
      ['comma-separated-documents.json', "','"],
    ] as const) {
      const path = inputFixture(name);
      const got = await importPath(path);
      expect(dumpSpans(got.spans), name).toEqual([
        `6d1f0a2b3c4d5e6f708192a3b4c5d6e7 5000000000000001 < - server "GET /stray" ${name.startsWith('stray') ? 'stray@stray' : 'comma@comma'} 1764151200000000000 +3000000ns unset {} @27`,
      ]);
      expect(diagRows(got.diagnostics, path, name), name).toEqual([['line_unparsable', 1, `${name}@687: expected a value, found ${found}; the rest of this input was not read`]]);
    }
  });
});

describe('streaming a big document', () => {
  it('imports every span of a ~20 MB single-line document (one ResourceSpans of 50k spans) in document mode', async () => {
    const N = 50_000;
    const T0 = 1764151200000000000n;
    const pad = 'x'.repeat(80);
    const parts: string[] = [];
    for (let i = 0; i < N; i++) {
      const sid = (i + 1).toString(16).padStart(16, '0');
      const tid = (Math.floor(i / 10) + 1).toString(16).padStart(32, '0');
      const parent = i % 10 === 0 ? '' : `"parentSpanId":"${(i - (i % 10) + 1).toString(16).padStart(16, '0')}",`;
      const start = T0 + BigInt(i) * 1000n;
      parts.push(
        `{"traceId":"${tid}","spanId":"${sid}",${parent}"name":"op ${i % 10}","kind":${i % 10 === 0 ? 2 : 1},"startTimeUnixNano":"${start}","endTimeUnixNano":${start + 500n},` +
          `"attributes":[{"key":"seq","value":{"intValue":"${i}"}},{"key":"pad","value":{"stringValue":"${pad}"}}],"status":{}}`,
      );
    }
    const head = '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"big"}}]},"scopeSpans":[{"scope":{"name":"shop"},"spans":[';
    const text = `${head}${parts.join(',')}]}]}]}\n`;
    // Longer than the 16 MiB the dispatcher looks ahead for the end of a first line.
    expect(text.length).toBeGreaterThan(16 * 1024 * 1024);
    expect(text.length).toBeLessThan(24 * 1024 * 1024);
    const path = join(tmp.dir, 'big.json');
    await writeFile(path, text);

    const spans: { spanId: string; seq: unknown; startNs: bigint; endNs: bigint; offset: number | undefined; line: number | undefined }[] = [];
    const diag = new Diagnostics();
    const summary = await readInput(path, {
      diag,
      resources: new ResourceInterner(),
      emit: (s) => spans.push({ spanId: s.spanId, seq: s.attributes['seq'], startNs: s.startNs, endNs: s.endNs, offset: s.source.offset, line: s.source.line }),
    });
    expect(summary).toEqual({ file: path, format: 'otlp-json', detectedBy: 'content', gzip: false, bytes: text.length, spans: N });
    expect(diag.entries()).toEqual([]);
    expect(spans).toHaveLength(N);
    // Document mode: byte offsets (of the one ResourceSpans), never line numbers.
    expect(spans.every((s) => s.offset === '{"resourceSpans":['.length && s.line === undefined)).toBe(true);
    for (let i = 0; i < N; i += 4999) {
      const s = spans[i];
      expect(s).toEqual({ spanId: (i + 1).toString(16).padStart(16, '0'), seq: i, startNs: T0 + BigInt(i) * 1000n, endNs: T0 + BigInt(i) * 1000n + 500n, offset: 18, line: undefined });
    }
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(N);
  });
});
