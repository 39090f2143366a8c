// `cpath serve`: flags -> startServe(), signals -> graceful shutdown.
import type { Command } from 'commander';
import { Option } from 'commander';
import { DEFAULT_SPAN_LIMITS } from '../model/limits.js';
import { startServe } from '../server/serve.js';
import { UsageError, collect, durationOpt, listenOpt, outliersOpt, positiveIntOpt, sizeOpt } from './options.js';

interface ServeFlags {
  otlpHttp: string;
  otlpGrpc: string;
  api: string;
  token?: string;
  maxBody: string;
  cors?: string[];
  allowedHost?: string[];
  forward?: string;
  traceIdle: string;
  store: string;
  fsync: 'always' | 'batch';
  retention: string;
  maxStore: string;
  skewAdjust: boolean;
  outliers: string;
  top: string;
  maxQueue: string;
  maxPendingTraces: string;
  maxAttributes: string;
  maxAttributeLength: string;
  maxEvents: string;
  maxLinks: string;
}

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Receive OTLP traces (HTTP and gRPC), store them, analyse each trace once it is quiet, and answer queries over a JSON API.')
    .option('--otlp-http <host:port>', 'OTLP/HTTP receiver (POST /v1/traces), or off', '127.0.0.1:4318')
    .option('--otlp-grpc <host:port>', 'OTLP/gRPC receiver, or off', '127.0.0.1:4317')
    .option('--api <host:port>', 'query API (and /metrics, /healthz)', '127.0.0.1:4320')
    .addOption(new Option('--token <token>', 'require Authorization: Bearer <token> on every endpoint').env('CPATH_TOKEN'))
    .option('--max-body <size>', 'largest request accepted, after decompression', '64MiB')
    .option('--cors <origin...>', 'browser origins allowed to post traces (https://ui.example, https://*.example.com, * for any); other browser requests are refused')
    .option('--allowed-host <name>', 'also answer the API and page under this Host name (name or name:port; * for any); on loopback only localhost, 127.0.0.1 and [::1] are answered (repeatable)', collect)
    .option('--forward <url>', 'also pass every accepted request on to this OTLP/HTTP endpoint, best effort')
    .option('--trace-idle <duration>', 'analyse a trace once no span of it arrived for this long', '5s')
    .option('--store <dir>', 'where spans are stored', './cpath-data')
    .addOption(new Option('--fsync <mode>', 'always: every acknowledged span survives power loss (an fsync per commit); batch: it survives a crash of cpath, the OS syncs later').choices(['always', 'batch']).default('batch'))
    .option('--retention <duration>', 'delete traces whose last span arrived longer ago than this (off to keep all)', '7d')
    .option('--max-store <size>', 'delete the oldest traces while the store is larger than this (off for no limit)', '10GB')
    .option('--no-skew-adjust', 'do not shift cross-host server spans into their client spans')
    .option('--outliers <rule>', 'outlier rule of the API: auto, pN or a duration', 'auto')
    .option('--top <n>', 'outliers listed per endpoint', '20')
    .option('--max-queue <spans>', 'spans waiting for their commit before receivers answer busy', '200000')
    .option('--max-pending-traces <n>', 'traces waiting for analysis before receivers answer busy', '1000000')
    .option('--max-attributes <n>', 'attributes kept per span and per resource (the rest dropped, counted)', String(DEFAULT_SPAN_LIMITS.attributes))
    .option('--max-attribute-length <n>', 'characters kept of a string or bytes attribute value (the rest cut, counted)', String(DEFAULT_SPAN_LIMITS.valueLength))
    .option('--max-events <n>', 'events decoded per span (cpath keeps none; the rest skipped, counted)', String(DEFAULT_SPAN_LIMITS.events))
    .option('--max-links <n>', 'links kept per span (the rest dropped, counted)', String(DEFAULT_SPAN_LIMITS.links))
    .action(async (f: ServeFlags) => {
      await runServe(f);
    });
}

async function runServe(f: ServeFlags): Promise<void> {
  const otlpHttp = listenOpt('--otlp-http', f.otlpHttp, true);
  const otlpGrpc = listenOpt('--otlp-grpc', f.otlpGrpc, true);
  const api = listenOpt('--api', f.api, false);
  if (!api) throw new UsageError('--api cannot be off');
  if (f.forward !== undefined && !/^https?:\/\//.test(f.forward)) throw new UsageError(`--forward: "${f.forward}" is not an http(s) URL`);
  const maxAgeNs = f.retention === 'off' ? undefined : durationOpt('--retention', f.retention);
  const maxBytes = f.maxStore === 'off' ? undefined : sizeOpt('--max-store', f.maxStore);
  const log = (line: string): void => void process.stderr.write(`cpath serve: ${line}\n`);
  const server = await startServe({
    ...(otlpHttp ? { otlpHttp } : {}),
    ...(otlpGrpc ? { otlpGrpc } : {}),
    api,
    ...(f.token !== undefined && f.token !== '' ? { token: f.token } : {}),
    maxBody: sizeOpt('--max-body', f.maxBody),
    cors: f.cors ?? [],
    allowedHosts: f.allowedHost ?? [],
    ...(f.forward !== undefined ? { forward: f.forward } : {}),
    traceIdleMs: Math.max(1, Math.round(durationOpt('--trace-idle', f.traceIdle) / 1e6)),
    storeDir: f.store,
    fsync: f.fsync,
    retention: { ...(maxAgeNs !== undefined && maxAgeNs > 0 ? { maxAgeNs } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}) },
    skewAdjust: f.skewAdjust,
    outliers: outliersOpt(f.outliers),
    top: positiveIntOpt('--top', f.top),
    maxQueuedSpans: positiveIntOpt('--max-queue', f.maxQueue),
    maxPendingTraces: positiveIntOpt('--max-pending-traces', f.maxPendingTraces),
    spanLimits: {
      attributes: positiveIntOpt('--max-attributes', f.maxAttributes),
      valueLength: positiveIntOpt('--max-attribute-length', f.maxAttributeLength),
      events: positiveIntOpt('--max-events', f.maxEvents),
      links: positiveIntOpt('--max-links', f.maxLinks),
    },
    log,
  });
  const a = server.addresses;
  log(
    [
      a.otlpHttp ? `OTLP/HTTP on http://${a.otlpHttp}/v1/traces` : 'OTLP/HTTP off',
      a.otlpGrpc ? `OTLP/gRPC on ${a.otlpGrpc}` : 'OTLP/gRPC off',
      `API on http://${a.api}/`,
      `store ${server.store.file} (fsync ${f.fsync})`,
      ...(f.token ? ['token required'] : []),
    ].join('; '),
  );
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      // A second signal means "now": exit without waiting for the drain.
      if (stopping) process.exit(sig === 'SIGINT' ? 130 : 143);
      stopping = true;
      log(`${sig}: stopping (in-flight requests are answered, queued spans committed; send it again to quit at once)`);
      void server.close().then(() => {
        log('stopped');
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
