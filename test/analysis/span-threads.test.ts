// Which thread a span ran on (docs/critical-path.md section 3), and the shared-thread count.
import { describe, expect, it } from 'vitest';
import { countSharedSections, spanThread, type ThreadSource } from '../../analysis/threads/span-threads.js';
import { ThreadNames } from '../../analysis/threads/thread-traces.js';
import { ResourceInterner, type SpanInput } from '../../src/model/span.js';
import { threadModel } from '../helpers/thread-dsl.js';

const model = threadModel(`
  main 100 pid=100: run 0-10
  pool 105 pid=100: run 0-10
  other 200 pid=200: run 0-10
`);
const sources: ThreadSource[] = [{ model, names: new ThreadNames(model) }];
const resources = new ResourceInterner();

function span(attrs: Record<string, string | number>, pid?: number): SpanInput {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: '00f067aa0ba902b7',
    name: 'x',
    kind: 'internal',
    startNs: 1n,
    endNs: 2n,
    status: 'unset',
    attributes: attrs,
    resource: resources.intern({ 'service.name': 's', ...(pid !== undefined ? { 'process.pid': pid } : {}) }),
    source: { file: 't' },
  };
}

describe('spanThread', () => {
  it('uses thread.id when it is an OS thread of the span process, else the main thread', () => {
    expect(spanThread(sources, span({ 'thread.id': 105 }, 100))?.tid).toBe(105);
    expect(spanThread(sources, span({ 'thread.id': '105' }, 100))?.tid).toBe(105);
    // A runtime thread id that is no OS thread of the process (or one of another process).
    expect(spanThread(sources, span({ 'thread.id': 7 }, 100))?.tid).toBe(100);
    expect(spanThread(sources, span({ 'thread.id': 200 }, 100))?.tid).toBe(100);
    expect(spanThread(sources, span({}, 200))?.tid).toBe(200);
    // No process.pid, or a process the log did not record: no thread data.
    expect(spanThread(sources, span({ 'thread.id': 105 }))).toBeUndefined();
    expect(spanThread(sources, span({}, 999))).toBeUndefined();
  });
});

describe('countSharedSections', () => {
  it('counts sections that overlap another trace on the same thread', () => {
    //  thread 1:  A [0,10)   B [5,15)   A [20,30)   A [25,28)
    //  thread 2:  C [0,10)
    const n = countSharedSections([
      { key: '1', traceId: 'A', start: 0n, end: 10n },
      { key: '1', traceId: 'B', start: 5n, end: 15n },
      { key: '1', traceId: 'A', start: 20n, end: 30n },
      { key: '1', traceId: 'A', start: 25n, end: 28n },
      { key: '2', traceId: 'C', start: 0n, end: 10n },
    ]);
    expect(n).toBe(2);
  });
});
