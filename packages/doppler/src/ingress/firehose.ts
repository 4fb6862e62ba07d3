import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { ALL_DATA, parseDataSubject } from "@tailrace/envelope";
import type { Count, Logger, Telemetry } from "@tailrace/runtime";
import { type FeedItem, feedItems } from "./feed.js";

/**
 * The firehose for one consumer: every tenant's data, through a NATS queue group named after the subscription id.
 * Consumers that share an id, on one doppler or many, split the stream between them (each batch goes to exactly one);
 * different ids each get everything. Core NATS, as Loggregator's firehose: at most once, no cursor.
 */
export class FirehoseFeed {
  private sub: Subscription | undefined;
  private readonly received: Count | undefined;
  private readonly malformed: Count | undefined;

  constructor(
    private readonly nc: NatsConnection,
    readonly subscriptionId: string,
    private readonly logger: Logger,
    telemetry?: Telemetry,
  ) {
    this.received = telemetry?.received("ingress", { consumer: "firehose" });
    this.malformed = telemetry?.dropped("ingress", "malformed", { consumer: "firehose" });
  }

  async start(onItems: (items: FeedItem[]) => void): Promise<void> {
    this.sub = this.nc.subscribe(ALL_DATA, {
      queue: `tailrace.firehose.${this.subscriptionId}`,
      callback: (err, m) => {
        if (err) return;
        const subject = parseDataSubject(m.subject);
        if (!subject) return;
        let items: FeedItem[];
        try {
          items = feedItems(0, subject.kind, m.data);
        } catch (e) {
          this.malformed?.add(1);
          this.logger.warn({ subject: m.subject, err: (e as Error).message }, "firehose: skipping a batch that does not decode");
          return;
        }
        this.received?.add(items.length);
        onItems(items);
      },
    });
    // The subscription is live once the server has it.
    await this.nc.flush();
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
