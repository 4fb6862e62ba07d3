/**
 * A drain's own reader of its app in the drains' buffer while it is behind the feed: an ephemeral pull consumer (no
 * acks, in memory, R1) from which the drain fetches only as many batches as its window has room for. What waits for a
 * slow receiver waits on NATS, not in the drainer's memory, and a drain's loss accounting can trust that a batch the
 * buffer dropped is not held anywhere else.
 *
 * It heals itself as the runtime's StreamReader does: a fetch that fails, a consumer that is gone, or one that does
 * not answer (placed on a dead or frozen node) makes a new one right after the last batch delivered.
 */
import { AckPolicy, type Consumer, DeliverPolicy, type JetStreamClient, type JetStreamManager, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { DRAIN_STREAM } from "@tailrace/envelope";
import { type Logger, QUICK_TIMEOUT_MS, quickJetStream, type ReaderMessage, type ReaderStart, replicaBehind } from "@tailrace/runtime";
import { Sleeper } from "../egress/writer.js";

const NS_PER_MS = 1_000_000;
export const MAX_FETCH = 256;
const FETCH_EXPIRES_MS = 2000;
/** A drainer that dies leaves its catch-up consumers behind; the server removes them once nobody pulls. */
const INACTIVE_MS = 30_000;
const BACKOFF_MS = [100, 250, 500, 1000, 2000, 5000];

export interface CatchUpOptions {
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** The consumer's filter subject; empty for the whole buffer (a replay). */
  filter: string;
  from: ReaderStart;
  logger: Logger;
  /** Names the reader in log lines. */
  what: string;
  /** Each batch, in stream order, once. */
  onMessage(m: ReaderMessage): void;
  /** Batches the drain can take now. */
  room(): number;
  /** A fetch found nothing more on the server for the filter. */
  onCaughtUp(): void;
}

export class CatchUp {
  /** Stream sequence of the last batch delivered. */
  lastSeq = 0;
  /** The consumer's delivery sequence of the last batch it brought (1, 2, ... on each new consumer). */
  private deliveries = 0;
  /** Batches on the filter after the last one delivered, as the server saw it. */
  pending = 0;
  caughtUp = false;
  /** Since when (ms) it has had no working consumer; 0 while it has one. */
  degradedSince = 0;
  private name = "";
  /** The client's handle on the consumer named `name` (made once per consumer, not per fetch). */
  private consumer: Consumer | undefined;
  private stopped = false;
  private readonly js: JetStreamClient;
  private readonly sleeper = new Sleeper();
  private wake: (() => void) | undefined;
  /** When the last fetch was asked for: a consumer idle past INACTIVE_MS is gone by design, not lost. */
  private fetchedAt = Date.now();

  constructor(private readonly o: CatchUpOptions) {
    this.js = jetstream(o.nc, { timeout: QUICK_TIMEOUT_MS });
  }

  /** Makes the consumer (throws when NATS refuses it), then reads for as long as it runs. */
  async start(): Promise<void> {
    await this.create(this.o.from);
    void this.loop();
  }

  private async create(from: ReaderStart): Promise<void> {
    const jsm = await quickJetStream(this.o.nc);
    const ci = await jsm.consumers.add(DRAIN_STREAM, {
      ...(this.o.filter ? { filter_subject: this.o.filter } : {}),
      ack_policy: AckPolicy.None,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: INACTIVE_MS * NS_PER_MS,
      ...policy(from),
    });
    const behind = await replicaBehind(this.o.nc, DRAIN_STREAM, ci.cluster?.leader);
    if (behind || this.stopped) {
      jsm.consumers.delete(DRAIN_STREAM, ci.name).catch(() => undefined);
      if (behind) throw new Error(`the consumer landed on ${behind}, a replica still catching up`);
      return;
    }
    this.name = ci.name;
    this.deliveries = 0;
    // From the info the creation answered with: looking it up again is one more round trip before the first fetch,
    // queued behind whatever the connection is bringing.
    this.consumer = this.js.consumers.getConsumerFromInfo(ci);
    if (ci.num_pending === 0) this.markCaughtUp();
  }

  private markCaughtUp(): void {
    this.caughtUp = true;
    this.o.onCaughtUp();
  }

  /** Tells a reader waiting for room that there is some. */
  kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      const n = Math.min(this.o.room(), MAX_FETCH);
      if (n <= 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      try {
        await this.fetch(n);
        if (this.degradedSince) {
          this.o.logger.info(
            { reader: this.o.what, pausedMs: Date.now() - this.degradedSince },
            "drain catch-up resumed on a new consumer",
          );
          this.degradedSince = 0;
        }
        attempt = 0;
      } catch (err) {
        if (this.stopped) return;
        const idle = Date.now() - this.fetchedAt > INACTIVE_MS / 2;
        if (!this.degradedSince && !idle) {
          this.degradedSince = Date.now();
          this.o.logger.warn(
            { reader: this.o.what, err: (err as Error).message, lastSeq: this.lastSeq },
            "drain catch-up lost its consumer; making a new one",
          );
        }
        const old = this.name;
        this.name = "";
        this.consumer = undefined;
        if (old) this.o.jsm.consumers.delete(DRAIN_STREAM, old).catch(() => undefined);
        const base = BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)] as number;
        await this.sleeper.sleep(base / 2 + Math.random() * base);
        await this.create(this.lastSeq > 0 ? { seq: this.lastSeq + 1 } : this.o.from).catch(() => undefined);
      }
    }
  }

  private async fetch(n: number): Promise<void> {
    if (!this.name) throw new Error("no consumer");
    this.fetchedAt = Date.now();
    this.consumer ??= await this.js.consumers.get(DRAIN_STREAM, this.name);
    const consumer = this.consumer;
    const messages = await consumer.fetch({ max_messages: n, expires: FETCH_EXPIRES_MS });
    let got = 0;
    for await (const m of messages) {
      if (this.stopped) break;
      // Without acks the consumer counts a batch delivered once sent: one sent while the connection was down never
      // comes. A gap in its delivery sequence says so, and a new consumer after the last batch here brings it, where
      // going on would count it dropped by the buffer (issue 13: a reconnect mid-drain "lost" 256 batches the buffer
      // still held).
      const d = m.info.deliverySequence;
      if (d !== this.deliveries + 1) throw new Error(`the consumer sent ${d - this.deliveries - 1} batches that never came`);
      this.deliveries = d;
      // Never twice: a new consumer starts after the last batch delivered.
      if (m.seq <= this.lastSeq) continue;
      got++;
      this.lastSeq = m.seq;
      this.pending = m.info.pending;
      this.o.onMessage({
        subject: m.subject,
        seq: m.seq,
        data: m.data,
        headers: m.headers,
        pending: m.info.pending,
        timestampNanos: m.info.timestampNanos,
      });
    }
    const closed = await messages.closed();
    if (closed instanceof Error) throw closed;
    if (got > 0 && this.pending > 0) return;
    if (got === 0) {
      // Nothing came: the consumer has nothing for us, or it is gone or dead. Its own answer tells which.
      const ci = await (await quickJetStream(this.o.nc)).consumers.info(DRAIN_STREAM, this.name);
      if (ci.num_pending > 0) throw new Error(`the consumer holds ${ci.num_pending} batches and delivered none`);
      const lostInTransit = ci.delivered.consumer_seq - this.deliveries;
      if (lostInTransit > 0) throw new Error(`the consumer sent ${lostInTransit} batches that never came`);
      this.pending = 0;
    }
    if (!this.stopped) this.markCaughtUp();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wake();
    this.kick();
    if (this.name) await this.o.jsm.consumers.delete(DRAIN_STREAM, this.name).catch(() => undefined);
    this.name = "";
  }
}

function policy(from: ReaderStart): Record<string, unknown> {
  if (from === "new") return { deliver_policy: DeliverPolicy.New };
  if (from === "all" || from === "last_per_subject") return { deliver_policy: DeliverPolicy.All };
  if ("seq" in from) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, from.seq) };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.time.toISOString() };
}
