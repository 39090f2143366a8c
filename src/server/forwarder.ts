// --forward URL: every acknowledged request is also posted to another OTLP/HTTP endpoint (a
// Collector, Jaeger), best effort: a bounded queue that drops the newest when full, a few
// requests in flight, no retries. cpath's own acknowledgement never waits for it.
import type { OtlpEncoding } from '../../collectors/otlp-request.js';
import type { Metrics } from './metrics.js';

interface Item {
  readonly body: Buffer;
  readonly encoding: OtlpEncoding;
}

export interface ForwarderOptions {
  readonly url: string;
  /** Bytes queued at most. */
  readonly maxQueuedBytes: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export class Forwarder {
  private readonly queue: Item[] = [];
  private queuedBytes = 0;
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private warned = false;

  constructor(
    private readonly opts: ForwarderOptions,
    private readonly metrics: Metrics,
  ) {}

  /** An OTLP/HTTP base (`http://collector:4318`) gets `/v1/traces`; a URL with a path is used as given. */
  static resolveUrl(raw: string): string {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--forward takes an http(s) URL, not ${raw}`);
    if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1/traces';
    return u.toString();
  }

  get depth(): number {
    return this.queue.length;
  }

  push(body: Buffer, encoding: OtlpEncoding): void {
    if (this.queuedBytes + body.length > this.opts.maxQueuedBytes) {
      this.metrics.add('cpath_forward_requests_total', { outcome: 'dropped' });
      return;
    }
    this.queue.push({ body, encoding });
    this.queuedBytes += body.length;
    this.pump();
  }

  private pump(): void {
    while (this.active < this.opts.concurrency && this.queue.length > 0) {
      const item = this.queue.shift();
      if (!item) break;
      this.queuedBytes -= item.body.length;
      this.active++;
      void this.send(item).finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async send(item: Item): Promise<void> {
    try {
      const res = await fetch(this.opts.url, {
        method: 'POST',
        headers: { 'Content-Type': item.encoding === 'json' ? 'application/json' : 'application/x-protobuf', ...this.opts.headers },
        body: item.body,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      await res.arrayBuffer();
      this.metrics.add('cpath_forward_requests_total', { outcome: res.ok ? 'sent' : 'failed' });
      if (!res.ok) this.warn(`HTTP ${res.status}`);
    } catch (e) {
      this.metrics.add('cpath_forward_requests_total', { outcome: 'failed' });
      this.warn(e instanceof Error ? e.message : String(e));
    }
  }

  /** One line on stderr for the first failure; the counters tell the rest. */
  private warn(what: string): void {
    if (this.warned) return;
    this.warned = true;
    process.stderr.write(`cpath serve: forwarding to ${this.opts.url} failed (${what}); counting further failures in /metrics\n`);
  }

  /** Resolves when everything queued was sent (or failed), waiting at most `ms`. */
  drain(ms: number): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
