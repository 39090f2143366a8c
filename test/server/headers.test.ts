// Response headers of the query API and the live page (issue 15, finding 9): the page may not be
// framed, no answer may be sniffed as another type, and the token cookie expires and is Secure
// when the browser reached cpath over TLS (cpath serves plain HTTP itself; behind a TLS proxy,
// `X-Forwarded-Proto: https` says so).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startTestServer, type TestServer } from '../helpers/serve-harness.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ token: 'hdr' });
});
afterAll(async () => {
  await srv.stop();
});

const AUTH = { Authorization: 'Bearer hdr' };

describe('query API and page headers', () => {
  it("the page's CSP keeps its directives and adds frame-ancestors 'none'", async () => {
    const r = await rawRequest(`${srv.api}/`, { headers: AUTH });
    expect(r.status).toBe(200);
    const csp = String(r.headers['content-security-policy']).split(';').map((d) => d.trim());
    expect(csp).toEqual(expect.arrayContaining(["default-src 'none'", "script-src 'unsafe-inline'", "style-src 'unsafe-inline'", 'img-src data:', "connect-src 'self'", "frame-ancestors 'none'"]));
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('every API answer carries X-Content-Type-Options: nosniff, errors included', async () => {
    const cases: [string, Record<string, string>, number][] = [
      ['/api', AUTH, 200],
      ['/api/traces', AUTH, 200],
      ['/api/page', AUTH, 200],
      ['/metrics', AUTH, 200],
      ['/healthz', AUTH, 200],
      ['/api/traces?since=nope', AUTH, 400],
      ['/api/traces/%ZZ', AUTH, 400],
      ['/api', {}, 401],
      ['/api', { ...AUTH, Host: 'evil.example' }, 403],
      ['/api/nothing', AUTH, 404],
      ['/?token=hdr', {}, 302],
      ['/?token=wrong', {}, 401],
    ];
    for (const [path, headers, status] of cases) {
      const r = await rawRequest(`${srv.api}${path}`, { headers });
      expect(r.status, path).toBe(status);
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
    }
  });

  it('the token cookie has Max-Age and Expires, HttpOnly and SameSite=Strict; Secure only over TLS', async () => {
    const before = Date.now();
    const plain = await rawRequest(`${srv.api}/?token=hdr`);
    const attrs = (plain.headers['set-cookie']?.[0] ?? '').split(';').map((a) => a.trim());
    expect(attrs[0]).toBe('cpath_token=hdr');
    expect(attrs).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict']));
    const maxAge = Number(attrs.find((a) => a.startsWith('Max-Age='))?.slice(8));
    expect(maxAge).toBeGreaterThan(0);
    const expires = Date.parse(attrs.find((a) => a.startsWith('Expires='))?.slice(8) ?? '');
    expect(Math.abs(expires - (before + maxAge * 1000))).toBeLessThan(5_000);
    expect(attrs).not.toContain('Secure');

    const proxied = await rawRequest(`${srv.api}/?token=hdr`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect((proxied.headers['set-cookie']?.[0] ?? '').split(';').map((a) => a.trim())).toContain('Secure');
  });
});
