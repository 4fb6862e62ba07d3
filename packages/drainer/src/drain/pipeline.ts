/**
 * The data path of one drain while this drainer holds its lease:
 *
 *   drain stream (the app's data, sourced from TAILRACE_DATA, kept for the drain retention)
 *     ──► durable pull consumer (window = max_ack_pending) ──► decode ──► retention check ──► RFC 5424 ──► writer
 *                       ▲                                                                         │
 *                       └──────────────── ack, in order, once delivered ◄──────────────────────────┘
 *
 * A slow or dead receiver fills only this drain's window; nothing is shared with other drains but the process.
 */
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { decodeBatch, type Envelope } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { DrainUrl } from "../binding/url.js";
import type { DrainWriter } from "../egress/writer.js";
import { Backoff, Sleeper } from "../egress/writer.js";
import { syslogMessages } from "../format/rfc5424.js";
import type { Binding } from "../store/bindings.js";
import { AckQueue } from "./acks.js";
import { consumerName, drainFilter, takeConsumer } from "./consumer.js";
import type { DrainStats } from "./stats.js";
import { isNotFound } from "./stream.js";

const LAG_EVERY_MS = 2000;
const FETCH_EXPIRES_MS = 2000;
const FULL_POLL_MS = 20;

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
  /** Makes sure the drain's stream exists (and has today's limits); resolves to its name. */
  ensureStream(): Promise<string>;
  /** Called with the number of envelopes (or, for batches the drain stream dropped unread, NATS messages) given up. */
  onLoss(n: number): void;
  /** The highest drain-stream sequence this drainer delivered and acked for the drain before (0 if none). */
  ackedThrough?: number;
  /**
   * Told each failed round of setting the drain up on NATS or reading it (with the reason), and `undefined` once a
   * round has its consumer again: the runner decides what is a hiccup and what is a drain that cannot be served.
   */
  trouble(reason: string | undefined): void;
}

export class Pipeline {
  private readonly acks = new AckQueue();
  /** Delivered and acked through this sequence, by this pipeline or the one before it in this process. */
  get ackedThrough(): number {
    return Math.max(this.acks.ackedThrough, this.d.ackedThrough ?? 0);
  }
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private lastSeq = 0;
  private stream: string | undefined;
  private gone = false;
  /** Sequences skipped by a delivery: dropped by the stream, or not delivered (a consumer's leader moved). */
  private gap: { from: number; to: number } | undefined;
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
    if (!this.stream) return;
    try {
      const info = await this.d.jsm.consumers.info(this.stream, consumerName(this.binding));
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
        // Only the first time, or when the stream went away (deleted by a drainer that saw the app's last drain go
        // while this one was being bound): later rounds after a NATS hiccup keep the consumer and its acks.
        if (this.gap) await this.settleGap(this.gap);
        if (fresh) {
          this.stream = await this.d.ensureStream();
          const filter = drainFilter(this.binding, this.url.drainData);
          const startSeq = await takeConsumer(this.d.jsm, this.stream, this.binding, filter, this.d.settings.window, this.ackedThrough);
          // From here on, a jump in the stream sequences delivered is checked against what the stream still holds.
          // What this pipeline already handled stays handled: a consumer taken again may deliver it once more.
          this.lastSeq = Math.max(this.lastSeq, startSeq > 0 ? startSeq - 1 : 0);
        }
        fresh = false;
        this.gone = false;
        const consumer = await this.d.js.consumers.get(this.stream as string, consumerName(this.binding));
        backoff.reset();
        this.d.trouble(undefined);
        while (!this.stopped && !this.gone) {
          // The window is counted here, not only by the server's max_ack_pending: when the drain stream drops a
          // message this pipeline holds, the server forgets it was pending and sends another, and a dead drain
          // would otherwise pull the whole stream into memory as it rolls.
          const room = this.d.settings.window - this.acks.size;
          if (room <= 0) {
            await this.sleeper.sleep(FULL_POLL_MS);
            continue;
          }
          const messages = await consumer.fetch({ max_messages: Math.min(room, 256), expires: FETCH_EXPIRES_MS });
          this.messages = messages;
          void this.watchGone(messages);
          for await (const m of messages) {
            if (this.stopped || this.gone) break;
            this.handle(m);
          }
        }
        // The consumer went away under us (its stream deleted and made again), or skipped sequences: take it afresh.
        if (this.gone) fresh = true;
      } catch (err) {
        if (this.stopped) break;
        if (isNotFound(err)) fresh = true;
        this.d.trouble((err as Error).message);
      }
      if (!this.stopped) await this.sleeper.sleep(backoff.next());
    }
  }

  /** Counts what the stream really dropped of a gap; what it still holds is delivered by the consumer taken again. */
  private async settleGap(gap: { from: number; to: number }): Promise<void> {
    const first = (await this.d.jsm.streams.info(this.stream as string)).state.first_seq;
    this.gap = undefined;
    if (first <= gap.from) return;
    const dropped = Math.min(first, gap.to + 1) - gap.from;
    this.lastSeq = Math.max(this.lastSeq, gap.from + dropped - 1);
    this.stats.lost += dropped;
    this.d.onLoss(dropped);
    this.d.logger.warn({ drain: this.binding.id, dropped }, "the drain stream dropped messages before the drain read them");
  }

  /** A deleted consumer or stream ends the round, so the next one makes them again. */
  private async watchGone(messages: ConsumerMessages): Promise<void> {
    for await (const s of messages.status()) {
      if (s.type === "consumer_deleted" || s.type === "consumer_not_found" || s.type === "stream_not_found") {
        this.gone = true;
        await messages.close().catch(() => undefined);
        return;
      }
    }
  }

  private handle(m: JsMsg): void {
    // A redelivery of something this pipeline already holds (its ack is on the way): skip, or order breaks. One it
    // delivered and acked already (the ack was lost, e.g. while the consumer's leader moved to another NATS node):
    // ack it again, so it does not come back.
    if (m.seq <= this.lastSeq) {
      if (!this.acks.holds(m.seq)) m.ack();
      return;
    }
    // The consumer's filter is the whole drain stream, so a sequence skipped between two deliveries is either a message
    // the stream dropped (past TAILRACE_DRAIN_MAX_BYTES or TAILRACE_DRAIN_RETENTION) before it was read, or one the
    // consumer did not deliver (its leader moved to another NATS node). Which one, the stream says: stop this round
    // without handling `m`, and settle it before the consumer is taken again (settleGap).
    if (this.lastSeq > 0 && m.seq > this.lastSeq + 1) {
      this.gap = { from: this.lastSeq + 1, to: m.seq - 1 };
      this.gone = true;
      void this.messages?.close().catch(() => undefined);
      return;
    }
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
