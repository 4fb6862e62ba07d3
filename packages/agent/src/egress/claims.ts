import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { APPS_BUCKET } from "@tailrace/envelope";

/** The app belongs to another tenant; the agent may not publish its logs. */
export class AppOwnedElsewhereError extends Error {
  override name = "AppOwnedElsewhereError";
  constructor(readonly sourceId: string) {
    super(`source_id ${sourceId} belongs to another tenant`);
  }
}

/**
 * Claims source ids for tenants in the KV bucket the doppler creates. Source ids are one global namespace, as app
 * names are on Heroku: the first tenant to log under an id owns it, and the doppler answers 404 to everyone else.
 */
export class AppClaims {
  private kv: Promise<KV> | undefined;
  private readonly done = new Map<string, Promise<void>>();

  constructor(private readonly nc: NatsConnection) {}

  private bucket(): Promise<KV> {
    this.kv ??= new Kvm(this.nc).open(APPS_BUCKET).catch((err) => {
      this.kv = undefined;
      throw err;
    });
    return this.kv;
  }

  ensure(tenant: string, sourceId: string): Promise<void> {
    const key = `${tenant}\u0000${sourceId}`;
    let p = this.done.get(key);
    if (!p) {
      p = this.claim(tenant, sourceId);
      this.done.set(key, p);
      // A failure (e.g. no bucket yet) is retried on the next call, not cached.
      p.catch(() => this.done.delete(key));
    }
    return p;
  }

  private async claim(tenant: string, sourceId: string): Promise<void> {
    const kv = await this.bucket();
    const value = JSON.stringify({ tenant });
    try {
      await kv.create(sourceId, value);
      return;
    } catch {
      // Exists already (or a race): read it back and compare.
    }
    const entry = await kv.get(sourceId);
    if (entry?.operation !== "PUT") {
      await kv.put(sourceId, value);
      return;
    }
    const owner = (entry.json() as { tenant?: string }).tenant;
    if (owner !== tenant) throw new AppOwnedElsewhereError(sourceId);
  }
}
