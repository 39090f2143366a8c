// Which analyser owns which partition: leases in a JetStream key-value bucket (issue 11), no
// consensus of our own. The bucket's TTL is the lease time: an owner renews its keys (a
// compare-and-set on the revision it holds) every third of it; an owner that dies stops
// renewing, its keys age out, and a survivor's create() succeeds.
//
//   lease.<p>       the owner of partition p (its node id)
//   member.<node>   every live analyser, renewed likewise: the fair share is ceil(P / members)
//
// Balance: a node claims free partitions up to its fair share and gives back what it holds
// beyond it (after its consumer stopped and what it fetched was committed), so a node that
// joins gets partitions and one that leaves or dies hands them over.
import type { KV } from 'nats';

export interface LeaseEvents {
  /** p is ours now: start consuming it. */
  claimed(p: number): Promise<void> | void;
  /** p must be given up (balance) or was lost (expired, taken): stop consuming it. Resolves when stopped. */
  released(p: number, why: 'balance' | 'lost' | 'stop'): Promise<void>;
}

export interface LeaseOptions {
  readonly partitions: number;
  readonly nodeId: string;
  readonly ttlMs: number;
  readonly log: (line: string) => void;
}

export class PartitionLeases {
  /** Partitions held, with the revision of our last write. */
  private readonly held = new Map<number, number>();
  private memberRevision: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Live analysers at the last round. */
  members = 1;

  constructor(
    private readonly kv: KV,
    private readonly opts: LeaseOptions,
    private readonly events: LeaseEvents,
  ) {}

  /** Partitions this node holds now, ascending. */
  owned(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.round()
        .catch((e: unknown) => this.opts.log(`lease round failed: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, Math.max(100, Math.floor(this.opts.ttlMs / 3)));
        });
    };
    tick();
  }

  /** One round: renew, count members, claim up to the fair share, give back the excess. */
  async round(): Promise<void> {
    await this.renewMember();
    for (const [p, rev] of [...this.held]) {
      try {
        this.held.set(p, await this.kv.update(leaseKey(p), this.opts.nodeId, rev));
      } catch {
        // Expired and taken, or deleted: it is not ours any more.
        this.held.delete(p);
        this.opts.log(`partition ${p}: lease lost`);
        await this.events.released(p, 'lost');
      }
    }
    this.members = Math.max(1, await this.countMembers());
    const fair = Math.ceil(this.opts.partitions / this.members);
    if (this.held.size < fair) await this.claim(fair - this.held.size);
    else if (this.held.size > fair) await this.giveBack(this.held.size - fair);
  }

  private async renewMember(): Promise<void> {
    const key = `member.${this.opts.nodeId}`;
    try {
      this.memberRevision = this.memberRevision === undefined ? await this.kv.create(key, '') : await this.kv.update(key, '', this.memberRevision);
    } catch {
      // Aged out (this node stalled longer than the TTL): announce it again.
      await this.kv.delete(key).catch(() => undefined);
      this.memberRevision = await this.kv.create(key, '');
    }
  }

  private async countMembers(): Promise<number> {
    let n = 0;
    const keys = await this.kv.keys('member.*');
    for await (const _ of keys) n++;
    return n;
  }

  /** Tries free partitions, starting at a place of its own so that nodes do not all race for 0. */
  private async claim(want: number): Promise<void> {
    const P = this.opts.partitions;
    const start = hashString(this.opts.nodeId) % P;
    for (let i = 0; i < P && want > 0; i++) {
      const p = (start + i) % P;
      if (this.held.has(p)) continue;
      let rev: number;
      try {
        rev = await this.kv.create(leaseKey(p), this.opts.nodeId);
      } catch {
        continue; // owned by someone else
      }
      this.held.set(p, rev);
      want--;
      this.opts.log(`partition ${p}: claimed`);
      await this.events.claimed(p);
    }
  }

  private async giveBack(n: number): Promise<void> {
    for (const p of this.owned().reverse().slice(0, n)) await this.release(p, 'balance');
  }

  private async release(p: number, why: 'balance' | 'stop'): Promise<void> {
    await this.events.released(p, why);
    const rev = this.held.get(p);
    this.held.delete(p);
    // Only if still ours (never delete a lease another node took meanwhile).
    if (rev !== undefined) await this.kv.delete(leaseKey(p), { previousSeq: rev }).catch(() => undefined);
    this.opts.log(`partition ${p}: released (${why === 'balance' ? 'another analyser joined' : 'stopping'})`);
  }

  /** Stops renewing and hands every partition back (graceful stop). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    for (const p of this.owned()) await this.release(p, 'stop');
    if (this.memberRevision !== undefined) await this.kv.delete(`member.${this.opts.nodeId}`).catch(() => undefined);
  }
}

export function leaseKey(p: number): string {
  return `lease.${p}`;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
