// The HTML report's waterfall draws every span where it really ran (issue 14): an async subtree
// past the root's window, a skewed host under it at its shifted time, none of it at 0 or clamped
// to the root's end. Fixture: test/fixtures/zipkin/async-subtree-two-levels.json.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchBrowser, openWatched } from '../helpers/browser.js';
import { cpath } from '../helpers/cli.js';

const skip = browserSkipReason();

describe.skipIf(skip !== undefined)('HTML waterfall of a two-level async subtree', () => {
  let dir = '';
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpath-async-html-'));
    const r = await cpath(['analyze', 'test/fixtures/zipkin/async-subtree-two-levels.json', '--format', 'html', '-o', join(dir, 'async.html')]);
    expect(r.stderr).toBe('');
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('positions each bar on one axis of 0-40 ms: real, skew-adjusted times', async () => {
    // ms after T0    0    2    3    10            30   32 32.5 33.5 35.5 37.5 38   40
    // get /order     |=========|                                                        root
    // enqueue             |==|
    // handle                                       |========================|           async
    // stlogin post                                      |==============|
    // post /login                                          |==========|                 raw 132 ms, shifted -99.5 ms
    // db insert                                                 |===|
    const w = await openWatched(browser);
    await w.page.goto(`file://${join(dir, 'async.html')}`);
    await w.page.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout: 15_000 });
    await w.page.locator('button.typical-trace').first().click();
    await w.page.waitForSelector('#trace-view .waterfall');
    const bars = await w.page.$$eval('#trace-view .span-row[data-span-id]', (rows) =>
      rows.map((r) => {
        // The inline style as written: `left:X%;width:Y%`.
        const style = r.querySelector('.span-bar')?.getAttribute('style') ?? '';
        const [left, width] = [/left:\s*([^;]+)/.exec(style)?.[1], /width:\s*([^;]+)/.exec(style)?.[1]];
        return [r.getAttribute('data-span-id')?.slice(-1), left, width];
      }),
    );
    // left = start / 40 ms, width = duration / 40 ms.
    expect(bars).toEqual([
      ['1', '0%', '25%'],
      ['2', '5%', '2.5%'],
      ['3', '75%', '25%'],
      ['4', '80%', '15%'],
      ['5', '81.25%', '12.5%'],
      ['6', '83.75%', '5%'],
    ]);
    expect(w.problems()).toEqual([]);
  });
});
