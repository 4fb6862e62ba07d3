/**
 * One reader for the drains that resume from a cursor at about the same time (a takeover of a dead drainer's
 * shards, a restart, a hand-over), or start from their binding together: a catch-up on the whole drains' buffer from
 * the oldest of their starts, that hands each batch to the drains of its app, as the feed does, until each has stepped
 * back on the feed.
 *
 * Why: each drain catching up on a consumer of its own made 5,000 filtered consumers at a takeover of 5,000 drains,
 * 32 at a time, and nats-server 2.9 takes milliseconds to make each one on a buffer of millions of batches with
 * thousands of subjects; the last drain resumed 22 to 34 s after the kill (issue 13). A replay is one consumer.
 *
 * A replay never waits for a drain: a member with no room left leaves it and catches up on a consumer of its own, as a
 * drain that falls behind the feed does. Only drains close behind the feed join ({@link REPLAY_SPAN}): one far behind
 * would have the replay read every app's batches from its cursor on.
 *
 * Drains with no cursor yet (a drainer's first start with thousands of bindings) start from their binding's creation:
 * they share a replay from the oldest such time, if enough of them come together ({@link MIN_BY_TIME}) for one read of
 * the buffer from then to cost less than a filtered consumer each.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { DRAIN_STREAM, type Kind } from "@tailrace/envelope";
import { type Logger, type ReaderMessage, StreamReader } from "@tailrace/runtime";

/** A drain further behind the feed than this many batches catches up on its own consumer. */
export const REPLAY_SPAN = 250_000;
/** Replays running at once; drains beyond catch up on their own. */
const MAX_REPLAYS = 4;
/**
 * A new replay makes its consumer once no drain has joined for GATHER_MS, or GATHER_MAX_MS after the first: a takeover
 * comes shard by shard, and a drain that joins after the replay has read past its cursor needs another replay.
 */
const GATHER_MS = 200;
const GATHER_MAX_MS = 1000;
/** How often members hear how far the replay has come (a batch the buffer dropped shows as one it went past). */
const THROUGH_EVERY_MS = 500;
/** How long the replay's consumer may take to make before its drains catch up alone. */
const START_TIMEOUT_MS = 5000;
/** Fewer drains than this starting from a time catch up on their own. */
export const MIN_BY_TIME = 16;

/** Where a member needs the replay to begin: after its cursor (a stream sequence), or at a time (ms since the epoch). */
export type ReplayFrom = { seq: number } | { timeMs: number };

export interface ReplayMember {
  /** `<tenant>.<source id>`, as the feed keys apps. */
  readonly app: string;
  /** The stream sequence from which the feed offers the member everything: the replay must bring what is before. */
  readonly watchFrom: number;
  /** A batch of the member's app, in stream order, once. False: the member has left (no room) and reads on its own. */
  fromReplay(m: ReaderMessage, kind: Kind): boolean;
  /** The replay has handed on every batch through `seq`. */
  replayedThrough(seq: number): void;
  /** The replay could not be made or has stopped: the member catches up on its own from where it is. */
  replayGone(): void;
  /** The replay's consumer is made: the member catches up on it (told once, on joining a running replay at once). */
  replayStarted(): void;
}

export interface ReplayDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  logger: Logger;
  /** The feed's position: how far behind a joining drain is. */
  position(): number;
}

export class Replays {
  private readonly running = new Set<Replay>();

  constructor(private readonly d: ReplayDeps) {}

  /** Joins a replay that brings every batch from `from` on, or answers undefined: the member reads on its own. */
  join(member: ReplayMember, from: ReplayFrom): Replay | undefined {
    if ("seq" in from && this.d.position() - from.seq > REPLAY_SPAN) return undefined;
    for (const r of this.running) if (r.add(member, from)) return r;
    if (this.running.size >= MAX_REPLAYS) return undefined;
    const r = new Replay(this.d, from, () => this.running.delete(r));
    this.running.add(r);
    r.add(member, from);
    return r;
  }
}

export class Replay {
  private readonly byApp = new Map<string, Set<ReplayMember>>();
  /** Members in the order they joined, whose watchFrom the replay has not yet passed: non-decreasing, as the feed's position. */
  private readonly watching: ReplayMember[] = [];
  private head = 0;
  private members = 0;
  private reader: StreamReader | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private started = false;
  /** The consumer is made and reading. */
  private running = false;
  private done = false;
  private readonly at = Date.now();
  private delivered = 0;
  /** The oldest start among the members (lowered as members join, until the consumer is made). */
  private readonly from: ReplayFrom;
  /** The stored time (ns) of the last batch handed on. */
  private lastNs = 0;
  private gather: NodeJS.Timeout | undefined;

  constructor(
    private readonly d: ReplayDeps,
    from: ReplayFrom,
    private readonly onDone: () => void,
  ) {
    this.from = { ...from };
    this.wait();
  }

  private wait(): void {
    clearTimeout(this.gather);
    const left = this.at + GATHER_MAX_MS - Date.now();
    this.gather = setTimeout(() => void this.start(), Math.max(0, Math.min(GATHER_MS, left)));
    this.gather.unref();
  }

  /** Takes a member that needs every batch from `from` on, if this replay has not yet handed on any of them. */
  add(member: ReplayMember, from: ReplayFrom): boolean {
    if (this.done) return false;
    const f = this.from;
    if ("seq" in f !== "seq" in from) return false;
    if ("seq" in f && "seq" in from) {
      if (!this.started) f.seq = Math.min(f.seq, from.seq);
      else if (from.seq < f.seq || from.seq <= (this.reader?.lastSeq ?? 0)) return false;
    } else if ("timeMs" in f && "timeMs" in from) {
      // Stored times rise with the sequence: what is stored from `timeMs` on is all still to come.
      if (!this.started) f.timeMs = Math.min(f.timeMs, from.timeMs);
      else if (from.timeMs < f.timeMs || from.timeMs * 1e6 <= this.lastNs) return false;
    }
    if (!this.started) this.wait();
    let set = this.byApp.get(member.app);
    if (!set) {
      set = new Set();
      this.byApp.set(member.app, set);
    }
    set.add(member);
    this.watching.push(member);
    this.members++;
    if (this.running) member.replayStarted();
    return true;
  }

  /** The member steps back on the feed, stops or reads on its own. */
  leave(member: ReplayMember): void {
    const set = this.byApp.get(member.app);
    if (!set?.delete(member)) return;
    if (set.size === 0) this.byApp.delete(member.app);
    if (--this.members === 0) void this.finish();
  }

  private async start(): Promise<void> {
    if (this.done || this.started) return;
    this.started = true;
    if ("timeMs" in this.from && this.members < MIN_BY_TIME) {
      // Quietly: a consumer each is the cheaper way for a few.
      this.started = false;
      this.giveUp();
      return;
    }
    const from = this.from;
    // A push consumer, as the feed's: a pull of 256 batches a round trip went no faster than a busy buffer grew, and a
    // replay of 1,849 drains took 52 s to come level with the feed.
    const reader = new StreamReader({
      nc: this.d.nc,
      jsm: this.d.jsm,
      stream: DRAIN_STREAM,
      filter: "",
      start: "seq" in from ? { seq: from.seq } : { time: new Date(from.timeMs) },
      onMessage: (m) => this.dispatch(m),
      // Every batch through the last one read (or, with none, before the first asked for) is handed on.
      onCaughtUp: () => this.through(reader.lastSeq || ("seq" in from ? from.seq - 1 : 0)),
      logger: this.d.logger,
      what: "drains' replay",
    });
    this.reader = reader;
    try {
      const drains = this.members;
      await reader.start(START_TIMEOUT_MS);
      this.markRunning();
      this.d.logger.info({ from: this.from, drains }, "replaying the drains' buffer for drains that resume");
      // Every member may have had all it needs at once (nothing stored since their starts).
      if (this.done) {
        await reader.stop();
        return;
      }
      this.ticker = setInterval(() => reader.lastSeq > 0 && this.through(reader.lastSeq), THROUGH_EVERY_MS);
      this.ticker.unref();
    } catch (err) {
      this.d.logger.warn(
        { err: (err as Error).message, drains: this.members },
        "cannot replay the drains' buffer; each drain catches up alone",
      );
      this.giveUp();
    }
  }

  /** The consumer is made: its members are told before anything it reads reaches them. */
  private markRunning(): void {
    if (this.running) return;
    this.running = true;
    for (const set of [...this.byApp.values()]) for (const member of [...set]) member.replayStarted();
  }

  /** `tr.data.<tenant>.<app>.<kind>`: the app is between the second dot and the last one. */
  private dispatch(m: ReaderMessage): void {
    this.markRunning();
    this.lastNs = m.timestampNanos;
    const s = m.subject;
    const last = s.lastIndexOf(".");
    const set = this.byApp.get(s.slice(8, last));
    if (set) {
      const kind = s.slice(last + 1) as Kind;
      for (const member of set) {
        this.delivered++;
        if (!member.fromReplay(m, kind)) this.leave(member);
      }
    }
    while (this.head < this.watching.length && (this.watching[this.head] as ReplayMember).watchFrom <= m.seq) {
      const member = this.watching[this.head++] as ReplayMember;
      if (this.byApp.get(member.app)?.has(member)) member.replayedThrough(m.seq);
    }
    if (this.head > 1024 && this.head * 2 > this.watching.length) {
      this.watching.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Every batch of the buffer through `seq` has been handed on (the reader is there, or has caught up to it). */
  private through(seq: number): void {
    this.markRunning();
    for (const set of [...this.byApp.values()]) for (const member of [...set]) member.replayedThrough(seq);
  }

  private giveUp(): void {
    const all = [...this.byApp.values()].flatMap((s) => [...s]);
    this.byApp.clear();
    this.members = 0;
    void this.finish();
    for (const member of all) member.replayGone();
  }

  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.gather);
    clearInterval(this.ticker);
    this.onDone();
    if (this.started) this.d.logger.info({ ms: Date.now() - this.at, batches: this.delivered }, "drains' replay done");
    await this.reader?.stop();
  }
}
