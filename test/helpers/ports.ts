// Free TCP ports on 127.0.0.1 for servers the tests start as child processes (which cannot be
// told "port 0, then report it back" the way our in-process servers can).
import { createServer, type Server } from 'node:net';

/**
 * `n` distinct ports the kernel reported free. All are held open until every one is found, so
 * one call never returns the same port twice; another process may still take one before the
 * caller binds it, which is why the server helpers retry a start on new ports.
 */
export async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = createServer();
      held.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
      const a = s.address();
      if (a === null || typeof a === 'string') throw new Error('no TCP address');
      ports.push(a.port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
