/**
 * Drains are split into {@link SHARDS} shards by their id, and each shard has one holder among the drainers: the
 * one with its lease. Leases per shard rather than per drain keep the cost of holding thousands of drains flat (a
 * renewal is a replicated KV write: 5,000 per-drain leases made 1,500 a second). Each drainer aims for its fair part,
 * `ceil(SHARDS / live drainers)`: it takes free shards up to it and hands over what it holds beyond, so a second
 * drainer shares the work, and the survivors of a dead one take its shards once their leases expire.
 */
import type { Logger } from "@tailrace/runtime";
import { type Leases, shardKey } from "../store/leases.js";

export const SHARDS = 64;

/** The shard of a drain: FNV-1a of its id. Every drainer must agree, so it is not a setting. */
export function shardOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % SHARDS;
}

export interface ShardEvents {
  /** The shard is ours: start its drains. */
  taken(shard: number): Promise<void>;
  /** The lease is gone (expired and taken, or unrenewable in time): stop its drains at once, checkpoint nothing. */
  lost(shard: number): Promise<void>;
  /** We hand it over: deliver what is in flight, checkpoint, then the lease is released. */
  handOver(shard: number): Promise<void>;
}

interface Held {
  revision: number;
  renewedAt: number;
  failing: boolean;
}

export class Shards {
  private readonly held = new Map<number, Held>();
  /** Shards being handed over: no longer ours for new drains, but their lease is kept until their drains stop. */
  private readonly releasing = new Map<number, Held>();
  private timer: NodeJS.Timeout | undefined;
  /** Renewals and balancing run apart, so that a slow balancing round (a takeover) never delays a renewal. */
  private renewing: Promise<void> | undefined;
  private ticking: Promise<void> | undefined;
  /** When the current round began, the step it is at, and whether the log was told it is stuck. */
  private roundAt = 0;
  private step = "";
  private stuckTold = false;
  /** Shards taken start their drains one after another, in this chain. */
  private starting: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly leases: Leases,
    private readonly owner: string,
    private readonly logger: Logger,
    private readonly events: ShardEvents,
  ) {}

  holds(shard: number): boolean {
    return this.held.has(shard);
  }

  get count(): number {
    return this.held.size;
  }

  start(): void {
    const every = Math.max(100, Math.floor(this.leases.ttlMs / 3));
    this.tick();
    this.timer = setInterval(() => this.tick(), every);
  }

  private tick(): void {
    // Renewals go on while stopping: the last hand-overs keep their leases until their drains have stopped.
    if (!this.renewing) {
      this.renewing = Promise.all([...this.held.keys(), ...this.releasing.keys()].map((s) => this.renew(s)))
        .then(() => undefined)
        .catch((err) => this.logger.warn({ err: (err as Error).message }, "drain shard renewals failed; retrying"))
        .finally(() => {
          this.renewing = undefined;
        });
    }
    if (this.ticking) {
      // A round that never ends would stop this drainer taking or handing over shards; say where it waits.
      if (!this.stuckTold && Date.now() - this.roundAt > 30_000) {
        this.stuckTold = true;
        this.logger.error({ step: this.step, forMs: Date.now() - this.roundAt }, "a drain shard round is stuck");
      }
      return;
    }
    if (this.stopped) return;
    this.roundAt = Date.now();
    this.stuckTold = false;
    this.ticking = this.round()
      .catch((err) => this.logger.warn({ err: (err as Error).message }, "drain shard round failed; retrying"))
      .finally(() => {
        this.ticking = undefined;
      });
  }

  private async round(): Promise<void> {
    this.step = "presence";
    await this.leases.present(this.owner);
    this.step = "live drainers";
    const live = Math.max(1, await this.leases.live());
    const target = Math.ceil(SHARDS / live);
    if (this.held.size > target) {
      const extra = [...this.held.keys()].sort((a, b) => b - a).slice(0, this.held.size - target);
      this.logger.info({ live, target, handing: extra.length }, "handing drain shards over to the other drainers");
      this.step = "hand-over";
      await Promise.all(extra.map((s) => this.release(s)));
      return;
    }
    const free = shuffle(Array.from({ length: SHARDS }, (_, s) => s).filter((s) => !this.held.has(s)));
    // Up to the target at once, never beyond it: one round trip for all rather than one per shard. One after another,
    // a drainer's first line waited for 32 creates on average, each queued behind whatever the feed was bringing on
    // the same connection (issue 13: 0.4 to 1.3 s to the first line on one syslog drain).
    while (!this.stopped && this.held.size < target && free.length > 0) {
      const asked = free.splice(0, target - this.held.size);
      this.step = `acquire ${asked.length} shards`;
      const revisions = await Promise.all(asked.map((s) => this.leases.acquire(shardKey(s), this.owner)));
      const taken: number[] = [];
      asked.forEach((s, i) => {
        const revision = revisions[i];
        if (revision === undefined) return;
        this.held.set(s, { revision, renewedAt: Date.now(), failing: false });
        taken.push(s);
      });
      if (taken.length === 0) continue;
      // Not awaited: starting a shard's drains must never hold up the next round's renewals (a takeover of a
      // thousand drains took longer than the lease TTL, and the shards taken first expired under it). The shards
      // taken together read their cursors together.
      this.starting = this.starting.then(() =>
        Promise.all(
          taken.map((s) =>
            (this.held.has(s) ? this.events.taken(s) : Promise.resolve()).catch((err) =>
              this.logger.warn({ shard: s, err: (err as Error).message }, "could not start a drain shard's drains"),
            ),
          ),
        ).then(() => undefined),
      );
    }
  }

  private async renew(shard: number): Promise<void> {
    const map = this.held.has(shard) ? this.held : this.releasing;
    const h = map.get(shard);
    if (!h) return;
    let rev: number | undefined;
    try {
      rev = await this.leases.renew(shardKey(shard), this.owner, h.revision);
    } catch (err) {
      // NATS does not answer (a node lost, a leader being elected). The lease is ours until its TTL from the last
      // renewal; keep delivering inside it and stop before it ends, so two drainers never write one drain.
      const left = h.renewedAt + this.leases.ttlMs - Date.now();
      if (left > this.leases.ttlMs / 3) {
        if (!h.failing)
          this.logger.warn({ shard, err: (err as Error).message, leaseLeftMs: left }, "cannot renew a drain shard's lease yet");
        h.failing = true;
        return;
      }
      this.logger.warn({ shard, err: (err as Error).message }, "cannot renew a drain shard's lease before it ends; its drains pause");
      rev = undefined;
    }
    // Expired under us (a renewal came late) and nobody took it meanwhile: take it again and go on.
    if (rev === undefined) rev = await this.leases.acquire(shardKey(shard), this.owner).catch(() => undefined);
    if (rev !== undefined) {
      if (h.failing) this.logger.info({ shard }, "renewed a drain shard's lease again");
      if (map.has(shard)) map.set(shard, { revision: rev, renewedAt: Date.now(), failing: false });
      return;
    }
    if (map === this.releasing) {
      // Being handed over anyway; its drains are stopping.
      this.releasing.delete(shard);
      return;
    }
    this.held.delete(shard);
    this.logger.warn({ shard }, "a drain shard's lease is not ours any more; another drainer may deliver its drains now");
    await this.events.lost(shard);
  }

  private async release(shard: number): Promise<void> {
    const h = this.held.get(shard);
    if (!h) return;
    // Not ours from here on, so that a drain bound during the hand-over is not started here (two writers).
    this.held.delete(shard);
    this.releasing.set(shard, h);
    try {
      await this.events.handOver(shard);
    } finally {
      // Renewed while the hand-over took (its drains deliver what is in flight): release the latest revision.
      const last = this.releasing.get(shard);
      this.releasing.delete(shard);
      if (last) await this.leases.release(shardKey(shard), last.revision);
    }
  }

  /** Hands every shard over (their drains deliver what is in flight first) and says this drainer is gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.ticking;
    await this.starting;
    await Promise.all([...this.held.keys()].map((s) => this.release(s)));
    clearInterval(this.timer);
    await this.renewing;
    await this.leases.absent(this.owner);
  }
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}
