// Counters for `GET /metrics` (Prometheus text exposition format 0.0.4).

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly values: Map<string, { labels: Labels; value: number }>;
}

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly gauges = new Map<string, { help: string; read: () => number; type: 'gauge' | 'counter' }>();
  private readonly labelled = new Map<string, { help: string; read: () => readonly (readonly [Labels, number])[]; type: 'gauge' | 'counter' }>();

  constructor() {
    this.declare('cpath_spans_received_total', 'Spans accepted and committed to the store, by transport.');
    this.declare('cpath_spans_rejected_total', 'Spans rejected, by reason (partial success, bad request, too large, busy...).');
    this.declare('cpath_requests_total', 'Export requests answered, by transport and status code.');
    this.declare('cpath_receiver_diagnostics_total', 'Problems found in accepted requests, by diagnostic code (a cluster receiver; a single node shows them in /api/diagnostics).');
    this.declare('cpath_forward_requests_total', 'Requests passed on with --forward, by outcome (sent, failed, dropped).');
  }

  private declare(name: string, help: string): void {
    this.families.set(name, { help, type: 'counter', values: new Map() });
  }

  /** A value read when /metrics is scraped (a counter kept elsewhere, or a gauge). */
  gauge(name: string, help: string, read: () => number, type: 'gauge' | 'counter' = 'gauge'): void {
    this.gauges.set(name, { help, read, type });
  }

  /** A family of values with labels, read when /metrics is scraped (one per partition...). */
  labelledGauge(name: string, help: string, read: () => readonly (readonly [Labels, number])[], type: 'gauge' | 'counter' = 'gauge'): void {
    this.labelled.set(name, { help, read, type });
  }

  add(name: string, labels: Labels, n = 1): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`metric ${name} is not declared`);
    const key = labelText(labels);
    const e = f.values.get(key);
    if (e) e.value += n;
    else f.values.set(key, { labels, value: n });
  }

  render(): string {
    let out = '';
    for (const [name, f] of this.families) {
      out += `# HELP ${name} ${f.help}\n# TYPE ${name} ${f.type}\n`;
      for (const { labels, value } of f.values.values()) out += `${name}${labelText(labels)} ${value}\n`;
    }
    for (const [name, g] of this.gauges) out += `# HELP ${name} ${g.help}\n# TYPE ${name} ${g.type}\n${name} ${g.read()}\n`;
    for (const [name, g] of this.labelled) {
      out += `# HELP ${name} ${g.help}\n# TYPE ${name} ${g.type}\n`;
      for (const [labels, value] of g.read()) out += `${name}${labelText(labels)} ${value}\n`;
    }
    return out;
  }
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${(labels[k] ?? '').replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`;
}
