// The event-log parser (collectors/bpftrace/parse.ts): inline logs, every column and diagnostic
// checked. Inputs are fed in 7-byte chunks unless a test says otherwise.
import { describe, expect, it } from 'vitest';
import { looksLikeEventLog } from '../../collectors/bpftrace/parse.js';
import { medianBigint } from '../../src/model/time.js';
import { BOOT0, at, diagTable, lines, parseText, rows, toJson, us } from '../helpers/events.js';

const HEADER = [
  '# cpath-events 1',
  '# host: box-1',
  '# kernel: 6.18.0',
  '# bpftrace: bpftrace v0.17.0',
  '# command: node server.js --port 8080',
  '# target-pids: 100 200',
  '# scope: system',
  '# stacks: on',
  '# probes: uprobe:/usr/bin/node:uv_queue_work usdt:/usr/bin/node:node:gc__start',
  '# some-future-key: ignored',
];

// One of every kind, in time order, on two CPUs.
const EVERY_KIND = lines(
  ...HEADER,
  'Attaching 9 probes...',
  [0, 'SW 0 0 0 0 101 swapper/0\tnode'],
  [1, 'UE 0 100 101 uv_queue_work'],
  [2, 'US 0 100 101 node:gc__start'],
  [3, 'WN 0 100 101 102 node'],
  [4, 'WK 0 100 101 201 - node\tpg worker'], // comm with a space
  [5, 'WK 1 200 201 202 softirq:3 pg worker\tpg-wal'],
  [6, 'RN 1 200 201 pg-écrivain'], // multi-byte comm, split across chunks
  [7, 'UX 0 100 101 uv_queue_work'],
  [8, 'ST 0 100 101 u'],
  '',
  '        __futex_abstimed_wait_common+0x1a',
  '        pthread_cond_wait+0x2b1',
  '',
  [8, 'SW 0 100 101 1 0 node\tswapper/0'],
  [9, 'EX 1 200 201 pg-écrivain'],
  [9.5, 'AN 1700000000.123456'],
  '# tracer-pids: 4242',
  '# end lost=0 exit=0',
);

describe('event log parser', () => {
  it('reads every kind of line into columns (text form)', async () => {
    const { log, diag } = await parseText(EVERY_KIND);
    expect(diagTable(diag)).toEqual([]);
    expect(log.header).toEqual({
      version: 1,
      host: 'box-1',
      kernel: '6.18.0',
      bpftrace: 'bpftrace v0.17.0',
      command: 'node server.js --port 8080',
      targetPids: [100, 200],
      tracerPids: [4242],
      scope: 'system',
      stacks: true,
      probes: ['uprobe:/usr/bin/node:uv_queue_work', 'usdt:/usr/bin/node:node:gc__start'],
      end: { lost: 0, exit: '0' },
    });
    expect(log.originBootNs).toBe(BOOT0);
    expect(log.complete).toBe(true);
    expect(log.lostEvents).toBe(0);
    expect(log.reordered).toBe(0);
    expect(log.lineCount).toBe(29);
    const r = rows(log).map(({ line: _line, ...rest }) => rest);
    expect(r).toEqual([
      { ts: 0, kind: 'SW', cpu: 0, pid: 0, tid: 0, arg: 0, arg2: 101, s1: 'swapper/0', s2: 'node' },
      { ts: us(1), kind: 'UE', cpu: 0, pid: 100, tid: 101, arg: -1, arg2: -1, s1: 'uv_queue_work', s2: null },
      { ts: us(2), kind: 'US', cpu: 0, pid: 100, tid: 101, arg: -1, arg2: -1, s1: 'node:gc__start', s2: null },
      { ts: us(3), kind: 'WN', cpu: 0, pid: 100, tid: 101, arg: -1, arg2: 102, s1: 'node', s2: null },
      { ts: us(4), kind: 'WK', cpu: 0, pid: 100, tid: 101, arg: log.strings.indexOf('-'), arg2: 201, s1: 'node', s2: 'pg worker' },
      { ts: us(5), kind: 'WK', cpu: 1, pid: 200, tid: 201, arg: log.strings.indexOf('softirq:3'), arg2: 202, s1: 'pg worker', s2: 'pg-wal' },
      { ts: us(6), kind: 'RN', cpu: 1, pid: 200, tid: 201, arg: -1, arg2: -1, s1: 'pg-écrivain', s2: null },
      { ts: us(7), kind: 'UX', cpu: 0, pid: 100, tid: 101, arg: -1, arg2: -1, s1: 'uv_queue_work', s2: null },
      { ts: us(8), kind: 'ST', cpu: 0, pid: 100, tid: 101, arg: 0, arg2: -1, s1: 'u', s2: null },
      { ts: us(8), kind: 'SW', cpu: 0, pid: 100, tid: 101, arg: 1, arg2: 0, s1: 'node', s2: 'swapper/0' },
      { ts: us(9), kind: 'EX', cpu: 1, pid: 200, tid: 201, arg: -1, arg2: -1, s1: 'pg-écrivain', s2: null },
    ]);
    expect(rows(log).map((x) => x.line)).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20, 25, 26]);
    expect(log.stacks).toEqual([{ kind: 'u', frames: ['__futex_abstimed_wait_common+0x1a', 'pthread_cond_wait+0x2b1'] }]);
    // The anchor: boot ns exact (above 2^53), unix from `<sec>.<usec>` without doubles.
    expect(log.anchors).toEqual([{ bootNs: BOOT0 + 9_500n, unixNs: 1_700_000_000_123_456_000n, source: 'AN', line: 27, consistent: true }]);
  });

  it('reads the bpftrace -f json form into the same columns', async () => {
    const text = await parseText(EVERY_KIND);
    const json = toJson(EVERY_KIND.replace('Attaching 9 probes...', '{"type": "attached_probes", "data": {"probes": 9}}'));
    expect(json).toContain('{"type": "printf", "data": "' + at(0) + ' SW 0 0 0 0 101 swapper/0\\tnode\\n"}');
    const { log, diag } = await parseText(json, { chunk: 13 });
    expect(diagTable(diag)).toEqual([]);
    expect(rows(log).map(({ line: _l, ...rest }) => rest)).toEqual(rows(text.log).map(({ line: _l, ...rest }) => rest));
    expect(log.stacks).toEqual(text.log.stacks);
    expect(log.header).toEqual(text.log.header);
    expect(log.complete).toBe(true);
  });

  it('decodes json escapes, and falls back to JSON.parse for those the fast path leaves alone', async () => {
    const { log, diag } = await parseText(
      [
        `{"type": "printf", "data": "${at(0)} EX 0 1 2 a\\\\b\\/c\\n"}`, // \\ and \/: fast path
        `{"type": "printf", "data": "${at(1)} EX 0 1 3 say \\"hi\\"\\n"}`, // \": JSON.parse
        `{"type": "printf", "data": "${at(2)} EX 0 1 4 caf\\u00e9\\n"}`, // \u: JSON.parse
        `{"type":"printf","data":"${at(3)} EX 0 1 5 compact\\n"}`, // other spacing: JSON.parse
        `{"type": "printf", "data": "${at(4)} EX 0 1 6 two\\n${at(5)} EX 0 1 7 lines\\n"}`,
        '',
        '',
      ].join('\n'),
    );
    expect(diagTable(diag)).toEqual([]);
    expect(rows(log).map((x) => [x.tid, x.s1, x.line])).toEqual([
      [2, 'a\\b/c', 1],
      [3, 'say "hi"', 2],
      [4, 'café', 3],
      [5, 'compact', 4],
      [6, 'two', 5],
      [7, 'lines', 5],
    ]);
  });

  it('sorts CPUs that came out of time order, stably, and counts the events that were behind', async () => {
    // bpftrace drains per-CPU buffers one after the other: CPU 1's block comes after CPU 0's.
    //   file order: cpu0 @10 @20 @30 | cpu1 @5 @20 @25 | cpu0 @40
    //   time order: @5(c1) @10(c0) @20(c0, earlier in the file) @20(c1) @25(c1) @30(c0) @40(c0)
    const { log, diag } = await parseText(
      lines(
        [10, 'UE 0 1 10 a'],
        [20, 'UE 0 1 10 b'],
        [30, 'UE 0 1 10 c'],
        [5, 'UE 1 1 11 d'],
        [20, 'UE 1 1 11 e'],
        [25, 'UE 1 1 11 f'],
        [40, 'UE 0 1 10 g'],
      ),
    );
    expect(rows(log).map((x) => [x.ts, x.s1, x.line])).toEqual([
      [0, 'd', 4],
      [us(5), 'a', 1],
      [us(15), 'b', 2],
      [us(15), 'e', 5],
      [us(20), 'f', 6],
      [us(25), 'c', 3],
      [us(35), 'g', 7],
    ]);
    expect(log.originBootNs).toBe(BOOT0 + 5000n);
    expect(log.reordered).toBe(3);
    expect(diagTable(diag)).toEqual([['events_reordered', 3, "events.log:4: CPU 1's event is 25000 ns older than one read before it"]]);
  });

  it('keeps timestamps exact beyond 2^53 ns', async () => {
    const { log } = await parseText(lines('9007199254740993 EX 0 1 1 a', '9007199254740995 EX 0 1 2 b', '9007299254740994 EX 0 1 3 c'));
    expect(log.originBootNs).toBe(9007199254740993n);
    expect([...log.ts]).toEqual([0, 2, 100_000_000_001]);
  });

  it('counts lost events (text, json and # end)', async () => {
    const text = lines('# cpath-events 1', [0, 'EX 0 1 1 a'], 'Lost 5 events', [1, 'EX 0 1 2 b'], '{"type": "lost_events", "data": {"events": 7}}', '# end lost=12 exit=0');
    const { log, diag } = await parseText(text);
    expect(log.lostEvents).toBe(12);
    expect(diagTable(diag)).toEqual([['events_lost', 12, 'events.log:3: bpftrace lost 5 events']]);
    // cpath record's own count is larger: it wins.
    const more = await parseText(text.replace('lost=12', 'lost=40'));
    expect(more.log.lostEvents).toBe(40);
    expect(diagTable(more.diag)).toEqual([['events_lost', 40, 'events.log:3: bpftrace lost 5 events']]);
  });

  it('counts unknown and garbled lines with file:line, and goes on', async () => {
    const { log, diag } = await parseText(
      lines(
        '# cpath-events 1',
        [0, 'EX 0 1 1 a'],
        'WARNING: something bpftrace said', // 3
        [1, 'SW 0 1 1 1 2 no-tab-between-comms'], // 4
        [2, 'ZZ 0 1 1 unknown kind'], // 5
        `${at(3)}`, // 6: a bare timestamp
        [4, 'WK 0 x 1 2 - a\tb'], // 7: not a number
        '        a frame with no ST before it', // 8
        '{"type": "map", "data": {}}', // 9: a json type this format never prints
        '{"type": "printf", "data": "nope', // 10: broken json
        [5, 'AN 1700000000'], // 11: no fraction
        [6, 'EX 0 1 2 b'],
        '# end lost=0 exit=0',
      ),
      { file: 'rec/events.log' },
    );
    expect(rows(log).map((x) => x.s1)).toEqual(['a', 'b']);
    expect(diagTable(diag)).toEqual([['event_unparsable', 9, 'rec/events.log:3: "WARNING: something bpftrace said"']]);
    expect(log.complete).toBe(true);
  });

  it('reports a truncated log: no # end, and a last line cut short (dropped)', async () => {
    const body = lines('# cpath-events 1', [0, 'EX 0 1 1 a'], [1, 'SW 0 1 1 0 2 a\tb']);
    const noEnd = await parseText(body);
    expect(noEnd.log.count).toBe(2);
    expect(noEnd.log.complete).toBe(false);
    expect(diagTable(noEnd.diag)).toEqual([['log_truncated', 1, 'events.log:3: no "# end" line: the recording was cut short']]);

    const cut = await parseText(`${body}${at(2)} SW 0 1 2 1 1 b\ta`.slice(0, -2));
    expect(cut.log.count).toBe(2);
    expect(diagTable(cut.diag)).toEqual([['log_truncated', 1, `events.log:4: the last line is cut short: "${at(2)} SW 0 1 2 1 1 b"`]]);

    // json: the cut line is not valid json; counted as truncation, not as an unparsable line.
    const jcut = await parseText(toJson(body) + `{"type": "printf", "data": "${at(2)} EX 0 1`);
    expect(jcut.log.count).toBe(2);
    expect(diagTable(jcut.diag).map((d) => d[0])).toEqual(['log_truncated']);

    // A final `# end` without its newline is fine.
    const endNoNl = await parseText(`${body}# end lost=0 exit=0`);
    expect(diagTable(endNoNl.diag)).toEqual([]);
    expect(endNoNl.log.complete).toBe(true);

    // Raw bpftrace output (no cpath header) is not judged by its missing `# end`.
    const raw = await parseText(lines('Attaching 3 probes...', [0, 'EX 0 1 1 a']));
    expect(diagTable(raw.diag)).toEqual([]);
    expect(raw.log.complete).toBe(false);
  });

  it('parses the same from any chunking (byte by byte, CRLF lines)', async () => {
    const whole = await parseText(EVERY_KIND, { chunk: 1 << 20 });
    const bytes = await parseText(EVERY_KIND, { chunk: 1 });
    const crlf = await parseText(EVERY_KIND.replace(/\n/g, '\r\n'), { chunk: 3 });
    expect(rows(bytes.log)).toEqual(rows(whole.log));
    expect(rows(crlf.log)).toEqual(rows(whole.log));
    expect(crlf.log.stacks).toEqual(whole.log.stacks);
    expect(diagTable(crlf.diag)).toEqual([]);
  });

  it('drops an anchor 1 s off the others and keeps the rest exact', async () => {
    // Offsets (unix - boot) relative to O = 1_700_000_000_000_000_000 - BOOT0:
    //   # clock: +0 and +1000 ns (cpath's exact readings: the reference is their median, +500)
    //   AN: +3000, -2000, +1 s + 5000 (the v0.17 rounding bug: dropped), +5000
    const O = 1_700_000_000_000_000_000n - BOOT0;
    const an = (bootUs: number, deltaNs: bigint): string => {
      const boot = BOOT0 + BigInt(bootUs * 1000);
      const unix = boot + O + deltaNs;
      return `${boot} AN ${unix / 1_000_000_000n}.${((unix % 1_000_000_000n) / 1000n).toString().padStart(6, '0')}`;
    };
    const { log, diag } = await parseText(
      lines(
        '# cpath-events 1',
        `# clock: ${BOOT0 - 1000n} ${BOOT0 - 1000n + O}`,
        [0, 'EX 0 1 1 a'],
        an(100, 3000n),
        an(1_000_100, -2000n),
        an(2_000_100, 1_000_005_000n),
        an(3_000_100, 5000n),
        `# clock: ${BOOT0 + 4_000_000_000n} ${BOOT0 + 4_000_000_000n + O + 1000n}`,
        '# end lost=0 exit=0',
      ),
    );
    expect(log.anchors.map((a) => [a.source, a.unixNs - a.bootNs - O, a.consistent, a.line])).toEqual([
      ['clock', 0n, true, 2],
      ['AN', 3000n, true, 4],
      ['AN', -2000n, true, 5],
      ['AN', 1_000_005_000n, false, 6],
      ['AN', 5000n, true, 7],
      ['clock', 1000n, true, 8],
    ]);
    expect(diagTable(diag)).toEqual([['anchor_inconsistent', 1, 'events.log:6: AN anchor is 1000.004 ms off the others (bpftrace v0.17 strftime rounding): dropped']]);
  });

  it('takes exact medians of bigints', () => {
    const big = 1_700_000_000_000_000_001n;
    expect(medianBigint([big + 4n, big, big + 1n])).toBe(big + 1n);
    expect(medianBigint([big + 3n, big])).toBe(big + 1n);
    expect(medianBigint([-3n, 0n])).toBe(-2n);
  });

  it('recognises event logs for the format dispatcher', () => {
    const yes = (s: string): boolean => looksLikeEventLog(Buffer.from(s));
    expect(yes(EVERY_KIND)).toBe(true);
    expect(yes(lines([0, 'SW 0 0 0 0 1 a\tb']))).toBe(true);
    expect(yes(`Attaching 4 probes...\n${at(0)} WK 0 1 1 2 - a\tb\n`)).toBe(true);
    expect(yes(`\n{"type": "attached_probes", "data": {"probes": 4}}\n{"type": "printf", "data": "${at(0)} AN 1700000000.000001\\n"}\n`)).toBe(true);
    expect(yes('{"resourceSpans":[{"resource":{}}]}\n')).toBe(false);
    expect(yes('{"data":[{"traceID":"abc","spans":[]}]}')).toBe(false);
    expect(yes('[{"traceId":"1","id":"2"}]')).toBe(false);
    expect(yes('Attaching 4 probes...\nhello world\n')).toBe(false);
    expect(yes('12 13 14\n')).toBe(false);
    expect(yes('')).toBe(false);
  });
});
