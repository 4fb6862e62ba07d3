/**
 * Feeds the metrics store from the stream: one ordered consumer per metric kind (`tr.data.*.*.gauge`, `.counter`,
 * `.timer`). nats-server 2.9 takes one filter subject per consumer, and one over `tr.data.>` would carry every log
 * line too, so three it is. Each starts at now − staleness window: that rebuilds everything a scrape may show, so a
 * doppler that just started answers with the tenant's full set once {@link MetricsConsumer.caughtUp}.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { DATA_PREFIX, DATA_STREAM, decodeBatch, type Envelope, parseDataSubject } from "@tailrace/envelope";
import type { Count, Logger } from "@tailrace/runtime";
import { type ReaderMessage, StreamReader } from "@tailrace/runtime";

export const METRIC_KINDS = ["gauge", "counter", "timer"] as const;
type MetricKind = (typeof METRIC_KINDS)[number];

export interface ConsumerCounts {
  received: Count;
  malformed: Count;
}

/** What the metrics consumers read with. */
export interface MetricsSource {
  nc: NatsConnection;
  jsm: JetStreamManager;
}

class KindFeed {
  private reader: StreamReader | undefined;

  constructor(
    readonly kind: MetricKind,
    private readonly onBatch: (tenant: string, batch: Envelope[]) => void,
    private readonly logger: Logger,
    private readonly counts: ConsumerCounts | undefined,
  ) {}

  /** Messages stored and not yet delivered, as of the last one delivered. */
  get pending(): number {
    return this.reader?.pending ?? 0;
  }

  get caughtUp(): boolean {
    return this.reader?.caughtUp ?? false;
  }

  get degradedSince(): number {
    return this.reader?.degradedSince ?? 0;
  }

  async start(source: MetricsSource, fromMs: number, caughtUp: () => void): Promise<void> {
    this.reader = new StreamReader({
      ...source,
      stream: DATA_STREAM,
      filter: `${DATA_PREFIX}.*.*.${this.kind}`,
      start: { time: new Date(fromMs) },
      onMessage: (m) => this.onMessage(m),
      onCaughtUp: caughtUp,
      logger: this.logger,
      what: `tenant metrics ${this.kind}`,
    });
    await this.reader.start();
  }

  private onMessage(m: ReaderMessage): void {
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
  }

  async stop(): Promise<void> {
    await this.reader?.stop();
  }
}

export class MetricsConsumer {
  private readonly feeds: KindFeed[];

  constructor(
    private readonly source: MetricsSource,
    onBatch: (tenant: string, batch: Envelope[]) => void,
    logger: Logger,
    counts?: ConsumerCounts,
  ) {
    this.feeds = METRIC_KINDS.map((k) => new KindFeed(k, onBatch, logger, counts));
  }

  /** Starts all three; resolves once they exist. `caughtUp` fires once all have delivered what was stored then. */
  async start(fromMs: number, caughtUp: () => void): Promise<void> {
    let left = this.feeds.length;
    await Promise.all(this.feeds.map((f) => f.start(this.source, fromMs, () => --left === 0 && caughtUp())));
  }

  get caughtUp(): boolean {
    return this.feeds.every((f) => f.caughtUp);
  }

  /** Since when (ms) one of the three has had no working consumer; 0 while all have one. */
  get degradedSince(): number {
    const since = this.feeds.map((f) => f.degradedSince).filter((t) => t > 0);
    return since.length ? Math.min(...since) : 0;
  }

  /** Messages stored and not yet delivered to this doppler, over the three kinds. */
  get lag(): number {
    return this.feeds.reduce((n, f) => n + f.pending, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.stop()));
  }
}
