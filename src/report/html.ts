// The page shell: one self-contained HTML file with the page script and styles inlined (no
// network access when opened) and the data as JSON in a non-executable script element.
import { readFileSync } from 'node:fs';
import type { DiffPageData, PageData } from './page-types.js';

/** Built by `npm run build` (esbuild, src/web/) next to the compiled code. */
const ASSET_DIRS = ['../../web/', '../../dist/web/'];

let assets: { js: string; css: string } | undefined;

export class PageAssetsMissing extends Error {}

function pageAssets(): { js: string; css: string } {
  if (assets) return assets;
  for (const dir of ASSET_DIRS) {
    try {
      const js = readFileSync(new URL(`${dir}page.js`, import.meta.url), 'utf8');
      const css = readFileSync(new URL(`${dir}page.css`, import.meta.url), 'utf8');
      // Inlined into <script>/<style>: their text must not be able to end the element.
      if (/<\/script/i.test(js) || /<\/style/i.test(css)) throw new Error('the page script contains a closing tag');
      assets = { js, css };
      return assets;
    } catch (e) {
      if (e instanceof Error && 'code' in e && e.code === 'ENOENT') continue;
      throw e;
    }
  }
  throw new PageAssetsMissing('the page script is not built (dist/web/page.js): run `npm run build` in the cpath folder');
}

/** JSON that is safe inside a script element: `<`, `>` and `&` never appear literally. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The page. With `data` it is a report that works offline; without, it is the live page and
 * fetches `/api/page` from where it was served.
 */
export function renderPage(data: PageData | DiffPageData | undefined, title: string): string {
  const { js, css } = pageAssets();
  // The report may not talk to the network at all; the live page only to its own server.
  const csp = `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src ${data ? "'none'" : "'self'"}`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeText(title)}</title>`,
    `<style>${css}</style>`,
    '</head><body>',
    data ? `<script type="application/json" id="cpath-data">${scriptJson(data)}</script>` : '',
    `<script>${js}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
