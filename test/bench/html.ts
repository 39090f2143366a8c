// The HTML report with 100k traces: how long `cpath analyze --format html` takes next to
// `--format json` of the same input (the baseline), how big the file is, and how the page
// behaves in Chromium (load to drawn, the clipped-view redraw, a rectangle selection, opening
// an outlier), next to a plain JSON.parse of the embedded data in the same page.
//
//   npm run bench:html [-- --traces 100000 --no-write]
//
// Writes the "HTML report" section of BENCHMARKS.md (between <!-- bench:html:begin --> and
// <!-- bench:html:end -->). The input is generated here: N traces of 4 spans (2 endpoints,
// 3 services) over 10 minutes, latencies log-normal with 1 % slow database calls.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../helpers/browser.js';
import { mulberry32 } from '../../samples/seeded.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BEGIN = '<!-- bench:html:begin -->';
const END = '<!-- bench:html:end -->';

function args(): { traces: number; write: boolean } {
  const a = process.argv.slice(2);
  const i = a.indexOf('--traces');
  return { traces: i >= 0 ? Number(a[i + 1]) : 100_000, write: !a.includes('--no-write') };
}


async function generate(file: string, traces: number): Promise<void> {
  const r = mulberry32(20261126);
  const logn = (medianMs: number, sigma: number): bigint => {
    const z = Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
    return BigInt(Math.max(1000, Math.round(medianMs * 1e6 * Math.exp(sigma * z))));
  };
  const out = createWriteStream(file);
  const base = 1_764_151_200_000_000_000n;
  const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  const res = (svc: string): { attributes: { key: string; value: { stringValue: string } }[] } => ({ attributes: [{ key: 'service.name', value: { stringValue: svc } }] });
  for (let b = 0; b < traces; b += 1000) {
    const fe: unknown[] = [];
    const inv: unknown[] = [];
    for (let k = b; k < Math.min(traces, b + 1000); k++) {
      const traceId = hex(k + 1, 32);
      const t0 = base + BigInt(Math.floor((k / traces) * 600e9)) + BigInt(Math.floor(r() * 1e6));
      const auth = logn(2, 0.3);
      const db = r() < 0.01 ? logn(120, 0.2) : logn(8, 0.4);
      const call = db + 600_000n;
      const root = 500_000n + auth + call + 300_000n;
      const op = k % 4 === 0 ? 'GET /product' : 'GET /checkout';
      const id = (n: number): string => hex(k * 4 + n, 16);
      const span = (spanId: string, parent: string | undefined, name: string, kind: number, s: bigint, d: bigint): unknown => ({ traceId, spanId, ...(parent ? { parentSpanId: parent } : {}), name, kind, startTimeUnixNano: `${s}`, endTimeUnixNano: `${s + d}`, status: {} });
      fe.push(span(id(1), undefined, op, 2, t0, root));
      fe.push(span(id(2), id(1), 'auth', 1, t0 + 500_000n, auth));
      fe.push(span(id(3), id(1), 'POST /inventory', 3, t0 + 500_000n + auth, call));
      inv.push(span(id(4), id(3), 'db.query', 3, t0 + 800_000n + auth, db));
    }
    const line = JSON.stringify({ resourceSpans: [{ resource: res('frontend'), scopeSpans: [{ scope: {}, spans: fe }] }, { resource: res('inventory'), scopeSpans: [{ scope: {}, spans: inv }] }] });
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Wall seconds and max RSS (MiB) of one CLI run. */
function timed(argv: string[]): { s: number; rssMiB: number } {
  const t = process.hrtime.bigint();
  const res = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, join(ROOT, 'bin/cpath.js'), ...argv], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (res.status !== 0) throw new Error(`cpath ${argv.join(' ')} failed: ${res.stderr}`);
  const kb = Number(/(\d+)\s*$/.exec(res.stderr.trim())?.[1] ?? 0);
  return { s, rssMiB: kb / 1024 };
}

interface Measured {
  parseMs: number;
  clipMs: number;
  clipBackMs: number;
  selectMs: number;
  listed: number;
  caption: string;
  cells: number;
  openMs: number;
}

/** Runs in the page (plain JS: this project's Node types have no DOM). */
const MEASURE = `(() => {
  const time = (f) => { const t = performance.now(); f(); return performance.now() - t; };
  const text = document.getElementById('cpath-data').textContent;
  const parseMs = time(() => JSON.parse(text));
  const sec = document.querySelector('section.endpoint');
  const box = sec.querySelector('input[type=checkbox]');
  const clipMs = time(() => box.click());
  const clipBackMs = time(() => box.click());
  const svg = sec.querySelector('svg.heatmap');
  const r = svg.getBoundingClientRect();
  const cells = sec.querySelectorAll('svg.heatmap rect.cell').length;
  const fire = (type, x, y) => svg.dispatchEvent(new MouseEvent(type, { clientX: x, clientY: y, bubbles: true }));
  // The whole map: every trace of the endpoint.
  const selectMs = time(() => { fire('mousedown', r.left + 66, r.bottom - 32); fire('mouseup', r.right - 10, r.top + 10); });
  const listed = sec.querySelectorAll('table.selection tr[data-trace-id]').length;
  const caption = sec.querySelector('table.selection caption').textContent;
  const openMs = time(() => sec.querySelector('table.outliers button.open-trace').click());
  return { parseMs, clipMs, clipBackMs, selectMs, listed, caption, cells, openMs };
})()`;

async function main(): Promise<void> {
  const a = args();
  const dir = join(ROOT, 'bench-data');
  mkdirSync(dir, { recursive: true });
  const input = join(dir, `html-${a.traces}.otlp.jsonl`);
  if (!existsSync(input)) await generate(input, a.traces);
  const html = join(dir, `html-${a.traces}.html`);
  const json = timed(['analyze', input, '--format', 'json', '-o', '/dev/null']);
  const page = timed(['analyze', input, '--format', 'html', '-o', html]);
  const bytes = statSync(html).size;

  const browser = await launchBrowser();
  const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  const t0 = Date.now();
  await p.goto(`file://${html}`);
  await p.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout: 120_000 });
  const loadMs = Date.now() - t0;
  const m = await p.evaluate<Measured>(MEASURE);
  await browser.close();
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);

  const f1 = (x: number): string => x.toFixed(1);
  const md = [
    BEGIN,
    '## HTML report (`cpath analyze --format html`)',
    '',
    `Written by \`npm run bench:html\` (\`test/bench/html.ts\`); rerun it to replace this section. Input: ${a.traces.toLocaleString('en-US')} generated traces of 4 spans (2 endpoints, 10 minutes), \`${input.replace(ROOT, '')}\` (${(statSync(input).size / 1e6).toFixed(0)} MB).`,
    '',
    '| measure | value |',
    '|---|---|',
    `| \`--format json -o /dev/null\` (baseline) | ${f1(json.s)} s, max RSS ${json.rssMiB.toFixed(0)} MiB |`,
    `| \`--format html\` | ${f1(page.s)} s (${(page.s / json.s).toFixed(2)}× the JSON run), max RSS ${page.rssMiB.toFixed(0)} MiB |`,
    `| report file | ${(bytes / 1e6).toFixed(1)} MB |`,
    `| Chromium: open the file until drawn | ${loadMs} ms |`,
    `| … of which \`JSON.parse\` of the embedded data alone | ${f1(m.parseMs)} ms |`,
    `| clipped view on / off (first endpoint, ${m.cells} cells) | ${f1(m.clipMs)} / ${f1(m.clipBackMs)} ms |`,
    `| select the whole map (lists ${m.listed} rows: "${m.caption.replace(/\|/g, '/').slice(0, 60)}…") | ${f1(m.selectMs)} ms |`,
    `| open an outlier's waterfall | ${f1(m.openMs)} ms |`,
    '',
    'Times inside the page are `performance.now()` around the synchronous handler (the redraw work, before paint). Every trace is in the heat maps; spans are embedded only for outliers, typical traces and `--embed-traces` (50) more.',
    END,
  ].join('\n');
  process.stdout.write(`${md}\n`);
  if (a.write) {
    const file = join(ROOT, 'BENCHMARKS.md');
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
    const b = old.indexOf(BEGIN);
    const e = old.indexOf(END);
    writeFileSync(file, b >= 0 && e > b ? `${old.slice(0, b)}${md}${old.slice(e + END.length)}` : `${old.replace(/\n*$/, '\n')}\n${md}\n`);
    process.stderr.write('wrote the "HTML report" section of BENCHMARKS.md\n');
  }
}

await main();
