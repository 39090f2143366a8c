// The layers ARCHITECTURE.md declares, checked: every relative import of src/, collectors/ and
// analysis/ must point down the order below (or stay inside its own unit), and no files may
// import each other in a cycle. Like Perfetto's check_imports, a failure names the file, the
// line and the rule it breaks.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Ground floor first. A unit may import any unit of a lower rank. Units of the same rank may not
 * import each other, except along the edges in SAME_RANK (which must not form a cycle).
 */
export const LAYERS: readonly (readonly string[])[] = [
  // types, ids, exact time, diagnostics, the trace builder, the event-log grammar, the version
  ['src/model', 'src/version.ts'],
  // values from flags and query parameters (model only)
  ['src/params'],
  // siblings: the formats, and the pure analysis; they never import each other
  ['collectors', 'analysis'],
  // output and storage
  ['src/report', 'src/export', 'src/store'],
  // stages composed by the commands: read -> analyse -> report; cpath record; the cluster's
  // stream of spans (NATS JetStream)
  ['src/pipeline', 'src/record', 'src/cluster'],
  // the top: the command line, the server, the page script (browser)
  ['src/cli', 'src/server', 'src/web'],
];

/** Allowed edges between units of one rank. */
const SAME_RANK: ReadonlySet<string> = new Set(['src/export -> src/report', 'src/store -> src/report', 'src/cli -> src/server']);

/** The unit a file belongs to: a top folder, or a folder (or file) directly under src/. */
export function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : file;
  return parts[0] ?? file;
}

function rankOf(unit: string): number | undefined {
  const i = LAYERS.findIndex((l) => l.includes(unit));
  return i < 0 ? undefined : i;
}

interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly line: number;
}

function sourceFiles(): string[] {
  const out: string[] = [];
  const stack = ['src', 'collectors', 'analysis'];
  for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
    for (const e of readdirSync(join(ROOT, d), { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) stack.push(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  }
  return out.sort();
}

/** Relative imports, re-exports and dynamic imports, with the line that names the module. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    for (const m of line.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/g)) {
      const spec = m[1] ?? '';
      const to = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
      edges.push({ from: file, to, line: i + 1 });
    }
  }
  return edges;
}

/** Every import that runs against the declared order, as `file:line: message`. */
export function layerViolations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (a === b) continue;
    const ra = rankOf(a);
    const rb = rankOf(b);
    const where = `${e.from}:${e.line}`;
    // A file in no layer is reported once, by the test that lists them.
    if (ra === undefined) continue;
    if (rb === undefined) out.push(`${where}: imports ${e.to}, in no declared layer`);
    else if (rb > ra) out.push(`${where}: ${a} (layer ${ra}) imports ${e.to} from a higher layer, ${b} (layer ${rb})`);
    else if (rb === ra && !SAME_RANK.has(`${a} -> ${b}`)) out.push(`${where}: ${a} imports ${e.to} from ${b}, a sibling it must not import`);
  }
  return out;
}

/** Import cycles between files (strongly connected components of size > 1, or self-imports), iteratively. */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const l = next.get(e.from) ?? [];
    l.push(e.to);
    next.set(e.from, l);
    if (!next.has(e.to)) next.set(e.to, []);
  }
  // Tarjan's algorithm with an explicit stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let counter = 0;
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; i: number }[] = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      if (!top) break;
      const succ = next.get(top.node) ?? [];
      if (top.i < succ.length) {
        const w = succ[top.i++] ?? '';
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.node, Math.min(low.get(top.node) ?? 0, index.get(w) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(top.node) ?? 0));
      if (low.get(top.node) === index.get(top.node)) {
        const comp: string[] = [];
        for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
          onStack.delete(w);
          comp.push(w);
          if (w === top.node) break;
        }
        if (comp.length > 1 || succ.includes(top.node)) cycles.push(comp.sort());
      }
    }
  }
  return cycles;
}

function allEdges(): ImportEdge[] {
  return sourceFiles().flatMap((f) => importsOf(f, readFileSync(join(ROOT, f), 'utf8')));
}

describe('the declared layers', () => {
  it('hold for every import of src/, collectors/ and analysis/', () => {
    expect(layerViolations(allEdges())).toEqual([]);
  });

  it('have no import cycles between files', () => {
    const edges = allEdges();
    const lineOf = (from: string, to: string) => edges.find((e) => e.from === from && e.to === to)?.line;
    const named = importCycles(edges).map((c) => c.map((f) => `${f}${c.some((t) => lineOf(f, t) !== undefined) ? `:${c.map((t) => lineOf(f, t)).find((l) => l !== undefined)}` : ''}`).join(' <-> '));
    expect(named).toEqual([]);
  });

  it('every source file belongs to a declared layer', () => {
    const stray = [...new Set(sourceFiles().map(unitOf))].filter((u) => rankOf(u) === undefined);
    expect(stray).toEqual([]);
  });
});

describe('the checker itself', () => {
  it('names a layer breach with file and line', () => {
    const edges = importsOf('collectors/x.ts', "import a from './a.js';\nimport { b } from '../analysis/b.js';\n");
    expect(layerViolations(edges)).toEqual(['collectors/x.ts:2: collectors imports analysis/b.ts from analysis, a sibling it must not import']);
    expect(layerViolations(importsOf('src/model/m.ts', "export { r } from '../report/r.js';"))).toEqual(['src/model/m.ts:1: src/model (layer 0) imports src/report/r.ts from a higher layer, src/report (layer 3)']);
  });

  it('finds a cycle of three files and leaves a chain alone', () => {
    const e = (from: string, to: string) => ({ from, to, line: 1 });
    expect(importCycles([e('a', 'b'), e('b', 'c'), e('c', 'a'), e('c', 'd')])).toEqual([['a', 'b', 'c']]);
    expect(importCycles([e('a', 'b'), e('b', 'c')])).toEqual([]);
  });

  it('sees multi-line and dynamic imports', () => {
    const text = "import {\n  a,\n} from '../report/a.js';\nconst m = await import('../server/s.js');\n";
    expect(importsOf('src/model/m.ts', text).map((e) => `${e.to}:${e.line}`)).toEqual(['src/report/a.ts:3', 'src/server/s.ts:4']);
  });
});

