/**
 * Where each drain has been delivered through: its cursor, a stream sequence of the drains' buffer, checkpointed per
 * shard (one KV entry holds every drain of the shard, so thousands of drains cost 64 small writes a second at most).
 * The holder of a shard writes it about once a second while its drains move, and once more when it hands the shard
 * over; the next holder resumes each drain after its cursor. A drainer that dies repeats at most the last second.
 *
 * The buffer's creation time is kept beside the cursors: the sequences of a buffer made again mean nothing.
 *
 * A checkpoint is read from the bucket's stream leader, never with a direct get: any replica answers those, and a
 * node back from a freeze answers with what it held before it (seen: a drainer that took its shard back eleven
 * seconds after a node's 20 s freeze read a checkpoint from before the freeze, and sent 33,000 of 48,000 lines
 * again). The leader holds every checkpoint written.
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

export const CURSORS_BUCKET = "tailrace_drain_cursors";

interface Checkpoint {
  buffer: string;
  cursors: Record<string, number>;
}

export class Cursors {
  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    /** The buffer's creation time: which incarnation the sequences belong to. */
    private readonly buffer: string,
  ) {}

  static async open(nc: NatsConnection, buffer: string, replicas = 1): Promise<Cursors> {
    const kvm = new Kvm(nc);
    let kv: KV;
    try {
      kv = await kvm.create(CURSORS_BUCKET, { history: 1, replicas });
    } catch {
      kv = await kvm.open(CURSORS_BUCKET);
    }
    return new Cursors(kv, await jetstreamManager(nc, { checkAPI: false }), buffer);
  }

  /** The cursors of a shard's drains, by binding id; none when there is no checkpoint of this buffer. */
  async read(shard: number): Promise<Map<string, number>> {
    const m = await this.jsm.streams.getMessage(`KV_${CURSORS_BUCKET}`, { last_by_subj: `$KV.${CURSORS_BUCKET}.shard.${shard}` });
    // A deleted or purged entry is a marker with an operation header (and no checkpoint).
    if (!m || m.header?.get("KV-Operation")) return new Map();
    try {
      const c = m.json<Checkpoint>();
      if (c.buffer !== this.buffer || typeof c.cursors !== "object") return new Map();
      return new Map(Object.entries(c.cursors).filter(([, v]) => Number.isSafeInteger(v) && v > 0));
    } catch {
      return new Map();
    }
  }

  async write(shard: number, cursors: ReadonlyMap<string, number>): Promise<void> {
    const c: Checkpoint = { buffer: this.buffer, cursors: Object.fromEntries(cursors) };
    await this.kv.put(`shard.${shard}`, JSON.stringify(c));
  }
}
