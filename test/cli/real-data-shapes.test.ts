// The CLI on hand-written fixtures of the shapes real data from other tools has (issue 14): an
// Envoy-style shared Zipkin root, a two-level async subtree (with a skewed host under it), and
// the exports that draw them. Every expected picture is checked by hand against the fixture's
// timeline drawn above it.
import { describe, expect, it } from 'vitest';
import { cpath } from '../helpers/cli.js';

const FIX = 'test/fixtures/zipkin';

interface JaegerOut {
  data: { spans: { spanID: string; operationName: string; startTime: number; duration: number; references: { spanID: string }[] }[] }[];
}
interface PerfettoOut {
  traceEvents: { ph: string; pid: number; name: string; ts: number; dur: number; args?: Record<string, unknown> }[];
}

describe('an Envoy-style shared root (Zipkin, no client half)', () => {
  it('keeps the root whole: its children are under it, no parent is missing, and the path goes through them', async () => {
    // ms after T0       0    1    1.5        6.5  7    8    9    10
    // ingress /users    |==========================================|  envoy, shared, no client half
    // get /users             |=========================|              envoy CLIENT
    // get /users (users)          |===============|                   shared half, client present
    // access log                                       |====|
    const r = await cpath(['analyze', `${FIX}/envoy-shared-root.json`, '--trace', '5af7183fb1d4cf5f']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const usersHalf = /users get \/users \(([0-9a-f]{16})\)/.exec(r.stdout)?.[1] ?? '?';
    expect(r.stdout).toBe(
      [
        'trace 00000000000000005af7183fb1d4cf5f  envoy ingress /users  10.0 ms  4 spans  start 2023-11-14T22:13:20.000000000Z',
        'legend: █ on the critical path, ─ elsewhere in the span, ░ off the path (async / other root)',
        '    offset   duration      path  |                                                | span',
        '      0 ns    10.0 ms   3.00 ms  |█████────────────────────────────██████────█████| envoy ingress /users',
        '   1.00 ms    6.00 ms   1.00 ms  |    ████───────────────────────███              |   envoy get /users',
        '   1.50 ms    5.00 ms   5.00 ms  |       █████████████████████████                |     users get /users',
        '   8.00 ms    1.00 ms   1.00 ms  |                                      ██████    |   envoy access log',
        '',
        'critical path, in time order:',
        '        0 ns  +1.00 ms    envoy ingress /users (6b221d5bc9e6496c)',
        '     1.00 ms  +500 µs     envoy get /users (7c332e6cdaf75a7d)',
        `     1.50 ms  +5.00 ms    users get /users (${usersHalf})`,
        '     6.50 ms  +500 µs     envoy get /users (7c332e6cdaf75a7d)',
        '     7.00 ms  +1.00 ms    envoy ingress /users (6b221d5bc9e6496c)',
        '     8.00 ms  +1.00 ms    envoy access log (8d443f7debf86b8e)',
        '     9.00 ms  +1.00 ms    envoy ingress /users (6b221d5bc9e6496c)',
        '',
      ].join('\n'),
    );
    const report = await cpath(['analyze', `${FIX}/envoy-shared-root.json`, '--format', 'json']);
    const codes = (JSON.parse(report.stdout) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code);
    expect(codes).toEqual(['zipkin_shared_split']);
  });

  it('export --to jaeger carries no reference to a span that is not in the trace', async () => {
    const r = await cpath(['export', '--to', 'jaeger', `${FIX}/envoy-shared-root.json`]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as JaegerOut;
    for (const t of out.data) {
      const ids = new Set(t.spans.map((s) => s.spanID));
      for (const s of t.spans) for (const ref of s.references) expect(ids.has(ref.spanID), `${s.operationName} -> ${ref.spanID}`).toBe(true);
    }
    expect(out.data.map((t) => t.spans.filter((s) => s.references.length === 0).map((s) => s.operationName))).toEqual([['ingress /users'], ['ingress /health']]);
  });
});

describe('a two-level async subtree', () => {
  // ms after T0    0    2    3    10            30   32 32.5 33.5 35.5 37.5 38   40
  // get /order     |=========|                                                        api (root)
  // enqueue             |==|                                                          api PRODUCER
  // handle                                       |========================|           worker CONSUMER: async
  // stlogin post                                      |==============|                worker CLIENT
  // post /login                                          |==========|                 auth SERVER, clock +100 ms: raw 132-137, shifted -99.5 ms
  // db insert                                                 |===|                   auth, same host: the same shift
  it('--trace draws every span where it really ran, past the root window, skew-adjusted, not at 0 ns', async () => {
    const r = await cpath(['analyze', `${FIX}/async-subtree-two-levels.json`, '--trace', '7a7a7a7a7a7a7a7a']);
    expect(r.stderr).toBe('');
    // 48 columns over 0-40 ms: 1.2 columns per ms.
    expect(r.stdout).toBe(
      [
        'trace 00000000000000007a7a7a7a7a7a7a7a  api get /order  10.0 ms  6 spans  start 2023-11-14T22:13:20.000000000Z',
        'legend: █ on the critical path, ─ elsewhere in the span, ░ off the path (async / other root)',
        "bars cover 0 ns to 40.0 ms from the root's start (spans outside the root's window)",
        '    offset   duration      path  |                                                | span',
        '      0 ns    10.0 ms   9.00 ms  |████████████                                    | api get /order',
        '   2.00 ms    1.00 ms   1.00 ms  |  ██                                            |   api enqueue',
        '   30.0 ms    10.0 ms            |                                    ░░░░░░░░░░░░|     worker handle  [async]',
        '   32.0 ms    6.00 ms            |                                      ░░░░░░░░  |       worker stlogin post  [async]',
        '   32.5 ms    5.00 ms            |                                       ░░░░░░   |         auth post /login  [skew -99.5 ms, async]',
        '   33.5 ms    2.00 ms            |                                        ░░░     |           auth db insert  [skew -99.5 ms, async]',
        '',
        'critical path, in time order:',
        '        0 ns  +2.00 ms    api get /order (0000000000000001)',
        '     2.00 ms  +1.00 ms    api enqueue (0000000000000002)',
        '     3.00 ms  +7.00 ms    api get /order (0000000000000001)',
        '',
      ].join('\n'),
    );
  });

  it('export --to perfetto draws the subtree skew-adjusted, and --to jaeger keeps the imported times, with every reference resolved', async () => {
    const p = await cpath(['export', '--to', 'perfetto', `${FIX}/async-subtree-two-levels.json`]);
    expect(p.code).toBe(0);
    const slices = (JSON.parse(p.stdout) as PerfettoOut).traceEvents.filter((e) => e.ph === 'X' && e.pid !== 1).map((e) => [e.name, e.ts, e.dur, e.args?.['skewShiftNs']]);
    expect(slices).toEqual([
      ['get /order', 0, 10000, undefined],
      ['enqueue', 2000, 1000, undefined],
      ['handle', 30000, 10000, undefined],
      ['stlogin post', 32000, 6000, undefined],
      ['post /login', 32500, 5000, -99_500_000],
      ['db insert', 33500, 2000, -99_500_000],
    ]);
    const j = await cpath(['export', '--to', 'jaeger', `${FIX}/async-subtree-two-levels.json`]);
    const spans = (JSON.parse(j.stdout) as JaegerOut).data[0]?.spans ?? [];
    expect(spans.map((s) => [s.operationName, s.startTime - 1_700_000_000_000_000, s.duration, s.references.map((x) => x.spanID)])).toEqual([
      ['get /order', 0, 10000, []],
      ['enqueue', 2000, 1000, ['0000000000000001']],
      ['handle', 30000, 10000, ['0000000000000002']],
      ['stlogin post', 32000, 6000, ['0000000000000003']],
      ['post /login', 132000, 5000, ['0000000000000004']],
      ['db insert', 133000, 2000, ['0000000000000005']],
    ]);
  });
});

describe('--group-by KEY when not every root has KEY', () => {
  // Three traces, all roots of service web: two carry http.route /users/:id, the health check
  // has none (only its child has one, which does not count: the root names the endpoint).
  const input = 'test/fixtures/inputs/group-by-some-roots.json';
  interface Out {
    endpoints: { service: string; operation: string; traces: number }[];
    diagnostics: { code: string; severity: string; count: number; example?: string }[];
    traces: { endpoint: { operation: string } }[];
  }
  const run = async (key: string): Promise<Out> => {
    const r = await cpath(['analyze', input, '--group-by', key, '--format', 'json']);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as Out;
  };

  it('puts the roots without KEY in a visible (no KEY) group and counts them in the diagnostics', async () => {
    const out = await run('http.route');
    expect(out.endpoints.map((e) => [e.service, e.operation, e.traces])).toEqual([
      ['web', '/users/:id', 2],
      ['web', '(no http.route)', 1],
    ]);
    expect(out.traces.map((t) => t.endpoint.operation)).toEqual(['/users/:id', '/users/:id', '(no http.route)']);
    expect(out.diagnostics.map((d) => [d.code, d.severity, d.count, d.example])).toEqual([
      ['group_by_missing', 'warning', 1, `--group-by http.route: 1 of 3 analysed traces' root spans lack this attribute; they are grouped under "(no http.route)"`],
    ]);
  });

  it('groups by operation when no root has KEY, and says so with how many roots lacked it', async () => {
    const out = await run('htp.route');
    expect(out.endpoints.map((e) => [e.operation, e.traces])).toEqual([
      ['get /health', 1],
      ['get /users/1', 1],
      ['get /users/2', 1],
    ]);
    expect(out.diagnostics.map((d) => [d.code, d.count, d.example])).toEqual([
      ['group_by_missing', 3, "--group-by htp.route: no root span has this attribute (3 of 3 analysed traces' roots lack it); endpoints are grouped by root operation instead"],
    ]);
    const text = await cpath(['analyze', input, '--group-by', 'htp.route']);
    expect(text.stdout).toContain('warning   group_by_missing ×3');
  });
});
