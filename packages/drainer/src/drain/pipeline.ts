/**
 * The data path of one drain while this drainer holds its lease:
 *
 *   durable pull consumer (window = max_ack_pending) ──► decode ──► retention check ──► RFC 5424 ──► writer
 *                       ▲                                                                         │
 *                       └──────────────── ack, in order, once delivered ◄──────────────────────────┘
 *
 * A slow or dead receiver fills only this drain's window; nothing is shared with other drains but the process.
 */
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { DATA_STREAM, decodeBatch, type Envelope } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { DrainUrl } from "../binding/url.js";
import type { DrainWriter } from "../egress/writer.js";
import { Backoff, Sleeper } from "../egress/writer.js";
import { syslogMessages } from "../format/rfc5424.js";
import type { Binding } from "../store/bindings.js";
import { AckQueue } from "./acks.js";
import { consumerName, drainFilter, takeConsumer } from "./consumer.js";
import type { DrainStats } from "./stats.js";

const LAG_EVERY_MS = 2000;

export interface PipelineSettings {
  window: number;
  retentionMs: number;
  maxBacklog: number;
}

export interface PipelineDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  logger: Logger;
  settings: PipelineSettings;
  /** Called with the number of envelopes given up. */
  onLoss(n: number): void;
}

export class Pipeline {
  private readonly acks = new AckQueue();
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private lastSeq = 0;
  private readonly sleeper = new Sleeper();
  private running: Promise<void> | undefined;
  private lagTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly binding: Binding,
    private readonly url: DrainUrl,
    private readonly writer: DrainWriter,
    private readonly stats: DrainStats,
    private readonly d: PipelineDeps,
  ) {}

  start(): void {
    this.running = this.run();
    // When the window is full nothing arrives to tell the lag, so ask the server now and then.
    this.lagTimer = setInterval(() => void this.refreshLag(), LAG_EVERY_MS);
    this.lagTimer.unref();
  }

  private async refreshLag(): Promise<void> {
    try {
      const info = await this.d.jsm.consumers.info(DATA_STREAM, consumerName(this.binding));
      this.stats.lag = info.num_pending + info.num_ack_pending;
    } catch {
      // Not there yet, or NATS is away; the next round tries again.
    }
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(500, 10_000);
    let fresh = true;
    while (!this.stopped) {
      try {
        // Only the first time: later rounds (after a NATS hiccup) keep the consumer and its acks.
        if (fresh) await takeConsumer(this.d.jsm, this.binding, drainFilter(this.binding, this.url.drainData), this.d.settings.window);
        fresh = false;
        const consumer = await this.d.js.consumers.get(DATA_STREAM, consumerName(this.binding));
        this.messages = await consumer.consume({ max_messages: Math.min(this.d.settings.window, 256) });
        if (this.stopped) break;
        backoff.reset();
        for await (const m of this.messages) {
          if (this.stopped) break;
          this.handle(m);
        }
      } catch (err) {
        if (this.stopped) break;
        this.d.logger.warn(
          { drain: this.binding.id, url: this.url.anonymized, err: (err as Error).message },
          "drain consumer failed; retrying",
        );
      }
      if (!this.stopped) await this.sleeper.sleep(backoff.next());
    }
  }

  private handle(m: JsMsg): void {
    // A redelivery of something this pipeline already holds (its ack is on the way): skip, or order breaks.
    if (m.seq <= this.lastSeq) return;
    this.lastSeq = m.seq;
    this.stats.lag = m.info.pending + this.acks.size;
    const done = this.acks.push(m);
    let batch: Envelope[];
    try {
      batch = decodeBatch(m.data);
    } catch (err) {
      this.d.logger.warn({ drain: this.binding.id, seq: m.seq, err: (err as Error).message }, "skipping a batch that does not decode");
      done();
      return;
    }
    const ageMs = Date.now() - m.info.timestampNanos / 1_000_000;
    if (ageMs > this.d.settings.retentionMs || m.info.pending > this.d.settings.maxBacklog) {
      // Past retention: give up on it, say so, and move on, so the drain catches up with the present.
      this.stats.lost += batch.length;
      this.d.onLoss(batch.length);
      done();
      return;
    }
    const opts = { disableMetadata: this.url.disableMetadata, drainData: this.url.drainData };
    const msgs: Buffer[] = [];
    for (const e of batch) for (const b of syslogMessages(e, opts)) msgs.push(b);
    if (msgs.length === 0) {
      done();
      return;
    }
    this.writer.send(msgs, () => {
      this.stats.sent += msgs.length;
      done();
    });
  }

  /** Stops pulling, gives the writer `graceMs` to deliver what it holds, and acks what it delivered. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.lagTimer);
    this.sleeper.wake();
    await this.messages?.close().catch(() => undefined);
    await this.writer.close(graceMs);
    await this.running?.catch(() => undefined);
  }
}
