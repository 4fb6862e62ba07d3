import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";

/** KV bucket: the last error of each drain, under its binding key, so any doppler can show it. */
export const STATUS_BUCKET = "tailrace_drain_status";

export interface DrainError {
  /** ms since the epoch */
  at: number;
  /** As the app's LGR notice says it: the anonymised URL and the reason, never credentials. */
  message: string;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

/** Opens the status bucket, creating it when no one has yet; an entry expires a week after its last error. */
export async function openStatus(nc: NatsConnection, replicas = 1): Promise<KV> {
  const kvm = new Kvm(nc);
  try {
    return await kvm.create(STATUS_BUCKET, { history: 1, ttl: WEEK_MS, replicas });
  } catch {
    return kvm.open(STATUS_BUCKET);
  }
}

/** Records a drain's latest error (the drainer calls it at most once a notice interval). */
export class DrainStatusWriter {
  private kv: Promise<KV> | undefined;
  constructor(private readonly nc: NatsConnection) {}

  async record(bindingKey: string, message: string): Promise<void> {
    this.kv ??= openStatus(this.nc).catch((err) => {
      this.kv = undefined;
      throw err;
    });
    const e: DrainError = { at: Date.now(), message };
    await (await this.kv).put(bindingKey, JSON.stringify(e));
  }
}

/** The last errors of one app's drains, by drain id. */
export async function lastErrors(kv: KV, tenant: string, sourceId: string): Promise<Map<string, DrainError>> {
  const out = new Map<string, DrainError>();
  for await (const key of await kv.keys(`${tenant}.${sourceId}.*`)) {
    const e = await kv.get(key);
    if (e?.operation !== "PUT") continue;
    try {
      const v = JSON.parse(Buffer.from(e.value).toString("utf8")) as DrainError;
      if (typeof v.at === "number" && typeof v.message === "string") out.set(key.split(".")[2] as string, v);
    } catch {
      // An unreadable entry is no error to show.
    }
  }
  return out;
}
