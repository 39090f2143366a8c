// A hermetic PostgreSQL 15 for the cluster tests: initdb in a temp dir, pg_ctl start on a free
// port (127.0.0.1 only, its socket inside the dir), superuser `postgres` with trust auth. Never
// the system cluster. `crash` (pg_ctl stop -m immediate) and `start` are there for the failure
// tests (the store restarted mid-stream).
//
// initdb refuses to run as root, so as root every command runs as the `postgres` user (created
// by the Debian package) through runuser, in a dir it owns inside a temp dir it can search.
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './ports.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Why the PostgreSQL tests cannot run here, or undefined when they can. Printed once when they are skipped. */
export function postgresSkipReason(): string | undefined {
  const why = reason();
  if (why !== undefined && !warned) {
    warned = true;
    process.stderr.write(`\n*** PostgreSQL tests SKIPPED: ${why} ***\n\n`);
  }
  return why;
}
let warned = false;

function reason(): string | undefined {
  try {
    for (const b of ['initdb', 'pg_ctl', 'postgres']) accessSync(join(PG_BIN, b), constants.X_OK);
  } catch {
    return `${PG_BIN}/initdb is missing (apt-get install -y postgresql-15)`;
  }
  if (process.getuid?.() === 0 && postgresUser() === undefined) return 'running as root and there is no `postgres` user to run initdb as';
  return undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface Postgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The server's log (kept in the dir the server owns). */
  readonly log: string;
  /** `pg_ctl stop -m immediate`: no shutdown checkpoint, as after a crash. */
  crash(): void;
  /** `pg_ctl stop -m fast`. */
  stopServer(): void;
  /** Start it again on the same port and data (after crash or stopServer); waits until it accepts connections. */
  start(): void;
  /** Stop the server and delete the temp dir. */
  stop(): void;
}

/** initdb + pg_ctl start, retried on another port if one was taken in between. */
export async function startPostgres(): Promise<Postgres> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce();
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

async function startOnce(): Promise<Postgres> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  const root = mkdtempSync(join(tmpdir(), 'cpath-pg-'));
  chmodSync(root, 0o755); // mkdtemp makes it 0700: the postgres user must be able to enter it
  const dir = join(root, 'pg');
  mkdirSync(dir);
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const log = join(dir, 'log');
  const run = (bin: string, args: readonly string[]): void => {
    const cmd = user !== undefined ? 'runuser' : join(PG_BIN, bin);
    const full = user !== undefined ? ['-u', 'postgres', '--', join(PG_BIN, bin), ...args] : [...args];
    const r = spawnSync(cmd, full, { encoding: 'utf8' });
    if (r.status !== 0) {
      let tail = '';
      try {
        tail = readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' | ');
      } catch {
        // no log yet
      }
      throw new Error(`${bin} ${args[0] ?? ''} failed: ${(r.stderr || r.stdout || String(r.error)).trim()} ${tail}`);
    }
  };
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`;
  const pgStart = (): void => run('pg_ctl', ['-D', data, '-o', serverOptions, '-l', log, '-w', '-t', '60', 'start']);
  const pgStop = (mode: 'fast' | 'immediate'): void => run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
  let running = false;
  const stop = (): void => {
    if (running) {
      try {
        pgStop('immediate');
      } catch {
        // already gone
      }
      running = false;
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale']);
    pgStart();
    running = true;
  } catch (e) {
    stop();
    throw e;
  }
  live.add(stop);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    log,
    crash: () => {
      pgStop('immediate');
      running = false;
    },
    stopServer: () => {
      pgStop('fast');
      running = false;
    },
    start: () => {
      pgStart();
      running = true;
    },
    stop: () => {
      live.delete(stop);
      stop();
    },
  };
}

/** Servers left running when the test process exits are stopped (pg_ctl runs synchronously). */
const live = new Set<() => void>();
process.on('exit', () => {
  for (const s of live) s();
});
