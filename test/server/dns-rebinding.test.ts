// DNS rebinding (issue 15, finding 3): a page at http://evil.example whose name is re-pointed at
// 127.0.0.1 reaches a loopback `cpath serve` as "same origin". The query API and the live page
// answer only loopback names in `Host` (plus --allowed-host names); the OTLP/HTTP receiver
// refuses requests a browser sent (Origin, Sec-Fetch-Site) unless --cors allows their origin.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0, jsonRequest, postOtlp, rawRequest, spanIdFor, startTestServer, traceIdFor, type RawReply, type TestServer } from '../helpers/serve-harness.js';

const JSON_TYPE = 'application/json';
const ALLOWED = 'https://ui.example';

let srv: TestServer;
let port: number;
beforeAll(async () => {
  srv = await startTestServer({ cors: [ALLOWED, 'https://*.wild.example'] });
  port = Number(new URL(srv.api).port);
});
afterAll(async () => {
  await srv.stop();
});

const jsonBody = (r: RawReply): Record<string, unknown> => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
const withHost = (base: string, path: string, host: string): Promise<RawReply> => rawRequest(`${base}${path}`, { headers: { Host: host } });

describe('query API and live page: Host when bound to loopback', () => {
  it('answers localhost, 127.0.0.1 and [::1], with the listener port or none', async () => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost', '127.0.0.1', '[::1]', `LocalHost:${port}`]) {
      for (const path of ['/', '/api', '/api/traces', '/healthz']) {
        expect((await withHost(srv.api, path, host)).status, `${host} ${path}`).toBe(200);
      }
    }
  });

  it('refuses any other name, a wrong port and look-alikes with 403 and a message naming --allowed-host', async () => {
    for (const host of [`evil.example:${port}`, 'evil.example', `localhost:${port + 1}`, `127.0.0.1.evil.example:${port}`, `localhost.:${port}`, `localhost.evil.example`, `[::2]:${port}`]) {
      for (const path of ['/', '/api', '/api/traces', '/api/page', '/metrics', '/?token=x']) {
        const r = await withHost(srv.api, path, host);
        expect(r.status, `${host} ${path}`).toBe(403);
        expect(r.headers['content-type']).toBe(JSON_TYPE);
        expect(String(jsonBody(r).error), `${host} ${path}`).toMatch(/--allowed-host/);
      }
    }
  });

  it('--allowed-host adds names (any listener port or none) and name:port pairs (that port only)', async () => {
    const s = await startTestServer({ allowedHosts: ['cpath.test', 'Proxy.Test:8443'] });
    try {
      const p = Number(new URL(s.api).port);
      for (const host of ['cpath.test', `cpath.test:${p}`, 'CPATH.test', 'proxy.test:8443', `localhost:${p}`]) expect((await withHost(s.api, '/api', host)).status, host).toBe(200);
      for (const host of ['proxy.test', `proxy.test:${p}`, 'cpath.test:9', 'evil.example']) expect((await withHost(s.api, '/api', host)).status, host).toBe(403);
    } finally {
      await s.stop();
    }
  });

  it('--allowed-host "*" turns the check off', async () => {
    const s = await startTestServer({ allowedHosts: ['*'] });
    try {
      expect((await withHost(s.api, '/api', 'anything.example')).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('does not check Host on a non-loopback address unless --allowed-host is given', async () => {
    const open = await startTestServer({ api: { host: '0.0.0.0', port: 0 } });
    try {
      const p = new URL(open.api).port;
      expect((await rawRequest(`http://127.0.0.1:${p}/api`, { headers: { Host: 'traces.example' } })).status).toBe(200);
    } finally {
      await open.stop();
    }
    const named = await startTestServer({ api: { host: '0.0.0.0', port: 0 }, allowedHosts: ['traces.example'] });
    try {
      const p = new URL(named.api).port;
      expect((await rawRequest(`http://127.0.0.1:${p}/api`, { headers: { Host: 'traces.example' } })).status).toBe(200);
      expect((await rawRequest(`http://127.0.0.1:${p}/api`, { headers: { Host: 'evil.example' } })).status).toBe(403);
    } finally {
      await named.stop();
    }
  });
});

describe('cpath serve --allowed-host (the CLI)', () => {
  it('takes the flag more than once, with and without a port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpath-hosts-'));
    const child = spawn(process.execPath, ['bin/cpath.js', 'serve', '--store', dir, '--otlp-http', 'off', '--otlp-grpc', 'off', '--api', '127.0.0.1:0', '--allowed-host', 'a.test', '--allowed-host', 'b.test:9'], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const api = await new Promise<string>((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error(`cpath serve did not start; stderr:\n${err}`)), 15_000);
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString('utf8');
          const m = /API on (http:\/\/[^/\s;]+)\//.exec(err);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const p = new URL(api).port;
      expect((await withHost(api, '/api', `a.test:${p}`)).status).toBe(200);
      expect((await withHost(api, '/api', 'b.test:9')).status).toBe(200);
      expect((await withHost(api, '/api', `b.test:${p}`)).status).toBe(403);
      expect((await withHost(api, '/api', 'c.test')).status).toBe(403);
    } finally {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

let n = 0;
function request(): { traceId: string; body: Buffer } {
  const i = n++;
  const traceId = traceIdFor(0xd45, i);
  return { traceId, body: jsonRequest({ rebind: [{ traceId, spanId: spanIdFor(i), name: 'GET /x', startNs: T0, endNs: T0 + 1_000_000n }] }) };
}
const stored = (traceId: string): number => srv.server.store.spansOfTrace(traceId, srv.server.live.resources).length;

describe('OTLP/HTTP: requests a browser sent', () => {
  it('refuses an Origin that --cors does not allow (the rebinding page is "same origin"), storing nothing', async () => {
    const cases: Record<string, string>[] = [{ Origin: 'https://evil.example' }, { Origin: `http://evil.example:${port}`, 'Sec-Fetch-Site': 'same-origin' }, { Origin: 'null' }, { Origin: 'https://example.org.wild.example.evil' }];
    for (const headers of cases) {
      const { traceId, body } = request();
      const r = await postOtlp(srv.otlp, body, JSON_TYPE, headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
      expect(String(jsonBody(r).message)).toMatch(/--cors/);
      expect(stored(traceId)).toBe(0);
    }
  });

  it('refuses Sec-Fetch-Site cross-site / same-site / same-origin without an allowed Origin', async () => {
    for (const site of ['cross-site', 'same-site', 'same-origin']) {
      const { traceId, body } = request();
      const r = await postOtlp(srv.otlp, body, JSON_TYPE, { 'Sec-Fetch-Site': site });
      expect(r.status, site).toBe(403);
      expect(stored(traceId)).toBe(0);
    }
  });

  it('accepts an allowed origin (exact or by a * pattern) with Access-Control-Allow-Origin, and exporters that send no Origin', async () => {
    for (const [headers, acao] of [
      [{ Origin: ALLOWED, 'Sec-Fetch-Site': 'cross-site' }, ALLOWED],
      [{ Origin: 'https://app.wild.example' }, 'https://app.wild.example'],
      [{}, undefined],
      [{ 'Sec-Fetch-Site': 'none' }, undefined],
    ] as const) {
      const { traceId, body } = request();
      const r = await postOtlp(srv.otlp, body, JSON_TYPE, headers);
      expect(r.status, JSON.stringify(headers)).toBe(200);
      expect(r.headers['access-control-allow-origin']).toBe(acao);
      expect(stored(traceId)).toBe(1);
    }
  });

  it('answers a preflight for a * pattern origin, and refuses one that only looks like it', async () => {
    const ok = await rawRequest(`${srv.otlp}/v1/traces`, { method: 'OPTIONS', headers: { Origin: 'https://a.b.wild.example', 'Access-Control-Request-Method': 'POST' } });
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://a.b.wild.example');
    expect(ok.headers.vary).toMatch(/Origin/);
    const bad = await rawRequest(`${srv.otlp}/v1/traces`, { method: 'OPTIONS', headers: { Origin: 'https://wild.example.evil', 'Access-Control-Request-Method': 'POST' } });
    expect(bad.status).toBe(403);
  });
});
