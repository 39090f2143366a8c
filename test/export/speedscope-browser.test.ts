// `cpath export --to speedscope` opened in the real speedscope (node_modules/speedscope, the
// release build) in headless Chromium: the file loads without errors and speedscope shows it.
// A deliberately broken profile must reach speedscope's error display: proof that the check
// can fail.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPEEDSCOPE_SCHEMA } from '../../src/export/speedscope.js';
import { browserSkipReason, launchBrowser, openWatched } from '../helpers/browser.js';
import { cpath } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SPEEDSCOPE = join(ROOT, 'node_modules/speedscope/dist/release');
const skip = browserSkipReason();

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** Serves speedscope's release build at `/` and the test's files at `/files/`, on 127.0.0.1. */
function staticServer(filesDir: string): Server {
  return createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const [base, rel] = path.startsWith('/files/') ? [filesDir, path.slice('/files/'.length)] : [SPEEDSCOPE, path === '/' ? 'index.html' : path.slice(1)];
    const file = normalize(join(base, rel));
    let body: Buffer;
    try {
      if (!file.startsWith(base + sep)) throw new Error('outside');
      body = readFileSync(file);
    } catch {
      res.statusCode = 404;
      return void res.end('not found\n');
    }
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.end(body);
  });
}

describe.skipIf(skip !== undefined)('speedscope opens `cpath export --to speedscope`', () => {
  let dir = '';
  let server: Server;
  let origin = '';
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpath-speedscope-'));
    const r = await cpath(['export', 'samples/shop.otlp.jsonl', '--to', 'speedscope', '-o', join(dir, 'shop.speedscope.json')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Valid JSON in speedscope's schema, but a sample names a frame that does not exist.
    const broken = { $schema: SPEEDSCOPE_SCHEMA, shared: { frames: [{ name: 'a' }] }, profiles: [{ type: 'sampled', name: 'broken', unit: 'nanoseconds', startValue: 0, endValue: 10, samples: [[0, 7]], weights: [10] }], name: 'broken' };
    writeFileSync(join(dir, 'broken.speedscope.json'), JSON.stringify(broken));
    server = staticServer(dir);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the export: no errors, the profile in the toolbar and title, the landing page gone', async () => {
    const w = await openWatched(browser);
    const { page } = w;
    try {
      await page.goto(`${origin}/index.html#profileURL=${encodeURIComponent(`${origin}/files/shop.speedscope.json`)}`);
      // speedscope sets the title once the import succeeded: "<file's name> - speedscope".
      await page.waitForFunction('document.title === "cpath critical paths - speedscope"', undefined, { timeout: 20_000 });
      // Two endpoints, so the toolbar shows the first profile's name with its index.
      const exported = JSON.parse(readFileSync(join(dir, 'shop.speedscope.json'), 'utf8')) as { profiles: { name: string }[] };
      expect(exported.profiles.length).toBe(2);
      const first = exported.profiles[0]?.name ?? '';
      await page.getByText(`(1/${exported.profiles.length})`).waitFor({ timeout: 10_000 });
      await expect(page.getByText(first, { exact: true }).count()).resolves.toBeGreaterThan(0);
      await expect(page.getByText('Drag and drop a profile file', { exact: false }).count()).resolves.toBe(0);
      await expect(page.getByText('Something went wrong').count()).resolves.toBe(0);
      // The flame chart is drawn on a WebGL canvas; it exists and has a size.
      const canvas = await page.locator('canvas').first().boundingBox();
      expect(canvas?.width ?? 0).toBeGreaterThan(100);
      expect(w.problems()).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('negative control: a broken profile shows speedscope’s error display', async () => {
    const w = await openWatched(browser);
    const { page } = w;
    try {
      await page.goto(`${origin}/index.html#profileURL=${encodeURIComponent(`${origin}/files/broken.speedscope.json`)}`);
      await page.getByText('Something went wrong').waitFor({ timeout: 20_000 });
      expect(await page.title()).toBe('speedscope');
    } finally {
      await page.close();
    }
  });
});
