// Read once from package.json so that --version and reports agree with the package.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  // dist/src/version.js when built, src/version.ts under the test runner.
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && 'name' in pkg && pkg.name === 'cpath' && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
