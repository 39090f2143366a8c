// `cpath serve`: flags -> startServe(), signals -> graceful shutdown.
import type { Command } from 'commander';
import { Option } from 'commander';
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from '../model/limits.js';
import { startServe, type SharedServeOptions } from '../server/serve.js';
import { startClusterNode, type ClusterRole } from '../server/cluster-serve.js';
import { isPostgresUrl, redactUrl } from '../store/store-url.js';
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
  cluster?: string;
  role?: string;
  partitions: string;
  replicas?: string;
  leaseTtl: string;
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
    .option('--store <dir|url>', 'where spans are stored: a directory (embedded SQLite), or with --cluster a postgres:// URL', './cpath-data')
    .option('--cluster <urls>', 'run as a node of a cluster on these NATS JetStream servers (nats://h1:4222,nats://h2:4222)')
    .option('--role <roles>', 'with --cluster: receiver, analyser, api, or all (comma-separated for several)', 'all')
    .option('--partitions <n>', 'with --cluster: partitions of the span stream (fixed when the stream is created)', '16')
    .option('--replicas <n>', 'with --cluster: copies JetStream keeps (default 3 with several NATS URLs, else 1)')
    .option('--lease-ttl <duration>', 'with --cluster: an analyser that stops renewing loses its partitions after this', '10s')
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
  if (f.cluster !== undefined) return runClusterNode(f);
  if (isPostgresUrl(f.store)) throw new UsageError('--store postgres://... is the store of a cluster: add --cluster nats://...');
  const otlpHttp = listenOpt('--otlp-http', f.otlpHttp, true);
  const otlpGrpc = listenOpt('--otlp-grpc', f.otlpGrpc, true);
  const api = listenOpt('--api', f.api, false);
  if (!api) throw new UsageError('--api cannot be off');
  if (f.forward !== undefined && !/^https?:\/\//.test(f.forward)) throw new UsageError(`--forward: "${f.forward}" is not an http(s) URL`);
  const log = (line: string): void => void process.stderr.write(`cpath serve: ${line}\n`);
  const server = await startServe({
    ...(otlpHttp ? { otlpHttp } : {}),
    ...(otlpGrpc ? { otlpGrpc } : {}),
    api,
    ...sharedOpts(f, log),
    ...(f.forward !== undefined ? { forward: f.forward } : {}),
    storeDir: f.store,
    fsync: f.fsync,
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
  await untilSignalled(server, log);
}

/** Resolves once a SIGINT or SIGTERM stopped the server gracefully; a second one exits at once. */
function untilSignalled(server: { close(): Promise<void> }, log: (line: string) => void): Promise<void> {
  return new Promise<void>((resolve) => {
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

const ROLES: readonly ClusterRole[] = ['receiver', 'analyser', 'api'];

function rolesOpt(v: string): Set<ClusterRole> {
  const out = new Set<ClusterRole>();
  for (const r of v.split(',').map((x) => x.trim())) {
    if (r === 'all') ROLES.forEach((x) => out.add(x));
    else if ((ROLES as readonly string[]).includes(r)) out.add(r as ClusterRole);
    else throw new UsageError(`--role: "${r}" is not a role (receiver, analyser, api, all)`);
  }
  return out;
}

async function runClusterNode(f: ServeFlags): Promise<void> {
  const cluster = (f.cluster ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (cluster.length === 0) throw new UsageError('--cluster: give NATS URLs (nats://host:4222,...)');
  for (const u of cluster) if (!/^(nats|tls):\/\/[^/\s]+$/.test(u)) throw new UsageError(`--cluster: "${u}" is not a NATS URL (nats://host:port)`);
  const roles = rolesOpt(f.role ?? 'all');
  const needsStore = roles.has('analyser') || roles.has('api');
  if (needsStore && !isPostgresUrl(f.store)) throw new UsageError(`--role ${[...roles].join(',')} needs --store postgres://user@host:port/db (the cluster's shared store), not ${f.store}`);
  const otlpHttp = roles.has('receiver') ? listenOpt('--otlp-http', f.otlpHttp, true) : undefined;
  const otlpGrpc = roles.has('receiver') ? listenOpt('--otlp-grpc', f.otlpGrpc, true) : undefined;
  const api = listenOpt('--api', f.api, !roles.has('api'));
  if (roles.has('api') && !api) throw new UsageError('--api cannot be off on a node with the api role');
  // The stream's bounds (stream.ts checks them too), told as usage errors before connecting.
  const partitions = positiveIntOpt('--partitions', f.partitions);
  if (partitions < 1 || partitions > 4096) throw new UsageError(`--partitions: ${partitions} is not from 1 to 4096`);
  const replicas = f.replicas !== undefined ? positiveIntOpt('--replicas', f.replicas) : cluster.length >= 3 ? 3 : 1;
  if (replicas < 1 || replicas > 5) throw new UsageError(`--replicas: ${replicas} is not from 1 to 5`);
  const log = (line: string): void => void process.stderr.write(`cpath serve: ${line}\n`);
  const node = await startClusterNode({
    cluster,
    roles,
    partitions,
    replicas,
    ...(needsStore ? { storeUrl: f.store } : {}),
    ...(otlpHttp ? { otlpHttp } : {}),
    ...(otlpGrpc ? { otlpGrpc } : {}),
    ...(api ? { api } : {}),
    ...sharedOpts(f, log),
    leaseTtlMs: Math.max(1000, Math.round(durationOpt('--lease-ttl', f.leaseTtl) / 1e6)),
  });
  const a = node.addresses;
  log(
    [
      a.otlpHttp ? `OTLP/HTTP on http://${a.otlpHttp}/v1/traces` : undefined,
      a.otlpGrpc ? `OTLP/gRPC on ${a.otlpGrpc}` : undefined,
      a.api ? `${roles.has('api') ? 'API' : '/healthz and /metrics'} on http://${a.api}/` : undefined,
      needsStore ? `store ${redactUrl(f.store)}` : undefined,
    ]
      .filter((x) => x !== undefined)
      .join('; '),
  );
  await untilSignalled(node, log);
}

/** The flags a single node and a cluster node read alike. */
function sharedOpts(f: ServeFlags, log: (line: string) => void): SharedServeOptions {
  const maxAgeNs = f.retention === 'off' ? undefined : durationOpt('--retention', f.retention);
  const maxBytes = f.maxStore === 'off' ? undefined : sizeOpt('--max-store', f.maxStore);
  return {
    ...(f.token !== undefined && f.token !== '' ? { token: f.token } : {}),
    maxBody: sizeOpt('--max-body', f.maxBody),
    cors: f.cors ?? [],
    allowedHosts: f.allowedHost ?? [],
    traceIdleMs: Math.max(1, Math.round(durationOpt('--trace-idle', f.traceIdle) / 1e6)),
    retention: { ...(maxAgeNs !== undefined && maxAgeNs > 0 ? { maxAgeNs } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}) },
    skewAdjust: f.skewAdjust,
    outliers: outliersOpt(f.outliers),
    top: positiveIntOpt('--top', f.top),
    maxQueuedSpans: positiveIntOpt('--max-queue', f.maxQueue),
    maxPendingTraces: positiveIntOpt('--max-pending-traces', f.maxPendingTraces),
    spanLimits: spanLimitsOpt(f),
    log,
  };
}

function spanLimitsOpt(f: ServeFlags): SpanLimits {
  return {
    attributes: positiveIntOpt('--max-attributes', f.maxAttributes),
    valueLength: positiveIntOpt('--max-attribute-length', f.maxAttributeLength),
    events: positiveIntOpt('--max-events', f.maxEvents),
    links: positiveIntOpt('--max-links', f.maxLinks),
  };
}
