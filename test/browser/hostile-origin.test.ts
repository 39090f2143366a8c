// What a hostile web page can do to a loopback `cpath serve`, tried in real Chromium (issue 15,
// findings 3 and 9): DNS rebinding (Chromium's --host-resolver-rules maps rebind.test to
// 127.0.0.1, as a rebinding DNS server would), posting spans from a page, framing the live
// page, and the token left in the address bar or the history.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, browserSkipReason } from '../helpers/browser.js';
import { T0, jsonRequest, spanIdFor, startTestServer, traceIdFor, until, type TestServer } from '../helpers/serve-harness.js';

const skip = browserSkipReason();

describe.skipIf(skip !== undefined)('a hostile page against cpath serve, in Chromium', () => {
  let srv: TestServer;
  let open: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    srv = await startTestServer({ token: 'tok3n' });
    open = await startTestServer({ cors: ['*'] });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--host-resolver-rules=MAP rebind.test 127.0.0.1'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
    await open?.stop();
  });

  const port = (base: string): string => new URL(base).port;
  const after: (() => void)[] = [];
  afterAll(() => after.forEach((f) => f()));

  it('a rebound name gets 403 from the page and the API, even with the token', async () => {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      const r = await page.goto(`http://rebind.test:${port(srv.api)}/?token=tok3n`);
      expect(r?.status()).toBe(403);
      expect(await page.textContent('body')).toMatch(/--allowed-host/);
      const api = await page.goto(`http://rebind.test:${port(srv.api)}/api/endpoints`);
      expect(api?.status()).toBe(403);
    } finally {
      await ctx.close();
    }
  });

  it('a page cannot post spans to the receiver unless --cors allows its origin', async () => {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      // The attacker's page, on loopback too (a public page's requests to local addresses are
      // blocked by Chromium's Local Network Access anyway, which would prove nothing here).
      const attacker = await serveHtml('<p>attacker</p>');
      after.push(() => attacker.server.close());
      await page.goto(attacker.url);
      const post = (url: string, body: string, mode: 'cors' | 'no-cors', type: string): Promise<string> =>
        page.evaluate(
          async ([u, b, m, t]) => {
            try {
              const res = await fetch(u, { method: 'POST', mode: m === 'cors' ? 'cors' : 'no-cors', headers: { 'Content-Type': t }, body: b });
              return `status ${res.status}`;
            } catch (e) {
              return `failed: ${String(e)}`;
            }
          },
          [url, body, mode, type] as const,
        );
      // The rebound name: same origin as the receiver to the browser, so no preflight at all.
      // (Any document of that origin will do as the attacker's page: the receiver's own 404.)
      const rebound = await ctx.newPage();
      await rebound.goto(`http://rebind.test:${port(srv.otlp)}/attack`);
      const ids = [0, 1, 2, 3].map((i) => traceIdFor(0xb40, i));
      const body = (i: number): string => jsonRequest({ attacker: [{ traceId: ids[i] ?? '', spanId: spanIdFor(i), name: 'forged', startNs: T0, endNs: T0 + 1000n }] }).toString();
      const sameOrigin = await rebound.evaluate(
        async ([b]) => (await fetch('/v1/traces', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok3n' }, body: b })).status,
        [body(0)] as const,
      );
      expect(sameOrigin).toBe(403);
      expect(await post(`${srv.otlp}/v1/traces`, body(1), 'cors', 'application/json')).toMatch(/^failed/);
      // An opaque answer (or a failure): what counts is that nothing was stored.
      expect(await post(`${srv.otlp}/v1/traces`, body(2), 'no-cors', 'text/plain')).toMatch(/^(status 0|failed)/);
      await new Promise((r) => setTimeout(r, 200));
      for (const id of ids) expect(srv.server.store.spansOfTrace(id, srv.server.live.resources)).toEqual([]);

      // With --cors '*' the same page may post, and reads the answer.
      expect(await post(`${open.otlp}/v1/traces`, body(3), 'cors', 'application/json')).toBe('status 200');
      await until('the allowed span stored', () => (open.server.store.spansOfTrace(ids[3] ?? '', open.server.live.resources).length === 1 ? true : undefined));
    } finally {
      await ctx.close();
    }
  });

  it("the live page will not render in another site's frame", async () => {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      const refused: string[] = [];
      page.on('console', (m) => {
        if (/frame-ancestors/.test(m.text())) refused.push(m.text());
      });
      // The framing page is served from loopback too: Chromium blocks a public page's frames to
      // local addresses anyway (Local Network Access), which would prove nothing here.
      const framer = await serveHtml(`<iframe src="http://localhost:${port(open.api)}/"></iframe>`);
      try {
        await page.goto(framer.url);
        await until('the frame refused', () => (refused.length > 0 ? true : undefined), 10_000);
        const inner = page.frames().find((f) => f !== page.mainFrame());
        expect(inner?.url()).toMatch(/^chrome-error:/);
      } finally {
        framer.server.close();
      }
    } finally {
      await ctx.close();
    }
  });

  it('/?token=T leaves neither the address bar nor the history with the token', async () => {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      await page.goto(`${srv.api}/?token=tok3n`);
      await page.waitForFunction('document.body.dataset.ready === "1"', undefined, { timeout: 20_000 });
      expect(page.url()).toBe(`${srv.api}/`);
      expect(await page.evaluate('location.href')).not.toMatch(/token/);
      // Back goes to where the browser was before (the redirect replaced the entry), never to /?token=.
      await page.goBack().catch(() => null);
      expect(page.url()).not.toMatch(/token/);
      const cookies = await ctx.cookies();
      expect(cookies.find((c) => c.name === 'cpath_token')?.expires).toBeGreaterThan(Date.now() / 1000);
    } finally {
      await ctx.close();
    }
  });
});

async function serveHtml(html: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}
