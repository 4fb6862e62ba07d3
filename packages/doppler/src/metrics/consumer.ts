/**
 * Feeds the metrics store from the stream: one ordered consumer per metric kind (`tr.data.*.*.gauge`, `.counter`,
 * `.timer`). nats-server 2.9 takes one filter subject per consumer, and one over `tr.data.>` would carry every log
 * line too, so three it is. Each starts at now − staleness window: that rebuilds everything a scrape may show, so a
 * doppler that just started answers with the tenant's full set once {@link MetricsConsumer.caughtUp}.
 */
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { DATA_PREFIX, DATA_STREAM, decodeBatch, type Envelope, parseDataSubject } from "@tailrace/envelope";
import type { Count, Logger } from "@tailrace/runtime";

export const METRIC_KINDS = ["gauge", "counter", "timer"] as const;
type MetricKind = (typeof METRIC_KINDS)[number];

export interface ConsumerCounts {
  received: Count;
  malformed: Count;
}

class KindFeed {
  /** Messages stored and not yet delivered, as of the last one delivered. */
  pending = 0;
  caughtUp = false;
  private target = Number.POSITIVE_INFINITY;
  private messages: ConsumerMessages | undefined;
  private onCaughtUp: (() => void) | undefined;

  constructor(
    readonly kind: MetricKind,
    private readonly onBatch: (tenant: string, batch: Envelope[]) => void,
    private readonly logger: Logger,
    private readonly counts: ConsumerCounts | undefined,
  ) {}

  async start(js: JetStreamClient, fromMs: number, caughtUp: () => void): Promise<void> {
    this.onCaughtUp = caughtUp;
    const consumer: Consumer = await js.consumers.get(DATA_STREAM, {
      filter_subjects: `${DATA_PREFIX}.*.*.${this.kind}`,
      opt_start_time: new Date(fromMs).toISOString(),
    });
    this.messages = await consumer.consume({ callback: (m) => this.onMessage(m) });
    // What was stored when we started is caught up once the last message delivered by then is processed.
    const info = await consumer.info();
    if (info.num_pending === 0) {
      if (info.delivered.consumer_seq === 0) this.done();
      else this.target = info.delivered.stream_seq;
    }
  }

  private done(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.onCaughtUp?.();
  }

  private onMessage(m: JsMsg): void {
    this.pending = m.info.pending;
    try {
      const subject = parseDataSubject(m.subject);
      if (!subject) return;
      let batch: Envelope[];
      try {
        batch = decodeBatch(m.data);
      } catch (err) {
        this.counts?.malformed.add(1);
        this.logger.warn({ subject: m.subject, seq: m.seq, err: (err as Error).message }, "metrics: skipping a batch that does not decode");
        return;
      }
      this.counts?.received.add(batch.length);
      this.onBatch(subject.tenant, batch);
    } finally {
      if (!this.caughtUp && (m.info.pending === 0 || m.seq >= this.target)) this.done();
    }
  }

  async stop(): Promise<void> {
    await this.messages?.close().catch(() => undefined);
  }
}

export class MetricsConsumer {
  private readonly feeds: KindFeed[];

  constructor(
    private readonly js: JetStreamClient,
    onBatch: (tenant: string, batch: Envelope[]) => void,
    logger: Logger,
    counts?: ConsumerCounts,
  ) {
    this.feeds = METRIC_KINDS.map((k) => new KindFeed(k, onBatch, logger, counts));
  }

  /** Starts all three; resolves once they exist. `caughtUp` fires once all have delivered what was stored then. */
  async start(fromMs: number, caughtUp: () => void): Promise<void> {
    let left = this.feeds.length;
    await Promise.all(this.feeds.map((f) => f.start(this.js, fromMs, () => --left === 0 && caughtUp())));
  }

  get caughtUp(): boolean {
    return this.feeds.every((f) => f.caughtUp);
  }

  /** Messages stored and not yet delivered to this doppler, over the three kinds. */
  get lag(): number {
    return this.feeds.reduce((n, f) => n + f.pending, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.stop()));
  }
}
