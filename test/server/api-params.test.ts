// Every parameter of the query API, with the values that used to answer 500 (times and
// durations past int64 or before 1970, cursors past 2^63, bad percent-encoding) and the usual
// malformed ones: each gets a 400 whose message names the API parameter (never a CLI flag).
// Edge values that are in range are answered 200.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { getJson, startTestServer, type TestServer } from '../helpers/serve-harness.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv.stop();
});

const b64 = (s: string): string => Buffer.from(s).toString('base64url');
const HEX32 = 'ab'.repeat(16);
const HUGE = `1${'0'.repeat(400)}`;

const BAD_TIMES = ['yesterday-ish', '0001-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '999999999999h', `${HUGE}h`, '9999-12-31T23:59:59Z', '2262-04-12T00:00:00Z'];
const BAD_DURATIONS = ['fast', '-1s', '99999999999999999h', `${HUGE}s`, '300y'];
const BAD_LIMITS = ['abc', '0', '1001', '-1', '1e3', '99999999999999999999999'];
const BAD_CURSORS = ['not-a-cursor', b64('12.xyz'), b64(`99999999999999999999.${HEX32}`), b64(`9223372036854775808.${HEX32}`)];
const BAD_ATTRS = ['novalue', '=x'];

/** [path and query, the parameter the message must name]. */
const BAD: [string, string][] = [
  ...['/api/page', '/api/endpoints', '/api/outliers', '/api/traces'].flatMap((p) => ['since', 'until'].flatMap((n) => BAD_TIMES.map((v): [string, string] => [`${p}?${n}=${encodeURIComponent(v)}`, n]))),
  ...['minDuration', 'maxDuration'].flatMap((n) => BAD_DURATIONS.map((v): [string, string] => [`/api/traces?${n}=${encodeURIComponent(v)}`, n])),
  ...BAD_LIMITS.map((v): [string, string] => [`/api/traces?limit=${v}`, 'limit']),
  ...BAD_CURSORS.map((v): [string, string] => [`/api/traces?cursor=${v}`, 'cursor']),
  ...BAD_ATTRS.map((v): [string, string] => [`/api/traces?attr=${encodeURIComponent(v)}`, 'attr']),
  ...['%ZZ', '%E0%A4%A', '%', 'not-hex', '0'.repeat(32), 'ab'.repeat(17)].map((v): [string, string] => [`/api/traces/${v}`, 'trace id']),
];

const GOOD: string[] = [
  '/api/page?since=1970-01-01T00:00:00Z&until=2262-04-11T23:47:16Z',
  '/api/endpoints?since=1h&until=0s',
  '/api/outliers?service=a&operation=b&since=1970-01-01T00:00:00Z',
  '/api/traces?since=1970-01-01T00:00:00Z&until=2262-04-11T23:47:16Z',
  '/api/traces?minDuration=0&maxDuration=100000d&limit=1000&service=s&operation=o',
  `/api/traces?cursor=${b64(`9223372036854775807.${HEX32}`)}`,
  `/api/traces?attr=k%3Dv&cursor=${b64(`0.${HEX32}`)}`,
  '/api/diagnostics',
];

describe('query API parameters', () => {
  const short = (s: string): string => (s.length > 90 ? `${s.slice(0, 60)}...(${s.length} chars)` : s);
  it.each(BAD.map(([p, n]) => [short(p), n, p]))('%s: 400 naming "%s"', async (_label, param, pathAndQuery) => {
    const r = await getJson<{ error?: string }>(`${srv.api}${pathAndQuery}`);
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body.error).toMatch(new RegExp(`^${param}: `));
    expect(r.body.error).not.toMatch(/--/);
  });

  it.each(GOOD)('%s: 200', async (pathAndQuery) => {
    const r = await getJson(`${srv.api}${pathAndQuery}`);
    expect(r.status).toBe(200);
  });

  it('an unknown trace id in range is 404, not 400', async () => {
    const r = await getJson<{ error?: string }>(`${srv.api}/api/traces/%61${'b'.repeat(31)}`);
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/not stored/);
  });

  it('a request target that is not a URL is 400', async () => {
    const r = await sendRaw('GET http://[bad HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(r).toMatch(/^HTTP\/1\.1 400 /);
  });
});

async function sendRaw(request: string): Promise<string> {
  const url = new URL(srv.api);
  return new Promise((resolve, reject) => {
    const s = connect(Number(url.port), url.hostname, () => s.end(request));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
  });
}
