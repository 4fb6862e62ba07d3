/**
 * One holder per shard of drains across any number of drainers: a lease per shard in a KV bucket whose entries expire
 * after the lease TTL (a bucket `ttl`, which nats-server 2.9 has; per-message TTLs it has not). A drainer takes a
 * lease with `create` (fails while another holds it), keeps it with revision-checked `update`s, and gives it up with
 * `delete`. A drainer that dies stops renewing, its entry expires, and the next drainer that tries takes over.
 *
 * Each drainer also keeps a presence entry (`drainer.<id>`) under the same TTL, so all can tell how many share the
 * work and take their part of the shards.
 */
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

export const LEASES_BUCKET = "tailrace_drain_leases";

export const shardKey = (shard: number): string => `shard.${shard}`;

export class Leases {
  private constructor(
    private readonly kv: KV,
    /** The TTL the bucket really has, which is the first drainer's setting. */
    readonly ttlMs: number,
  ) {}

  static async open(nc: NatsConnection, ttlMs: number, replicas = 1): Promise<Leases> {
    const kvm = new Kvm(nc);
    let kv: KV;
    try {
      // Creates the bucket, or binds to it when it exists with the same settings.
      kv = await kvm.create(LEASES_BUCKET, { history: 1, ttl: ttlMs, replicas });
    } catch {
      // It exists with other settings (another drainer's TTL): use it as it is.
      kv = await kvm.open(LEASES_BUCKET);
    }
    const status = await kv.status();
    return new Leases(kv, status.ttl > 0 ? status.ttl : ttlMs);
  }

  /** Takes the lease; returns its revision, or undefined while someone else holds it. */
  async acquire(key: string, owner: string): Promise<number | undefined> {
    try {
      return await this.kv.create(key, owner);
    } catch {
      return undefined;
    }
  }

  /**
   * Keeps the lease; undefined when it was lost (expired and taken, or deleted). Throws when NATS does not answer
   * (a node lost, a leader being elected): then nobody knows, and the caller must stop delivering to be safe.
   */
  async renew(key: string, owner: string, revision: number): Promise<number | undefined> {
    try {
      return await this.kv.update(key, owner, revision);
    } catch (err) {
      if (/wrong last sequence|not found/i.test((err as Error).message)) return undefined;
      throw err;
    }
  }

  /** Who holds the lease now, if anyone. */
  async holder(key: string): Promise<string | undefined> {
    const e = await this.kv.get(key).catch(() => null);
    return e?.operation === "PUT" ? e.string() : undefined;
  }

  async release(key: string, revision: number): Promise<void> {
    await this.kv.delete(key, { previousSeq: revision }).catch(() => undefined);
  }

  /** Says this drainer is alive (until the TTL passes without another call). */
  async present(owner: string): Promise<void> {
    await this.kv.put(`drainer.${owner}`, owner);
  }

  async absent(owner: string): Promise<void> {
    await this.kv.delete(`drainer.${owner}`).catch(() => undefined);
  }

  /**
   * How many drainers said they are alive within the TTL. Bounded in time: the listing waits for as many keys as the
   * server counted when it began, and one that expires meanwhile never comes (seen: a drainer's balancing stuck for
   * good when a killed drainer's entry expired under it).
   */
  async live(timeoutMs = 2000): Promise<number> {
    const keys = await this.kv.keys("drainer.*");
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      keys.stop();
    }, timeoutMs);
    let n = 0;
    try {
      for await (const _ of keys) n++;
    } finally {
      clearTimeout(timer);
    }
    if (timedOut) throw new Error(`listing the live drainers took longer than ${timeoutMs} ms`);
    return n;
  }
}
