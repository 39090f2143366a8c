// `cpath serve` as a user runs it (node bin/cpath.js, from dist/), on port 0, for tests that
// need a separate process: event-loop latency, signals, exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServeCli {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT` of the OTLP/HTTP receiver and of the API. */
  readonly otlp: string;
  readonly api: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `cpath serve --store DIR` (gRPC off) and resolves once it printed its bound addresses. */
export function startServeCli(dir: string, extra: readonly string[] = []): Promise<ServeCli> {
  const child = spawn(process.execPath, ['bin/cpath.js', 'serve', '--store', dir, '--otlp-http', '127.0.0.1:0', '--otlp-grpc', 'off', '--api', '127.0.0.1:0', ...extra], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cpath serve did not start within 15 s; stderr:\n${err}`)), 15_000);
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = /OTLP\/HTTP on (http:\/\/[^/\s;]+)\/v1\/traces; OTLP\/gRPC off; API on (http:\/\/[^/\s;]+)\//.exec(err);
      if (m?.[1] && m[2]) {
        clearTimeout(timer);
        resolve({ child, otlp: m[1], api: m[2], stderr: () => err, exited });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`cpath serve exited (${code ?? signal}) before listening; stderr:\n${err}`));
    });
  });
}
