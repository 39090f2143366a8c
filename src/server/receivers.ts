// The OTLP receivers of `cpath serve` (HTTP and gRPC) in front of a sink: the single node's
// ingest queue or the cluster receiver's JetStream publisher. Same endpoints, limits, auth and
// status codes either way.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ByteBudget } from '../../collectors/http-body.js';
import { bearerFromMetadata, startOtlpGrpcServer } from '../../collectors/otlp-grpc.js';
import { createOtlpHttpHandler, type OtlpSink } from '../../collectors/otlp-http.js';
import { OffThreadDecoders } from '../../collectors/otlp-request.js';
import type { TokenCheck } from './auth.js';

export interface Listen {
  readonly host: string;
  readonly port: number;
}

export interface ReceiverOptions {
  /** Undefined: off. */
  readonly otlpHttp?: Listen;
  readonly otlpGrpc?: Listen;
  readonly sink: OtlpSink;
  readonly token: TokenCheck;
  /** Request size limit after decompression, bytes. */
  readonly maxBody: number;
  readonly cors: readonly string[];
}

export interface Receivers {
  readonly addresses: { readonly otlpHttp?: string; readonly otlpGrpc?: string };
  /** Stops accepting and answers what is in flight. */
  close(): Promise<void>;
}

export async function startReceivers(o: ReceiverOptions): Promise<Receivers> {
  // Big request bodies are decoded on worker threads, shared by both receivers.
  const decoders = new OffThreadDecoders();
  const budget = new ByteBudget(Math.max(4 * o.maxBody, 256 * 1024 * 1024));
  let http: Server | undefined;
  let grpc: { port: number; close(): Promise<void> } | undefined;
  const addresses: { otlpHttp?: string; otlpGrpc?: string } = {};
  const close = async (): Promise<void> => {
    await Promise.all([http && closeHttp(http), grpc?.close()]);
    await decoders.close();
  };
  try {
    if (o.otlpHttp) {
      http = createServer({ requestTimeout: 60_000 }, createOtlpHttpHandler({ sink: o.sink, maxBody: o.maxBody, budget, cors: o.cors, authorize: (req) => o.token.bearer(req.headers.authorization), retryAfterSeconds: 1, decoders }));
      addresses.otlpHttp = await listen(http, o.otlpHttp, 'OTLP/HTTP');
    }
    if (o.otlpGrpc) {
      grpc = await startOtlpGrpcServer({ host: o.otlpGrpc.host, port: o.otlpGrpc.port, sink: o.sink, maxBody: o.maxBody, authorize: (md) => o.token.matches(bearerFromMetadata(md)), decoders });
      addresses.otlpGrpc = hostPort(o.otlpGrpc.host, grpc.port);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { addresses, close };
}

export function listen(s: Server, l: Listen, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => reject(new ListenError(`cannot listen for ${what} on ${hostPort(l.host, l.port)}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`));
    s.once('error', onError);
    s.listen(l.port, l.host, () => {
      s.off('error', onError);
      resolve(hostPort(l.host, (s.address() as AddressInfo).port));
    });
  });
}

export class ListenError extends Error {}

export function closeHttp(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeIdleConnections();
    // Keep-alive clients that never go idle are cut after a grace period.
    setTimeout(() => s.closeAllConnections(), 5_000).unref();
  });
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
