// DNS rebinding: a web page whose name an attacker re-points at 127.0.0.1 talks to a loopback
// server as "same origin", but its requests still carry the attacker's name in `Host`. So a
// listener bound to loopback answers only the loopback names (and `--allowed-host` names).

export interface HostPolicy {
  /** False: every Host is accepted (a listener on a non-loopback address without --allowed-host). */
  readonly enforced: boolean;
  /** Lowercase names (`localhost`, `127.0.0.1`, `[::1]`, `--allowed-host` names), accepted with any port or none. */
  readonly names: ReadonlySet<string>;
  /** Lowercase `name:port` pairs given as such with --allowed-host: only that port. */
  readonly hostPorts: ReadonlySet<string>;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** True for an address that only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The policy of a listener bound to `bindHost`: enforced on loopback, or whenever names are
 * allowed explicitly; `*` among them turns the check off (behind a proxy that checks names).
 */
export function hostPolicy(bindHost: string, allowed: readonly string[]): HostPolicy {
  const names = new Set<string>();
  const hostPorts = new Set<string>();
  if (allowed.includes('*')) return { enforced: false, names, hostPorts };
  const loopback = isLoopback(bindHost);
  if (loopback || allowed.length > 0) for (const n of LOOPBACK_NAMES) names.add(n);
  // The address bound is a name a client may use too (127.0.0.2, a literal IPv6 address).
  if (loopback) names.add(bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost.toLowerCase()}]` : bindHost.toLowerCase());
  for (const a of allowed) {
    const t = a.trim().toLowerCase();
    // A bare IPv6 address is written in brackets in Host.
    const v = /^[0-9a-f]*:[0-9a-f]*:[0-9a-f:.]*$/.test(t) ? `[${t}]` : t;
    if (/:\d+$/.test(v) && !/^[^[]*:.*:/.test(v)) hostPorts.add(v);
    else names.add(v);
  }
  return { enforced: loopback || allowed.length > 0, names, hostPorts };
}

/** Whether a request with this `Host` header may be answered by a listener on `port`. */
export function hostAllowed(policy: HostPolicy, header: string | undefined, port: number): boolean {
  if (!policy.enforced) return true;
  // HTTP/1.0 without Host: not a browser (browsers always send one).
  if (header === undefined) return true;
  const h = header.trim().toLowerCase();
  if (policy.hostPorts.has(h)) return true;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(h);
  if (!m) return false;
  const name = m[1] ?? '';
  return policy.names.has(name) && (m[2] === undefined || Number(m[2]) === port);
}
