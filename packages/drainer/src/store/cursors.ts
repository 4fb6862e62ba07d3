/**
 * Where each drain has been delivered through: its cursor, a stream sequence of the drains' buffer, checkpointed per
 * shard (one KV entry holds every drain of the shard, so thousands of drains cost 64 small writes a second at most).
 * The holder of a shard writes it about once a second while its drains move, and once more when it hands the shard
 * over; the next holder resumes each drain after its cursor. A drainer that dies repeats at most the last second.
 *
 * The buffer's creation time is kept beside the cursors: the sequences of a buffer made again mean nothing.
 */
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
    return new Cursors(kv, buffer);
  }

  /** The cursors of a shard's drains, by binding id; none when there is no checkpoint of this buffer. */
  async read(shard: number): Promise<Map<string, number>> {
    const e = await this.kv.get(`shard.${shard}`);
    if (e?.operation !== "PUT") return new Map();
    try {
      const c = e.json<Checkpoint>();
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
