import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { APPS_BUCKET } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";

/**
 * Which tenant owns each source id, mirrored from the KV bucket agents claim ids in. Every doppler keeps its own copy
 * from a KV watch, so any doppler answers the same and a restart rebuilds it from NATS.
 */
export class AppRegistry {
  private readonly owners = new Map<string, string>();
  private kv: KV | undefined;
  private stopWatch: (() => void) | undefined;
  ready = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const kvm = new Kvm(this.nc);
    this.kv = await kvm.create(APPS_BUCKET, { history: 1 });
    const watch = await this.kv.watch({ key: ">" });
    this.stopWatch = () => watch.stop();
    // An empty bucket sends no initial values, so only wait for them when there are some.
    let initial = (await this.kv.status()).values > 0;
    const initialDone = new Promise<void>((resolve) => {
      void (async () => {
        for await (const e of watch) {
          if (e.operation === "PUT") {
            try {
              const t = (e.json() as { tenant?: unknown }).tenant;
              if (typeof t === "string") this.owners.set(e.key, t);
            } catch {
              this.logger.warn({ key: e.key }, "ignoring an unreadable app claim");
            }
          } else {
            this.owners.delete(e.key);
          }
          if (initial && e.delta === 0) {
            initial = false;
            resolve();
          }
        }
      })();
      if (!initial) resolve();
    });
    await initialDone;
    this.ready = true;
  }

  ownerOf(sourceId: string): string | undefined {
    return this.owners.get(sourceId);
  }

  /** Source ids owned by any of `tenants`. */
  sourcesOf(tenants: ReadonlySet<string>): Array<{ sourceId: string; tenant: string }> {
    const out: Array<{ sourceId: string; tenant: string }> = [];
    for (const [sourceId, tenant] of this.owners) if (tenants.has(tenant)) out.push({ sourceId, tenant });
    return out;
  }

  stop(): void {
    this.stopWatch?.();
  }
}
