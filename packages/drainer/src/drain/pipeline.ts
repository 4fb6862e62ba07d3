/**
 * The data path of one drain while this drainer delivers it:
 *
 *   drains' feed (one consumer per drainer) ──offer──┐
 *                                                    ├──► decode ──► retention check ──► RFC 5424 ──► writer
 *   catch-up consumer (only while behind) ──────────┘                                                  │
 *                    progress: the stream sequence delivered through (the drain's cursor) ◄────────────┘
 *
 * A drain rides the feed while it keeps up. When its window of batches in flight is full (a slow or dead receiver)
 * or when it starts from a cursor, it steps off and reads its own app from the buffer on a consumer of its own, paced
 * by its receiver, until it has everything the feed went past meanwhile; then it steps back on. So a slow drain
 * fills only its own window and never holds the feed, and NATS carries one consumer per drain only while it is behind.
 *
 * Loss is counted exactly: while off the feed, the drain notes the sequence of each of its batches the feed went past
 * (a few bytes each). One that its catch-up consumer passes over, or that falls out of the buffer's per-app cap, was
 * dropped by the buffer before the drain read it.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { appFilter, DRAIN_STREAM, dataSubject, decodeBatch, type Envelope, KINDS, type Kind } from "@tailrace/envelope";
import type { Logger, ReaderMessage, ReaderStart } from "@tailrace/runtime";
import { StreamReader } from "@tailrace/runtime";
import type { DrainUrl } from "../binding/url.js";
import type { DrainWriter } from "../egress/writer.js";
import { Backoff, Sleeper } from "../egress/writer.js";
import { syslogMessages } from "../format/rfc5424.js";
import type { Binding } from "../store/bindings.js";
import type { Feed, FeedListener } from "./feed.js";
import { Progress } from "./progress.js";
import { SeqQueue } from "./seqs.js";
import type { DrainStats } from "./stats.js";

/** How often a drain off the feed checks whether batches it waits for are gone from the buffer. */
const IDLE_CHECK_MS = 2000;
/** How long a new catch-up consumer may take to be made before the round counts as failed. */
const CATCHUP_START_MS = 5000;

export interface PipelineSettings {
  window: number;
  retentionMs: number;
  maxBacklog: number;
  /** The buffer's cap per app and kind (TAILRACE_DRAIN_PER_APP): no more of an app's batches can wait there. */
  perApp: number;
  /** How long a catch-up may stay held by a receiver that takes nothing before its consumer is given back. */
  parkAfterMs: number;
}

export interface PipelineDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  feed: Feed;
  logger: Logger;
  settings: PipelineSettings;
  /** Called with the number of envelopes (or, for batches the buffer dropped unread, NATS messages) given up. */
  onLoss(n: number): void;
  /**
   * Told each failed attempt to make the drain's catch-up consumer (with the reason), and `undefined` once one is
   * made: the runner decides what is a hiccup and what is a drain that cannot be served.
   */
  trouble(reason: string | undefined): void;
}

/** Where a drain starts: after its checkpointed cursor, or at its binding's creation. */
export type Resume = { cursor: number } | { since: number };

export class Pipeline implements FeedListener {
  private readonly progress: Progress;
  /** The highest stream sequence taken (in flight, delivered or given up). */
  private lastSeq: number;
  private onFeed = false;
  private catchup: StreamReader | undefined;
  /** Batches of this app the feed went past while the drain was off it, not yet brought by the catch-up. */
  private readonly passed = new SeqQueue();
  /** The catch-up has reached `watchFrom`, from where on the feed notes what it passes (see stepOff). */
  private reached = false;
  private watchFrom = 0;
  /** The catch-up's consumer was given back while the receiver takes nothing; it is made again once it does. */
  private parked = false;
  private parkTimer: NodeJS.Timeout | undefined;
  private readonly kinds: ReadonlySet<Kind>;
  private readonly filter: string;
  private room: (() => void) | undefined;
  private stopped = false;
  private readonly sleeper = new Sleeper();
  private timer: NodeJS.Timeout | undefined;
  /** For the idle check: catch-up deliveries and passed batches as of the last check. */
  private seen = { delivered: 0, passed: 0 };
  private delivered = 0;

  constructor(
    private readonly binding: Binding,
    private readonly url: DrainUrl,
    private readonly writer: DrainWriter,
    private readonly stats: DrainStats,
    private readonly d: PipelineDeps,
    private readonly resume: Resume,
  ) {
    const cursor = "cursor" in resume ? resume.cursor : 0;
    this.progress = new Progress(cursor);
    this.lastSeq = cursor;
    const logsOnly = url.drainData === "logs";
    this.kinds = new Set(logsOnly ? ["log"] : KINDS);
    this.filter = logsOnly ? dataSubject(binding.tenant, binding.sourceId, "log") : appFilter(binding.tenant, binding.sourceId);
  }

  /** Delivered (or given up) through this stream sequence of the buffer: the drain's cursor. */
  get cursor(): number {
    return this.progress.through;
  }

  start(): void {
    this.d.feed.listen(this.binding.tenant, this.binding.sourceId, this);
    const from: ReaderStart = "cursor" in this.resume ? { seq: this.resume.cursor + 1 } : { time: new Date(this.resume.since) };
    // What the buffer holds from the cursor up to the feed's position now, the feed never offers: the catch-up
    // must bring it before the drain may step on.
    this.stepOff(from, this.d.feed.position);
    this.timer = setInterval(() => this.idleCheck(), IDLE_CHECK_MS);
    this.timer.unref();
  }

  /** From the feed: a batch of this app. */
  offer(m: ReaderMessage, kind: Kind): void {
    if (this.stopped || !this.kinds.has(kind) || m.seq <= this.lastSeq) return;
    if (this.onFeed) {
      if (this.progress.size < this.d.settings.window) {
        this.take(m, false);
        return;
      }
      // The window is full: the receiver is slow or away. Everything of this app up to here was taken, so the
      // catch-up starts right after it and has reached the feed at once.
      this.stepOff({ seq: this.lastSeq + 1 }, 0);
    }
    this.passed.push(m.seq);
    // The buffer keeps no more than its per-app cap of this app's batches: what is beyond it is gone for sure.
    const cap = this.d.settings.perApp * this.kinds.size;
    if (this.passed.length > cap) this.lose(this.drop(this.passed.length - cap));
  }

  private stepOff(from: ReaderStart, watchFrom: number): void {
    this.onFeed = false;
    this.reached = false;
    this.watchFrom = watchFrom;
    this.passed.clear();
    void this.openCatchup(from);
  }

  private stepOn(): void {
    this.onFeed = true;
    const reader = this.catchup;
    this.catchup = undefined;
    void reader?.stop();
  }

  private async openCatchup(from: ReaderStart): Promise<void> {
    const backoff = new Backoff(500, 10_000);
    while (!this.stopped && !this.onFeed) {
      const reader: StreamReader = new StreamReader({
        nc: this.d.nc,
        jsm: this.d.jsm,
        stream: DRAIN_STREAM,
        filter: this.filter,
        start: from,
        onMessage: (m) => (reader === this.catchup ? this.fromCatchup(m) : undefined),
        onCaughtUp: () => {
          if (reader === this.catchup) this.caughtUp();
        },
        logger: this.d.logger,
        what: `drain ${this.binding.id} catch-up`,
        quietStart: true,
      });
      this.catchup = reader;
      try {
        await reader.start(CATCHUP_START_MS);
        this.d.trouble(undefined);
        if (this.stopped || this.onFeed) void reader.stop();
        return;
      } catch (err) {
        if (this.catchup === reader) this.catchup = undefined;
        if (this.stopped) return;
        this.d.trouble((err as Error).message);
        await this.sleeper.sleep(backoff.next());
      }
    }
  }

  private fromCatchup(m: ReaderMessage): Promise<void> | undefined {
    if (this.stopped || this.onFeed) return undefined;
    this.delivered++;
    // Passed batches before this one that the catch-up did not bring were dropped by the buffer unread.
    let gone = 0;
    while ((this.passed.peek() ?? Number.POSITIVE_INFINITY) < m.seq) {
      this.passed.shift();
      gone++;
    }
    if (this.passed.peek() === m.seq) this.passed.shift();
    if (gone > 0) this.lose(gone);
    if (!this.reached && (m.seq >= this.watchFrom || m.pending === 0)) this.reached = true;
    if (m.seq > this.lastSeq) this.take(m, true);
    this.stats.lag = this.progress.size + m.pending;
    if (this.reached && this.passed.length === 0) {
      this.stepOn();
      return undefined;
    }
    if (this.progress.size < this.d.settings.window) return undefined;
    // Hold the catch-up (the server stops sending) until the receiver has taken something. A receiver that takes
    // nothing for long (it is down) does not keep a consumer on NATS meanwhile: with many dead drains that would
    // cost every message stored (issue 13); the feed goes on noting what it passes.
    this.parkTimer = setTimeout(() => this.park(), this.d.settings.parkAfterMs);
    this.parkTimer.unref();
    return new Promise((resolve) => {
      this.room = resolve;
    });
  }

  private park(): void {
    const reader = this.catchup;
    if (this.stopped || this.onFeed || !reader || !this.room) return;
    this.parked = true;
    this.catchup = undefined;
    void reader.stop();
    const resolve = this.room;
    this.room = undefined;
    resolve();
    this.d.logger.info({ drain: this.binding.id, lastSeq: this.lastSeq }, "drain receiver takes nothing; gave its catch-up consumer back");
  }

  private caughtUp(): void {
    if (this.stopped || this.onFeed) return;
    this.reached = true;
    if (this.passed.length === 0) this.stepOn();
  }

  /**
   * A catch-up that has delivered nothing for a whole round while it had room and nothing pending on the server is
   * not waiting for anything the buffer still holds: batches the feed passed before the round are gone.
   */
  private idleCheck(): void {
    const r = this.catchup;
    if (this.stopped || this.onFeed || this.parked || !r || r.degradedSince > 0 || this.room) return;
    const idle = this.delivered === this.seen.delivered && r.caughtUp && r.pending === 0;
    const before = this.seen.passed;
    this.seen = { delivered: this.delivered, passed: this.passed.length };
    if (!idle || before === 0) return;
    this.lose(this.drop(Math.min(before, this.passed.length)));
    this.seen.passed = this.passed.length;
    if (this.reached && this.passed.length === 0) this.stepOn();
  }

  private drop(n: number): number {
    for (let i = 0; i < n; i++) this.passed.shift();
    return n;
  }

  private lose(batches: number): void {
    this.stats.lost += batches;
    this.d.onLoss(batches);
    this.d.logger.warn({ drain: this.binding.id, dropped: batches }, "the drains' buffer dropped batches before the drain read them");
  }

  private take(m: ReaderMessage, caughtUp: boolean): void {
    this.lastSeq = m.seq;
    const done = this.progress.push(m.seq);
    let batch: Envelope[];
    try {
      batch = decodeBatch(m.data);
    } catch (err) {
      this.d.logger.warn({ drain: this.binding.id, seq: m.seq, err: (err as Error).message }, "skipping a batch that does not decode");
      done();
      return;
    }
    const ageMs = Date.now() - m.timestampNanos / 1_000_000;
    if (ageMs > this.d.settings.retentionMs || (caughtUp && m.pending > this.d.settings.maxBacklog)) {
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
      this.freeRoom();
    });
  }

  private freeRoom(): void {
    if (this.progress.size >= this.d.settings.window) return;
    if (this.parked && !this.stopped) {
      this.parked = false;
      void this.openCatchup({ seq: this.lastSeq + 1 });
      return;
    }
    if (!this.room) return;
    clearTimeout(this.parkTimer);
    const resolve = this.room;
    this.room = undefined;
    resolve();
  }

  /** Batches in flight, plus what the catch-up has still to read. */
  get lag(): number {
    return this.progress.size + (this.onFeed ? 0 : (this.catchup?.pending ?? 0));
  }

  /** Stops taking, gives the writer `graceMs` to deliver what it holds, and leaves the cursor after what it delivered. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.parkTimer);
    this.d.feed.unlisten(this.binding.tenant, this.binding.sourceId, this);
    this.sleeper.wake();
    const reader = this.catchup;
    this.catchup = undefined;
    await reader?.stop();
    this.room?.();
    this.room = undefined;
    await this.writer.close(graceMs);
  }
}
