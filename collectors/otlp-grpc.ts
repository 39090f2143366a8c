// The OTLP/gRPC receiver: unary `TraceService/Export` on @grpc/grpc-js, the counterpart of
// otlp-http.ts with the status codes exporters expect (docs/otlp.md):
// INVALID_ARGUMENT for bad data, RESOURCE_EXHAUSTED over the limit, UNAVAILABLE when busy (retried),
// UNAUTHENTICATED without the token, partial success for spans with invalid ids.
//
// Size limit: grpc-js enforces `grpc.max_receive_message_length` on the framed (compressed) length
// and again while it inflates gzip/deflate, chunk by chunk, destroying the inflater once the
// total passes the limit; a gzip bomb costs about maxBody of memory, not its inflated size.
// Those refusals are sent by grpc-js itself and never reach a handler or interceptor.
import * as grpc from '@grpc/grpc-js';
import { UnstorableRequest, type OtlpSink } from './otlp-http.js';
import { DEFAULT_SPAN_LIMITS } from '../src/model/limits.js';
import { decodeExportRequest, decodeExportRequestOffThread, encodeExportResponse, type OffThreadDecoders } from './otlp-request.js';

export interface OtlpGrpcOptions {
  readonly host: string;
  /** 0 picks a free port (returned by startOtlpGrpcServer). */
  readonly port: number;
  readonly sink: OtlpSink;
  /** Limit on a message after decompression, bytes. */
  readonly maxBody: number;
  /** False when the call lacks the bearer token. */
  readonly authorize: (metadata: grpc.Metadata) => boolean;
  /** Decodes big messages off the event loop; without them every message is decoded in line. */
  readonly decoders?: OffThreadDecoders;
}

export interface OtlpGrpcServer {
  readonly port: number;
  close(): Promise<void>;
}

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * `answered` code for calls that ended without a status from us: grpc-js refused the message
 * itself (over the size limit, bad compression, deadline) or the client went away first.
 * grpc-js does not tell interceptors which status it sent.
 */
export const ENDED_BY_GRPC = 'ENDED_BY_GRPC';

// Bytes in, bytes out: decoding happens in the handler, because grpc-js turns a throwing
// deserializer into INTERNAL, which exporters neither explain nor treat as bad data.
const passThrough = (b: Buffer): Buffer => b;
const definition: grpc.ServiceDefinition<grpc.UntypedServiceImplementation> = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
};

/** The token of an `authorization: Bearer <token>` metadata entry. */
export function bearerFromMetadata(md: grpc.Metadata): string | undefined {
  const value = md.get('authorization').find((v): v is string => typeof v === 'string');
  return value !== undefined ? /^Bearer\s+(.+)$/i.exec(value)?.[1]?.trim() : undefined;
}

export function startOtlpGrpcServer(opts: OtlpGrpcOptions): Promise<OtlpGrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxBody,
    interceptors: [gate(opts)],
  });
  const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    exportTraces(call.request, `grpc ${call.getPeer()}`, opts.sink, opts.decoders).then(
      (reply) => (Buffer.isBuffer(reply) ? callback(null, reply) : callback(reply)),
      (e: unknown) => callback({ code: grpc.status.INTERNAL, details: `internal error: ${e instanceof Error ? e.message : String(e)}` }),
    );
  };
  server.addService(definition, { Export: handler });
  const address = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  return new Promise((resolve, reject) => {
    // Since grpc-js 1.10 a bound server serves at once (start() is deprecated).
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(err);
      resolve({ port, close: () => shutdown(server) });
    });
  });
}

interface StatusReply {
  readonly code: grpc.status;
  readonly details: string;
}
type ExportReply = Buffer | StatusReply;

async function exportTraces(message: Buffer, source: string, sink: OtlpSink, decoders: OffThreadDecoders | undefined): Promise<ExportReply> {
  const { decoded, body } = decoders
    ? await decodeExportRequestOffThread([message], 'protobuf', source, sink.resources, sink.limits ?? DEFAULT_SPAN_LIMITS, decoders)
    : { decoded: decodeExportRequest(message, 'protobuf', source, sink.resources, sink.limits), body: message };
  if (!decoded.ok) {
    sink.count({ kind: 'rejected', reason: 'bad_request', spans: 0 });
    return { code: grpc.status.INVALID_ARGUMENT, details: decoded.message };
  }
  const wait = sink.submit(decoded.spans);
  if (wait === 'busy') return busy(sink, 'busy', decoded.spans.length);
  try {
    await wait; // reply only once the spans are committed
  } catch (e) {
    if (e instanceof UnstorableRequest) {
      sink.count({ kind: 'rejected', reason: 'unstorable', spans: decoded.spans.length });
      return { code: grpc.status.INVALID_ARGUMENT, details: e.message };
    }
    sink.count({ kind: 'store_failed', error: e });
    return busy(sink, 'store_failed', decoded.spans.length);
  }
  sink.noteDiagnostics(decoded.diag);
  sink.count({ kind: 'accepted', transport: 'grpc', spans: decoded.spans.length });
  if (decoded.rejected > 0) sink.count({ kind: 'rejected', reason: 'invalid_span', spans: decoded.rejected });
  sink.accepted?.(Buffer.from(body.buffer, body.byteOffset, body.byteLength), 'protobuf');
  return encodeExportResponse('protobuf', decoded.rejected, decoded.rejectReason);
}

function busy(sink: OtlpSink, reason: 'busy' | 'store_failed', spans = 0): StatusReply {
  sink.count({ kind: 'rejected', reason, spans });
  const details = reason === 'store_failed' ? 'the span store refused the write; retry later' : 'cpath is busy (ingest or analysis queue full); retry later';
  return { code: grpc.status.UNAVAILABLE, details };
}

/**
 * Refuses unauthenticated and busy calls from their metadata, before the message is read or
 * inflated, and counts every answer (one place sees handler and gate statuses alike).
 */
function gate(opts: OtlpGrpcOptions): grpc.ServerInterceptor {
  const { sink } = opts;
  return (_method, next) => {
    let answered = false;
    let gotMessage = false;
    const count = (code: string): void => {
      if (answered) return;
      answered = true;
      sink.count({ kind: 'answered', transport: 'grpc', code });
    };
    const call: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(next, {
      start: (start) =>
        start({
          onReceiveMetadata: (md, pass) => {
            if (!opts.authorize(md)) return call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong bearer token (metadata authorization: Bearer <token>)' });
            if (sink.busy()) return call.sendStatus(busy(sink, 'busy'));
            pass(md);
          },
          onReceiveMessage: (message, pass) => {
            gotMessage = true;
            pass(message);
          },
          // Fires after every call; only counts when no status went through sendStatus below.
          onCancel: () => count(gotMessage ? 'CANCELLED' : ENDED_BY_GRPC),
        }),
      sendStatus: (status, pass) => {
        count(grpc.status[status.code] ?? String(status.code));
        pass(status);
      },
    });
    return call;
  };
}

function shutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    // Graceful first (calls in flight finish); a client holding a stream open must not block exit.
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
