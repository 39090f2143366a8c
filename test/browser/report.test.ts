// The HTML report in real Chromium: it loads with no errors, the heat maps count every trace,
// a dragged rectangle lists exactly the traces in its cells, an outlier's waterfall marks the
// same sections as the JSON output, and text from a trace is never run as HTML. Reference
// screenshots: CPATH_SCREENSHOTS=1 npx vitest run test/browser/report.test.ts writes them to
// test/browser/screenshots/.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, openWatched, type WatchedPage } from '../helpers/browser.js';
import { cpath } from '../helpers/cli.js';
import type { AnalyzeReport } from '../../src/report/types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = process.env['CPATH_SCREENSHOTS'] === '1' ? join(ROOT, 'test/browser/screenshots') : undefined;
const skip = browserSkipReason();

const EVIL = '<img src=x onerror=alert(1)>';

/** A small OTLP JSON document whose names and attributes are HTML and script. */
function evilInput(): string {
  const base = 1_764_151_200_000_000_000n;
  const spans = [];
  for (let k = 0; k < 6; k++) {
    const traceId = `${k + 1}`.padStart(32, 'a');
    const t0 = base + BigInt(k) * 1_000_000_000n;
    const d = BigInt(10 + k * 5) * 1_000_000n;
    spans.push({ traceId, spanId: `${k}`.padStart(16, '1'), name: 'GET /<script>alert(2)</script>', kind: 2, startTimeUnixNano: `${t0}`, endTimeUnixNano: `${t0 + d}`, attributes: [{ key: 'http.route', value: { stringValue: '"><svg onload=alert(3)>' } }], status: {} });
    spans.push({ traceId, spanId: `${k}`.padStart(16, '2'), parentSpanId: `${k}`.padStart(16, '1'), name: EVIL, kind: 1, startTimeUnixNano: `${t0 + 1_000_000n}`, endTimeUnixNano: `${t0 + d - 1_000_000n}`, status: { code: 2, message: '</script><b>bold</b>' } });
  }
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: '<b>svc</b>' } }] }, scopeSpans: [{ scope: {}, spans }] }] });
}

describe.skipIf(skip !== undefined)('HTML report in Chromium', () => {
  let dir = '';
  let browser: Browser;
  let json: AnalyzeReport;
  const pages: WatchedPage[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpath-html-'));
    const sample = join(ROOT, 'samples/shop.otlp.jsonl');
    writeFileSync(join(dir, 'evil.otlp.json'), evilInput());
    const runs = await Promise.all([
      cpath(['analyze', sample, '--format', 'html', '-o', join(dir, 'shop.html'), '--embed-traces', '5']),
      cpath(['analyze', sample, '--format', 'json', '-o', join(dir, 'shop.json')]),
      cpath(['analyze', join(dir, 'evil.otlp.json'), '--format', 'html', '-o', join(dir, 'evil.html')]),
      cpath(['analyze', join(ROOT, 'samples/threads/node-pool.otlp.jsonl'), '--threads', join(ROOT, 'samples/threads/node-pool.events.log.gz'), '--format', 'html', '-o', join(dir, 'threads.html')]),
      cpath(['diff', join(ROOT, 'samples/diff/base.otlp.jsonl'), join(ROOT, 'samples/diff/candidate.otlp.jsonl'), '--format', 'html', '-o', join(dir, 'diff.html')]),
    ]);
    for (const r of runs) expect(r.stderr).toBe('');
    json = JSON.parse(readFileSync(join(dir, 'shop.json'), 'utf8')) as AnalyzeReport;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(file: string, height = 900): Promise<WatchedPage> {
    const w = await openWatched(browser);
    pages.push(w);
    await w.page.setViewportSize({ width: 1400, height });
    await w.page.goto(`file://${join(dir, file)}`);
    await w.page.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout: 15_000 });
    return w;
  }

  async function shot(page: Page, name: string, fullPage = false): Promise<void> {
    if (SHOTS) await page.screenshot({ path: join(SHOTS, name), fullPage });
  }

  it('loads with no console errors, and each heat map counts exactly its endpoint\'s traces', async () => {
    const w = await open('shop.html');
    const counts = await w.page.$$eval('section.endpoint', (secs) =>
      secs.map((s) => ({
        service: s.getAttribute('data-service'),
        operation: s.getAttribute('data-operation'),
        cells: [...s.querySelectorAll('svg.heatmap rect.cell')].reduce((a, r) => a + Number(r.getAttribute('data-count')), 0),
      })),
    );
    expect(counts).toEqual(json.endpoints.map((e) => ({ service: e.service, operation: e.operation, cells: e.traces })));
    expect(counts.reduce((a, c) => a + c.cells, 0)).toBe(json.input.tracesAnalysed);
    // The report is offline: no request left the file.
    expect(w.problems()).toEqual([]);
    await shot(w.page, 'report-shop.png', true);
  });

  it('dragging a rectangle of cells lists exactly the traces whose start and latency fall in them', async () => {
    const w = await open('shop.html');
    const base = json.traces.reduce((m, t) => (BigInt(t.startUnixNano) < m ? BigInt(t.startUnixNano) : m), BigInt(json.traces[0]?.startUnixNano ?? '0'));
    const e = json.endpoints[0];
    if (!e) throw new Error('no endpoint');
    const section = w.page.locator('section.endpoint').first();
    const cells = section.locator('svg.heatmap rect.cell');
    const n = await cells.count();
    const attrs = await cells.evaluateAll((rs) => rs.map((r) => ({ count: Number(r.getAttribute('data-count')), col: Number(r.getAttribute('data-col')), row: Number(r.getAttribute('data-row')), t0: Number(r.getAttribute('data-t0')), t1: Number(r.getAttribute('data-t1')), l0: Number(r.getAttribute('data-l0')), l1: Number(r.getAttribute('data-l1')) })));
    expect(n).toBeGreaterThan(3);
    // Rectangles: the densest cell alone (slower traces right above it must stay out); from it
    // to the nearest cell above in another column; the first cell to the highest one (crossing
    // columns and rows, empty cells included); the highest cell alone.
    const dense = attrs.reduce((b, a, i) => (a.count > (attrs[b]?.count ?? 0) ? i : b), 0);
    const d = attrs[dense];
    const above = attrs.map((a, i) => ({ a, i })).filter(({ a }) => d !== undefined && a.row > d.row && a.col !== d.col).sort((x, y) => x.a.row - y.a.row)[0]?.i ?? dense;
    const top = attrs.reduce((b, a, i) => (a.row > (attrs[b]?.row ?? 0) ? i : b), 0);
    expect(attrs.some((a) => d !== undefined && a.col === d.col && a.row === d.row + 1)).toBe(true);
    for (const [ia, ib] of [[dense, dense], [dense, above], [0, top], [top, top]] as const) {
      const a = attrs[ia];
      const b = attrs[ib];
      if (!a || !b) throw new Error('cells');
      const boxA = await cells.nth(ia).boundingBox();
      const boxB = await cells.nth(ib).boundingBox();
      if (!boxA || !boxB) throw new Error('cells not drawn');
      await w.page.mouse.move(boxA.x + boxA.width / 2, boxA.y + boxA.height / 2);
      await w.page.mouse.down();
      await w.page.mouse.move(boxB.x + boxB.width / 2, boxB.y + boxB.height / 2, { steps: 5 });
      await w.page.mouse.up();
      const listed = await section.locator('table.selection tr[data-trace-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trace-id') ?? ''));
      const [tLo, tHi, lLo, lHi] = [Math.min(a.t0, b.t0), Math.max(a.t1, b.t1), Math.min(a.l0, b.l0), Math.max(a.l1, b.l1)];
      const expected = json.traces
        .filter((t) => t.endpoint.service === e.service && t.endpoint.operation === e.operation)
        .filter((t) => {
          const off = Number(BigInt(t.startUnixNano) - base);
          return off >= tLo && off < tHi && t.durationNs >= lLo && t.durationNs < lHi;
        })
        .map((t) => t.traceId);
      expect(expected.length).toBeGreaterThan(0);
      expect([...listed].sort()).toEqual([...expected].sort());
    }
    await shot(w.page, 'report-selection.png');
    expect(w.problems()).toEqual([]);
  });

  it('an outlier\'s waterfall highlights the sections of the JSON output, and next/previous walk them', async () => {
    const w = await open('shop.html');
    const e = json.endpoints[0];
    const outlier = e?.outliers[0];
    if (!outlier) throw new Error('the sample has outliers');
    await w.page.locator(`table.outliers tr[data-trace-id="${outlier.traceId}"] button.open-trace`).click();
    await w.page.waitForSelector(`#trace-view[data-trace-id="${outlier.traceId}"] .waterfall`);
    const drawn = await w.page.$$eval('#trace-view .path-section', (els) =>
      els
        .map((el) => ({ i: Number(el.getAttribute('data-index')), spanId: el.getAttribute('data-span-id'), startUnixNano: el.getAttribute('data-start-unix-nano'), durationNs: Number(el.getAttribute('data-duration-ns')) }))
        .sort((a, b) => a.i - b.i)
        .map(({ spanId, startUnixNano, durationNs }) => ({ spanId, startUnixNano, durationNs })),
    );
    const trace = json.traces.find((t) => t.traceId === outlier.traceId);
    expect(drawn).toEqual(trace?.criticalPath.map((s) => ({ spanId: s.spanId, startUnixNano: s.startUnixNano, durationNs: s.durationNs })));
    // Every span row of the trace is drawn.
    expect(await w.page.locator('#trace-view .span-row[data-span-id]').count()).toBe(trace?.spans);
    const current = async (): Promise<string | null> => w.page.locator('#trace-view .path-section.current').getAttribute('data-index');
    await w.page.click('#trace-view button.next-section');
    await w.page.click('#trace-view button.next-section');
    await w.page.click('#trace-view button.next-section');
    expect(await current()).toBe('2');
    await w.page.click('#trace-view button.prev-section');
    expect(await current()).toBe('1');
    await w.page.locator('#trace-view').screenshot({ path: SHOTS ? join(SHOTS, 'report-waterfall.png') : join(dir, 'w.png') });
    expect(w.problems()).toEqual([]);
  });

  it('a trace not embedded in the report says how to see it', async () => {
    const w = await open('shop.html');
    const section = w.page.locator('section.endpoint').first();
    const cells = section.locator('svg.heatmap rect.cell');
    const box = await cells.first().boundingBox();
    if (!box) throw new Error('no cell');
    await w.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const missing = section.locator('table.selection button.open-trace.not-embedded').first();
    const id = await missing.getAttribute('data-trace-id');
    await missing.click();
    await expect.poll(() => w.page.locator('#trace-view .not-embedded').textContent()).toContain(`--trace ${id}`);
    expect(w.problems()).toEqual([]);
  });

  it('shows text from a trace as text and runs none of it', async () => {
    const w = await open('evil.html');
    expect(await w.page.locator('img').count()).toBe(0);
    expect(await w.page.locator('svg[onload]').count()).toBe(0);
    expect(await w.page.locator('section.endpoint h2').first().textContent()).toBe('<b>svc</b> GET /<script>alert(2)</script>');
    await w.page.locator('button.typical-trace').first().click();
    await w.page.waitForSelector('#trace-view .waterfall');
    const labels = await w.page.locator('#trace-view .span-label').allTextContents();
    expect(labels.some((l) => l.includes(EVIL))).toBe(true);
    const title = await w.page.locator('#trace-view .span-label').nth(1).getAttribute('title');
    expect(title).toContain('</script><b>bold</b>');
    expect(await w.page.title()).toContain('evil.otlp.json');
    // No alert (a dialog is recorded as a problem), no error, no request.
    expect(w.problems()).toEqual([]);
    await shot(w.page, 'report-escaping.png');
  });

  it('cpath diff --format html: the sentences, the changes and a differential flame graph', async () => {
    const w = await open('diff.html');
    const checkout = w.page.locator('section.endpoint.diff[data-operation="GET /checkout"]');
    expect(await checkout.locator('p.summary').textContent()).toMatch(/^frontend GET \/checkout p50 \+.*cart cache\.get \+[\d.]+ ms on the path \(now dominant, was hidden behind cart hash-session\)$/);
    // The slowed component leads the changes; the branch it used to hide behind left the path.
    const first = checkout.locator('table.changes tr[data-service]').first();
    expect([await first.getAttribute('data-service'), await first.getAttribute('data-operation')]).toEqual(['cart', 'cache.get']);
    expect(await first.textContent()).toContain('entered the path');
    // The flame frame of cache.get is red: longer in the new run.
    const colour = await checkout.locator('.flame .frame[data-frame="cart cache.get"]').first().evaluate((el) => el.getAttribute('style') ?? '');
    const [r, g, b] = (/background:\s*rgb\((\d+),(\d+),(\d+)\)/.exec(colour) ?? []).slice(1).map(Number);
    expect(r).toBeDefined();
    expect((r ?? 0) > (g ?? 0) && (r ?? 0) > (b ?? 0)).toBe(true);
    expect(w.problems()).toEqual([]);
    await shot(w.page, 'diff.png', true);
  });

  it('draws thread lanes with states and wakeups under the spans when thread data is given', async () => {
    const w = await open('threads.html');
    await w.page.locator('button.typical-trace').first().click();
    await w.page.waitForSelector('#trace-view .thread-lanes');
    expect(await w.page.locator('#trace-view .thread-lanes rect.state').count()).toBeGreaterThan(0);
    const states = await w.page.locator('#trace-view .thread-lanes rect.state').evaluateAll((rs) => [...new Set(rs.map((r) => r.getAttribute('data-state')))]);
    expect(states).toContain('running');
    expect(await w.page.locator('#trace-view .thread-lanes line.wakeup').count()).toBeGreaterThan(0);
    // Sections on the path carry their thread: the caption names it.
    await w.page.click('#trace-view button.next-section');
    expect(await w.page.locator('#trace-view .section-caption').textContent()).toMatch(/thread \S+ \(\d+\)/);
    await w.page.locator('#trace-view').screenshot({ path: SHOTS ? join(SHOTS, 'report-thread-lanes.png') : join(dir, 't.png') });
    expect(w.problems()).toEqual([]);
  });
});
