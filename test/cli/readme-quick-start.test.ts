// The README's two set-up commands stay true: the first installs and runs analyze on a bundled
// sample with the installed copy (no `npx cpath`, which reinstalls and rebuilds the project into
// npm's cache on a first run), the second is `npm test`. .ci/run times the first on a fresh
// install.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpath } from '../helpers/cli.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The sh blocks of the "Set up and run" section, in order. */
function setUpBlocks(): string[] {
  const section = README.split(/^## /m).find((s) => s.startsWith('Set up and run')) ?? '';
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => (m[1] ?? '').trim());
}

describe('README quick start', () => {
  it('installs, then runs the built CLI directly on a bundled sample; then npm test', async () => {
    const [first, second] = setUpBlocks();
    const m = /^npm install && node bin\/cpath\.js (analyze samples\/\S+)$/.exec(first ?? '');
    expect(m, `first command: ${first}`).not.toBeNull();
    expect(second).toBe('npm test');
    const r = await cpath((m?.[1] ?? '').split(' '));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^cpath: 1 input \(otlp-json\), 1,534 spans, 130 traces, 2 endpoints$/m);
  });

  it('says how to run cpath from any folder, and never suggests npx cpath as a command', () => {
    expect(README).toContain('npm link');
    expect(README).toContain('npm install -g .');
    expect(README.split('\n').filter((l) => /^\s*(sudo )?npx cpath\b/.test(l))).toEqual([]);
  });
});
