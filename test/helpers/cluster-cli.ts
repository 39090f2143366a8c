// `cpath serve --cluster ...` as a child process (node bin/cpath.js, from dist/), for the failure
// tests that must kill a node with SIGKILL or that look at exit codes. Ports are 0: the node's
// addresses are read from the line it prints once everything listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ClusterCli {
  readonly child: ChildProcess;
  readonly pid: number;
  /** `http://127.0.0.1:PORT` of the OTLP/HTTP receiver (receiver role with --otlp-http). */
  readonly otlp?: string;
  /** `http://127.0.0.1:PORT` of --api (the query API, or /healthz and /metrics only). */
  readonly api?: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, resolved once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful stop), resolved once the process is gone (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

/** Children any test started, killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** The line `cpath serve --cluster` prints last, once every role runs and every port listens. */
const READY = /^cpath serve: (?:OTLP\/HTTP on |OTLP\/gRPC on |API on |\/healthz and \/metrics on |store ).*$/m;

/** Starts `node bin/cpath.js serve ARGS`; resolves once the node printed its addresses. */
export function startClusterCli(args: readonly string[], timeoutMs = 30_000): Promise<ClusterCli> {
  const child = spawn(process.execPath, ['bin/cpath.js', 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const gone = async (sig: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(sig);
    if (sig === 'SIGKILL') {
      await exited;
      return;
    }
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cpath serve ${args.join(' ')} did not start within ${timeoutMs} ms; stderr:\n${err}`));
    }, timeoutMs);
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const line = READY.exec(err)?.[0];
      if (line === undefined) return;
      clearTimeout(timer);
      const otlp = /OTLP\/HTTP on (http:\/\/[^/\s;]+)\/v1\/traces/.exec(line)?.[1];
      const api = /(?:API|\/healthz and \/metrics) on (http:\/\/[^/\s;]+)\//.exec(line)?.[1];
      resolve({
        child,
        pid: child.pid ?? 0,
        ...(otlp !== undefined ? { otlp } : {}),
        ...(api !== undefined ? { api } : {}),
        stderr: () => err,
        exited,
        kill9: () => gone('SIGKILL'),
        stop: () => gone('SIGTERM'),
      });
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`cpath serve exited (${code ?? signal}) before listening; stderr:\n${err}`));
    });
  });
}

/**
 * Runs `cpath serve ARGS` that is expected to fail, probing `ports` (TCP connects every 20 ms)
 * as long as it runs: `listened` says whether anything ever answered on one of them.
 */
export async function runFailingServe(args: readonly string[], ports: readonly number[], timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; listened: boolean }> {
  const child = spawn(process.execPath, ['bin/cpath.js', 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let err = '';
  let out = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running = false;
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let listened = false;
  const probe = (async () => {
    while (running) {
      for (const answered of await Promise.all(ports.map(answers))) if (answered) listened = true;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const r = await exited;
  clearTimeout(timer);
  await probe;
  // Let the stderr pipe drain.
  await new Promise((res) => setTimeout(res, 50));
  return { ...r, stderr: err + out, listened };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
