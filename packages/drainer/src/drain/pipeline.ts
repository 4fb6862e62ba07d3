/**
 * The data path of one drain while this drainer delivers it:
 *
 *   drains' feed (one consumer per drainer) ──offer──┐
 *                                                    ├──► encode (from the wire) ──► retention check ──► writer
 *   catch-up consumer (only while behind) ──────────┘                                                   │
 *                    progress: the stream sequence delivered through (the drain's cursor) ◄─────────────┘
 *
 * A drain rides the feed while it keeps up. When its window of batches in flight is full (a slow or dead receiver)
 * or when it starts from a cursor, it steps off and reads its own app from the buffer on a consumer of its own, paced
 * by its receiver, until it has everything the feed went past meanwhile; then it steps back on. So a slow drain
 * fills only its own window and never holds the feed, and NATS carries one consumer per drain only while it is behind.
 *
 * Loss is counted exactly: while off the feed, the drain notes the sequence of each of its batches the feed went past
 * (a few bytes each). One that its catch-up consumer passes over, or that falls out of the buffer's per-app cap, was
 * dropped by the buffer before the drain read it.
 *
 * What an envelope becomes (RFC 5424 messages, OTLP records) is the drain's {@link Egress}'s business, picked by its
 * URL's scheme; the pipeline only counts what the encoder made and what the writer delivered.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { appFilter, dataSubject, KINDS, type Kind } from "@tailrace/envelope";
import type { Logger, ReaderMessage, ReaderStart } from "@tailrace/runtime";
import type { DrainUrl } from "../binding/url.js";
import type { Egress, Encoded } from "../egress/writer.js";
import { Backoff, Sleeper } from "../egress/writer.js";
import type { Binding } from "../store/bindings.js";
import { CatchUp, MAX_FETCH } from "./catchup.js";
import type { Feed, FeedListener } from "./feed.js";
import { Progress } from "./progress.js";
import type { Replay, ReplayMember, Replays } from "./replay.js";
import { SeqQueue } from "./seqs.js";
import type { Slots } from "./slots.js";
import type { DrainStats } from "./stats.js";

/** How often a drain off the feed checks whether batches it waits for are gone from the buffer. */
const IDLE_CHECK_MS = 2000;
const LOSS_LOG_EVERY_MS = 10_000;

export interface PipelineSettings {
  window: number;
  retentionMs: number;
  maxBacklog: number;
  /** The buffer's cap per app and kind (TAILRACE_DRAIN_PER_APP): no more of an app's batches can wait there. */
  perApp: number;
}

export interface PipelineDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  feed: Feed;
  /** Bounds how many catch-up consumers this drainer makes at once (a takeover of thousands of drains). */
  slots: Slots;
  /** Where drains that start together (a takeover, a restart, a first start) catch up on one reader. */
  replays: Replays;
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

export class Pipeline implements FeedListener, ReplayMember {
  /** `<tenant>.<source id>`, as the feed and a replay key apps. */
  readonly app: string;
  private readonly progress: Progress;
  /** The highest stream sequence taken (in flight, delivered or given up). */
  private lastSeq: number;
  /** Everything of the app through here was delivered (noteFloor). */
  private floor = 0;
  private onFeed = false;
  private catchup: CatchUp | undefined;
  /** The replay this drain catches up on instead of a consumer of its own (replay.ts), while it does. */
  private replay: Replay | undefined;
  /** Batches of this app the feed went past while the drain was off it, not yet brought by the catch-up. */
  private readonly passed = new SeqQueue();
  /** The catch-up has reached `watchFrom`, from where on the feed notes what it passes (see stepOff). */
  private reached = false;
  watchFrom = 0;
  private readonly kinds: ReadonlySet<Kind>;
  /** A new drain delivers from its binding's creation (ns): older batches the feed brings are not its own. */
  private readonly sinceNs: number;
  private readonly filter: string;
  private stopped = false;
  private readonly sleeper = new Sleeper();
  private timer: NodeJS.Timeout | undefined;
  /** For the idle check: catch-up deliveries and passed batches as of the last check. */
  private seen = { delivered: 0, passed: 0 };
  private delivered = 0;
  /** Batches lost and not yet in the log, and when the log last said so. */
  private unlogged = 0;
  private loggedAt = 0;

  constructor(
    private readonly binding: Binding,
    url: DrainUrl,
    private readonly egress: Egress,
    private readonly stats: DrainStats,
    private readonly d: PipelineDeps,
    private readonly resume: Resume,
  ) {
    this.app = `${binding.tenant}.${binding.sourceId}`;
    const cursor = "cursor" in resume ? resume.cursor : 0;
    this.sinceNs = "since" in resume ? resume.since * 1_000_000 : 0;
    this.progress = new Progress(cursor);
    this.lastSeq = cursor;
    const logsOnly = url.drainData === "logs";
    this.kinds = new Set(logsOnly ? ["log"] : KINDS);
    this.filter = logsOnly ? dataSubject(binding.tenant, binding.sourceId, "log") : appFilter(binding.tenant, binding.sourceId);
  }

  /** Delivered (or given up) through this stream sequence of the buffer: the drain's cursor. */
  get cursor(): number {
    this.noteFloor();
    return Math.max(this.progress.through, this.floor);
  }

  /**
   * A drain on the feed with nothing in flight has had every batch of its app through the feed's position, not only
   * through its own last one: a quiet app's cursor moves on with the feed, so the drain's next holder resumes near the
   * present (a replay from a quiet drain's last batch read the whole buffer).
   */
  private noteFloor(): void {
    if (!this.stopped && this.onFeed && this.progress.size === 0) this.floor = Math.max(this.floor, this.d.feed.position);
  }

  start(): void {
    this.d.feed.listen(this.binding.tenant, this.binding.sourceId, this);
    const from = this.startFrom();
    // A binding made a moment ago whose app's batches since then the feed has not yet handed on has nothing to catch
    // up: it rides the feed from the start, with no consumer of its own (issue 13).
    const passed = "since" in this.resume ? this.d.feed.passedSince(this.binding.tenant, this.binding.sourceId, this.sinceNs) : undefined;
    if (passed === false) this.onFeed = true;
    // Otherwise what the buffer holds from the cursor up to the feed's position now, the feed never offers: the
    // catch-up must bring it before the drain may step on (first in line when that is only a moment's worth).
    // A drain that resumes from its cursor (a takeover, a restart), or one whose app the feed has not seen lately (a
    // drainer's first start), catches up on a replay it shares with the others.
    else this.stepOff(from, this.d.feed.position, passed === true, passed === undefined);
    this.timer = setInterval(() => this.idleCheck(), IDLE_CHECK_MS);
    this.timer.unref();
  }

  /** From the feed: a batch of this app. */
  offer(m: ReaderMessage, kind: Kind): void {
    if (this.stopped || !this.kinds.has(kind) || m.seq <= this.lastSeq || m.timestampNanos < this.sinceNs) return;
    if (this.onFeed) {
      if (this.progress.size < this.d.settings.window) {
        this.take(m, 0);
        return;
      }
      // The window is full: the receiver is slow or away. Everything of this app up to here was taken, so the
      // catch-up starts right after it and has reached the feed at once.
      this.stepOff({ seq: this.lastSeq + 1 }, 0, true);
    }
    this.passed.push(m.seq);
    // The buffer keeps no more than its per-app cap of this app's batches, and a fetch in progress holds at most
    // MAX_FETCH more: what is beyond both is gone for sure.
    const cap = this.d.settings.perApp * this.kinds.size + MAX_FETCH;
    if (this.passed.length > cap) this.lose(this.drop(this.passed.length - cap));
  }

  private stepOff(from: ReaderStart, watchFrom: number, first: boolean, replay = false): void {
    this.onFeed = false;
    this.reached = false;
    this.watchFrom = watchFrom;
    this.passed.clear();
    if (replay && typeof from === "object") {
      this.replay = this.d.replays.join(this, "seq" in from ? { seq: from.seq } : { timeMs: from.time.getTime() });
      if (this.replay) return;
    }
    void this.openCatchup(from, first);
  }

  private stepOn(): void {
    this.onFeed = true;
    const reader = this.catchup;
    this.catchup = undefined;
    void reader?.stop();
    this.leaveReplay();
  }

  private leaveReplay(): void {
    const r = this.replay;
    this.replay = undefined;
    r?.leave(this);
  }

  /** From the replay: a batch of this app. No room left, the drain reads on a consumer of its own from here. */
  fromReplay(m: ReaderMessage, kind: Kind): boolean {
    if (this.stopped || this.onFeed || !this.replay) return false;
    if (!this.kinds.has(kind) || m.timestampNanos < this.sinceNs) return true;
    if (this.progress.size >= this.d.settings.window) {
      this.replayGone();
      return false;
    }
    this.behind(m, 0, m.seq >= this.watchFrom);
    return true;
  }

  /**
   * The replay has handed on every batch of the buffer through `seq`: what it did not bring of what the feed went
   * past was dropped by the buffer unread, and once past `watchFrom` it has brought all the feed never offered.
   */
  replayedThrough(seq: number): void {
    if (this.stopped || this.onFeed || !this.replay) return;
    let gone = 0;
    while ((this.passed.peek() ?? Number.POSITIVE_INFINITY) <= seq) {
      this.passed.shift();
      gone++;
    }
    if (gone > 0) this.lose(gone);
    if (seq >= this.watchFrom) this.reached = true;
    this.maybeStepOn();
  }

  replayStarted(): void {
    if (this.replay) this.stats.replays++;
  }

  /** The replay is gone (it could not be made): catch up on a consumer of its own, from the last batch taken. */
  replayGone(): void {
    this.leaveReplay();
    if (this.stopped || this.onFeed) return;
    void this.openCatchup(this.lastSeq > 0 ? { seq: this.lastSeq + 1 } : this.startFrom(), false);
  }

  /** Where the drain starts: after its checkpointed cursor, or at its binding's creation. */
  private startFrom(): ReaderStart {
    return "cursor" in this.resume ? { seq: this.resume.cursor + 1 } : { time: new Date(this.resume.since) };
  }

  private async openCatchup(from: ReaderStart, first: boolean): Promise<void> {
    const backoff = new Backoff(500, 10_000);
    while (!this.stopped && !this.onFeed) {
      const reader: CatchUp = new CatchUp({
        nc: this.d.nc,
        jsm: this.d.jsm,
        filter: this.filter,
        from,
        logger: this.d.logger,
        what: `drain ${this.binding.id} catch-up`,
        onMessage: (m) => {
          if (reader === this.catchup) this.fromCatchup(m);
        },
        room: () => (reader === this.catchup ? this.d.settings.window - this.progress.size : 0),
        onCaughtUp: () => {
          if (reader === this.catchup) this.caughtUp();
        },
      });
      this.catchup = reader;
      const give = await this.d.slots.take(first);
      try {
        if (this.stopped || this.onFeed || this.catchup !== reader) return;
        await reader.start();
        this.stats.catchups++;
        this.d.trouble(undefined);
        if (this.stopped || this.onFeed || this.catchup !== reader) void reader.stop();
        return;
      } catch (err) {
        if (this.catchup === reader) this.catchup = undefined;
        if (this.stopped) return;
        this.d.trouble((err as Error).message);
      } finally {
        give();
      }
      await this.sleeper.sleep(backoff.next());
    }
  }

  private fromCatchup(m: ReaderMessage): void {
    this.behind(m, m.pending, m.seq >= this.watchFrom || m.pending === 0);
  }

  /**
   * A batch of this app read behind the feed (catch-up or replay); `backlog` is what is left after it on the reader
   * (0 where unknown), and `reached` whether the reader has come to where the feed began offering.
   */
  private behind(m: ReaderMessage, backlog: number, reached: boolean): void {
    if (this.stopped || this.onFeed) return;
    this.delivered++;
    // Passed batches before this one that the catch-up did not bring were dropped by the buffer unread.
    let gone = 0;
    while ((this.passed.peek() ?? Number.POSITIVE_INFINITY) < m.seq) {
      this.passed.shift();
      gone++;
    }
    if (this.passed.peek() === m.seq) this.passed.shift();
    if (gone > 0) this.lose(gone);
    if (reached) this.reached = true;
    if (m.seq > this.lastSeq) this.take(m, backlog);
    this.stats.lag = this.progress.size + backlog;
    this.maybeStepOn();
  }

  private caughtUp(): void {
    if (this.stopped || this.onFeed) return;
    this.reached = true;
    this.maybeStepOn();
  }

  /**
   * Back on the feed once the catch-up has brought everything the feed went past, and there is room for what the
   * feed brings next (else the drain would step straight off again).
   */
  private maybeStepOn(): boolean {
    if (this.stopped || this.onFeed || !this.reached || this.passed.length > 0) return false;
    if (this.progress.size >= this.d.settings.window) return false;
    this.stepOn();
    return true;
  }

  /**
   * A catch-up that has delivered nothing for a whole round while it had room and nothing pending on the server is
   * not waiting for anything the buffer still holds: batches the feed passed before the round are gone.
   */
  private idleCheck(): void {
    const r = this.catchup;
    if (this.stopped || this.onFeed || !r || r.degradedSince > 0) return;
    const room = this.progress.size < this.d.settings.window;
    const idle = room && this.delivered === this.seen.delivered && r.caughtUp && r.pending === 0;
    const before = this.seen.passed;
    this.seen = { delivered: this.delivered, passed: this.passed.length };
    if (!idle || before === 0) return;
    this.lose(this.drop(Math.min(before, this.passed.length)));
    this.seen.passed = this.passed.length;
    this.maybeStepOn();
  }

  private drop(n: number): number {
    for (let i = 0; i < n; i++) this.passed.shift();
    return n;
  }

  private lose(batches: number): void {
    this.stats.lost += batches;
    this.d.onLoss(batches);
    // One line per spell in the operator's log, not one per batch (the tenant's LGR lines are summed too).
    this.unlogged += batches;
    const now = Date.now();
    if (now - this.loggedAt < LOSS_LOG_EVERY_MS) return;
    this.d.logger.warn({ drain: this.binding.id, dropped: this.unlogged }, "the drains' buffer dropped batches before the drain read them");
    this.loggedAt = now;
    this.unlogged = 0;
  }

  /** `backlog`: batches still to read after this one behind the feed (0 on the feed). */
  private take(m: ReaderMessage, backlog: number): void {
    this.lastSeq = m.seq;
    const done = this.progress.push(m.seq);
    let out: Encoded<unknown>;
    try {
      out = this.egress.encode(m.data);
    } catch (err) {
      this.d.logger.warn({ drain: this.binding.id, seq: m.seq, err: (err as Error).message }, "skipping a batch that does not decode");
      done();
      return;
    }
    const ageMs = Date.now() - m.timestampNanos / 1_000_000;
    if (ageMs > this.d.settings.retentionMs || backlog > this.d.settings.maxBacklog) {
      // Past retention: give up on it, say so, and move on, so the drain catches up with the present.
      this.stats.lost += out.envelopes;
      this.d.onLoss(out.envelopes);
      done();
      return;
    }
    const { items, count } = out;
    if (count === 0) {
      done();
      return;
    }
    this.egress.writer.send(items, () => {
      this.stats.sent += count;
      done();
      this.freeRoom();
    });
  }

  /** The receiver took something: step back on the feed, or let the catch-up fetch more. */
  private freeRoom(): void {
    if (this.progress.size >= this.d.settings.window || this.maybeStepOn()) return;
    this.catchup?.kick();
  }

  /** Batches in flight, plus what the catch-up has still to read. */
  get lag(): number {
    return this.progress.size + (this.onFeed ? 0 : (this.catchup?.pending ?? 0));
  }

  /** Stops taking, gives the writer `graceMs` to deliver what it holds, and leaves the cursor after what it delivered. */
  async stop(graceMs: number): Promise<void> {
    this.noteFloor();
    this.stopped = true;
    clearInterval(this.timer);
    this.d.feed.unlisten(this.binding.tenant, this.binding.sourceId, this);
    this.sleeper.wake();
    const reader = this.catchup;
    this.catchup = undefined;
    this.leaveReplay();
    await reader?.stop();
    await this.egress.writer.close(graceMs);
  }
}
