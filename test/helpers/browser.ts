// When the tests that need a real browser can run, and a page opener that records everything
// that went wrong on the page (console errors, uncaught exceptions, failed requests) so each
// test can assert there was nothing.
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium package. playwright-core never downloads a browser: it is told which one to run. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. Printed once when they are skipped. */
export function browserSkipReason(): string | undefined {
  const why = reason();
  if (why !== undefined && !warned) {
    warned = true;
    process.stderr.write(`\n*** browser tests SKIPPED: ${why} ***\n\n`);
  }
  return why;
}
let warned = false;

function reason(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    return `${CHROMIUM} is missing (apt-get install -y chromium)`;
  }
  return undefined;
}

/** Headless Chromium with everything that would reach the network on its own turned off. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A page plus what went wrong on it so far. */
export interface WatchedPage {
  readonly page: Page;
  /** Console messages of type error, with their location. */
  readonly consoleErrors: string[];
  /** Uncaught exceptions and unhandled rejections. */
  readonly pageErrors: string[];
  /** Requests that failed outright or were answered 4xx/5xx. */
  readonly failedRequests: string[];
  /** All three lists in one, for `expect(problems()).toEqual([])`. */
  problems(): string[];
}

/**
 * Opens a new page in its own context (no shared cookies between tests) and starts recording
 * problems before the first request, so an error while loading is not missed.
 */
export async function openWatched(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const failedRequests: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const loc = m.location();
    consoleErrors.push(`${m.text()}${loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('requestfailed', (r) => failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText ?? 'failed'}`));
  page.on('response', (r) => {
    if (r.status() >= 400) failedRequests.push(`${r.request().method()} ${r.url()}: HTTP ${r.status()}`);
  });
  // alert() would block the page until dismissed; record it as a problem and dismiss it.
  // Both may race the browser closing at the end of a test file: a late failure is no problem.
  page.on('dialog', (d) => {
    consoleErrors.push(`dialog ${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('close', () => {
    context.close().catch(() => {});
  });
  return {
    page,
    consoleErrors,
    pageErrors,
    failedRequests,
    problems: () => [...consoleErrors.map((e) => `console: ${e}`), ...pageErrors.map((e) => `page error: ${e}`), ...failedRequests.map((e) => `request: ${e}`)],
  };
}
