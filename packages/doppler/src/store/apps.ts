import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { APPS_BUCKET } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import { type ReaderMessage, StreamReader } from "@tailrace/runtime";

const PREFIX = `$KV.${APPS_BUCKET}.`;

/**
 * Which tenant owns each source id, mirrored from the KV bucket agents claim ids in. Every doppler keeps its own copy
 * from a {@link StreamReader} on the bucket's stream (the last value of every key, then every change), so any doppler
 * answers the same, a restart rebuilds it from NATS, and the loss of a NATS node does not freeze it.
 */
export class AppRegistry {
  private readonly owners = new Map<string, string>();
  private reader: StreamReader | undefined;
  ready = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
    private readonly jsm?: JetStreamManager,
    private readonly replicas = 1,
  ) {}

  /** Since when (ms) the registry has had no working consumer; 0 while it has one. */
  get degradedSince(): number {
    return this.reader?.degradedSince ?? 0;
  }

  async start(): Promise<void> {
    await new Kvm(this.nc).create(APPS_BUCKET, { history: 1, replicas: this.replicas });
    const jsm = this.jsm ?? (await jetstreamManager(this.nc));
    let caughtUp: () => void = () => undefined;
    const initial = new Promise<void>((r) => (caughtUp = r));
    this.reader = new StreamReader({
      nc: this.nc,
      jsm,
      stream: `KV_${APPS_BUCKET}`,
      filter: `${PREFIX}>`,
      start: "last_per_subject",
      onMessage: (m) => this.onMessage(m),
      onCaughtUp: () => caughtUp(),
      logger: this.logger,
      what: "app registry",
    });
    await this.reader.start();
    await initial;
    this.ready = true;
  }

  private onMessage(m: ReaderMessage): void {
    const key = m.subject.slice(PREFIX.length);
    const op = m.headers?.get("KV-Operation");
    if (op === "DEL" || op === "PURGE") {
      this.owners.delete(key);
      return;
    }
    try {
      const t = (JSON.parse(new TextDecoder().decode(m.data)) as { tenant?: unknown }).tenant;
      if (typeof t === "string") this.owners.set(key, t);
    } catch {
      this.logger.warn({ key }, "ignoring an unreadable app claim");
    }
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
    void this.reader?.stop();
  }
}
