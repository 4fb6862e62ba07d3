import { lgrNotice, toProtoJson } from "@tailrace/envelope";
import type { WireBatch } from "@tailrace/envelope/internal";
import type { Count, Level, Telemetry, Timing } from "@tailrace/runtime";
import type { WebSocket } from "ws";
import { formatCursor } from "../cursor.js";
import { type Filters, matches } from "../filters.js";
import type { FeedBatch, FeedItem } from "../ingress/feed.js";

/** Queued envelopes `[from, to)` of one rendered batch, or one item that has no rendered batch. */
class Run {
  constructor(
    readonly seq: number,
    readonly r: WireBatch | undefined,
    public from: number,
    public to: number,
    readonly item?: FeedItem,
  ) {}
}

export interface TailOptions {
  /** Envelopes queued before the oldest are dropped. */
  maxQueue: number;
  /** How long to gather envelopes into one frame (ms). */
  flushMs: number;
  /** The process's pacer, which stretches `flushMs` while the event loop is behind (pacer.ts). */
  pacer?: { readonly delayMs: number };
  /** Bytes the socket may hold unsent before the tail stops writing and lets its queue absorb. */
  maxBuffered: number;
  /** A reader that stays behind this long (ms) is disconnected with {@link SLOW_CONSUMER_CLOSE}. */
  hopelessMs: number;
  /** Names the consumer in its own notices. */
  tenant: string;
  sourceId: string;
  /** The process's telemetry: tails open, envelopes sent and dropped, frame latency (issue 6). */
  telemetry?: Telemetry;
  /** `tail` (live), `resume` (from a cursor) or `firehose`: the `kind`/`stage` label of its telemetry. */
  kind?: string;
}

interface TailInstruments {
  open: Level;
  sent: Count;
  dropped: Count;
  latency: Timing;
}

export interface TailStats {
  sent: number;
  dropped: number;
}

/** Websocket close code for a reader that could not keep up (4000-4999 is for applications). */
export const SLOW_CONSUMER_CLOSE = 4008;

const MAX_FRAME_ENVELOPES = 1000;
/** Frames of fewer envelopes than this wait the pacer's time (pacer.ts); larger ones go out after `flushMs`. */
const PACED_BELOW = 100;
const NS_PER_MS = 1_000_000n;
const FRAME_OPEN = Buffer.from('{"batch":[');
const COMMA = Buffer.from(",");

/**
 * One websocket reader. Feed items are filtered, queued, and written as `{"batch":[...],"cursor":"..."}` frames.
 *
 * The queue is bounded: a reader that cannot keep up loses its oldest envelopes, is told so in-band with an LGR
 * envelope, and never slows the feed or any other tail. One that stays behind past `hopelessMs` is closed with
 * {@link SLOW_CONSUMER_CLOSE} and a reason, after a last notice.
 */
export class Tail {
  /** Queued envelopes as runs of neighbours in one batch, oldest first from `head`; `count` envelopes in all. */
  private queue: Run[] = [];
  private head = 0;
  private count = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The pending timer waits the pacer's time, not `flushMs`. */
  private paced = false;
  /** Envelopes in the last frame sent. */
  private lastFrame = 0;
  private behindSince = 0;
  private closed = false;
  private waiters: Array<() => void> = [];
  readonly stats: TailStats = { sent: 0, dropped: 0 };
  readonly listener = (batch: FeedBatch) => this.pushBatch(batch);
  private readonly tm: TailInstruments | undefined;
  /** No filter: every item is queued without asking (and without decoding its envelope). */
  private readonly unfiltered: boolean;

  constructor(
    private readonly ws: WebSocket,
    private readonly filters: Filters,
    private readonly o: TailOptions,
  ) {
    this.unfiltered = filters.kinds === undefined && filters.sourceType === undefined && filters.instanceId === undefined;
    const t = o.telemetry;
    if (t) {
      const kind = o.kind ?? "tail";
      this.tm = {
        open: t.tails(kind === "firehose" ? "firehose" : "tail"),
        sent: t.sent("egress", { consumer: kind }),
        dropped: t.dropped("egress", "slow_consumer", { consumer: kind }),
        latency: t.latency(kind),
      };
      this.tm.open.inc();
    }
  }

  private get queued(): number {
    return this.count;
  }

  /** True while the reader is behind; a replaying producer should wait for {@link writable}. */
  get backlogged(): boolean {
    return this.queued >= MAX_FRAME_ENVELOPES || this.ws.bufferedAmount > this.o.maxBuffered;
  }

  /** Resolves once the tail can take more without dropping (or is closed). */
  writable(): Promise<void> {
    if (!this.backlogged || this.closed) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Queues a feed's batch: whole when nothing is filtered, so its envelopes are never made into items. */
  pushBatch(batch: FeedBatch): void {
    if (this.closed) return;
    if (!this.unfiltered) {
      this.push(batch.items);
      return;
    }
    if (batch.rendered.count === 0) return;
    this.queue.push(new Run(batch.seq, batch.rendered, 0, batch.rendered.count));
    this.count += batch.rendered.count;
    this.queuedMore();
  }

  push(items: FeedItem[]): void {
    if (this.closed) return;
    for (const item of items) {
      if (!this.unfiltered && !matches(this.filters, item)) continue;
      const last = this.queue.length > this.head ? (this.queue[this.queue.length - 1] as Run) : undefined;
      // Neighbours in one rendered batch extend its run.
      if (last && item.rendered && last.r === item.rendered && last.seq === item.seq && last.to === item.idx) last.to++;
      else
        this.queue.push(
          item.rendered ? new Run(item.seq, item.rendered, item.idx, item.idx + 1) : new Run(item.seq, undefined, 0, 1, item),
        );
      this.count++;
    }
    this.queuedMore();
  }

  /** Drops the oldest past `maxQueue`, and writes or schedules a frame. */
  private queuedMore(): void {
    let over = this.count - this.o.maxQueue;
    if (over > 0) {
      this.count -= over;
      this.dropped += over;
      this.stats.dropped += over;
      this.tm?.dropped.add(over);
      this.behindSince ||= Date.now();
      while (over > 0) {
        const run = this.queue[this.head] as Run;
        const n = run.to - run.from;
        if (n <= over) {
          this.head++;
          over -= n;
        } else {
          run.from += over;
          over = 0;
        }
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    // A full frame goes out at once while the socket keeps up, so a burst from one NATS read never overflows the
    // queue of a reader that is keeping up; a partial frame waits a few ms to gather more.
    if (this.queued >= MAX_FRAME_ENVELOPES && this.ws.bufferedAmount <= this.o.maxBuffered) {
      if (this.timer) clearTimeout(this.timer);
      this.flush();
    } else if (!this.timer) {
      // The pacer stretches only a trickle of small frames, whose cost is the system call and not their bytes. A tail
      // with a frame's worth coming, or whose last frame was a large one (the end of a burst), gains nothing from
      // waiting: a busy tail's last lines waited up to the pacer's 500 ms.
      this.paced = this.o.pacer !== undefined && this.queued < PACED_BELOW && this.lastFrame < PACED_BELOW;
      this.timer = setTimeout(() => this.flush(), this.paced && this.o.pacer ? this.o.pacer.delayMs : this.o.flushMs);
    } else if (this.paced && this.queued >= PACED_BELOW) {
      this.paced = false;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), this.o.flushMs);
    }
  }

  private dropNotice(): string {
    const n = this.dropped;
    this.dropped = 0;
    return toProtoJson(
      lgrNotice(this.o.tenant, this.o.sourceId, `Tailrace dropped ${n} envelopes for this consumer: it was not reading fast enough`),
    );
  }

  private flush(): void {
    this.timer = undefined;
    this.paced = false;
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.o.maxBuffered) {
      this.behindSince ||= Date.now();
      if (Date.now() - this.behindSince > this.o.hopelessMs) {
        this.cutOff();
        return;
      }
      // The reader is behind; check again soon without writing more.
      this.timer = setTimeout(() => this.flush(), Math.max(this.o.flushMs, 20));
      return;
    }
    const taken = this.count > 0 || this.dropped > 0 ? this.frame() : undefined;
    if (this.count === 0) {
      this.queue = [];
      this.head = 0;
      this.behindSince = 0;
    }
    if (taken) {
      this.ws.send(taken.frame, { binary: false });
      this.stats.sent += taken.count;
      this.lastFrame = taken.count;
      if (this.tm && taken.count > 0) {
        this.tm.sent.add(taken.count);
        // Once per frame, for its oldest envelope: the worst latency in the frame, at a cost that does not grow with it.
        this.tm.latency.sinceNs(BigInt(Math.floor(taken.oldestMs)) * NS_PER_MS);
      }
    }
    if (this.queued > 0 && !this.timer) this.timer = setTimeout(() => this.flush(), 0);
    if (!this.backlogged) for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Takes a pending drop notice and up to {@link MAX_FRAME_ENVELOPES} queued envelopes off the queue, as the bytes of
   * one `{"batch":[...],"cursor":"..."}` text frame: each run is one slice of its rendered batch.
   */
  private frame(): { frame: Buffer; count: number; oldestMs: number } {
    const parts: Buffer[] = [FRAME_OPEN];
    let size = FRAME_OPEN.length;
    const add = (b: Buffer) => {
      if (parts.length > 1) {
        parts.push(COMMA);
        size++;
      }
      parts.push(b);
      size += b.length;
    };
    if (this.dropped > 0) add(Buffer.from(this.dropNotice()));
    let left = MAX_FRAME_ENVELOPES;
    let oldestMs = 0;
    let cursor = "";
    while (left > 0 && this.head < this.queue.length) {
      const run = this.queue[this.head] as Run;
      const k = Math.min(left, run.to - run.from);
      const from = run.from;
      const lastIdx = from + k - 1;
      if (left === MAX_FRAME_ENVELOPES) oldestMs = run.r ? (run.r.ms[from] as number) : (run.item as FeedItem).ms;
      if (run.r) add(run.r.bytes.subarray(run.r.starts[from], run.r.ends[lastIdx]));
      else add(Buffer.from((run.item as FeedItem).json));
      const ms = run.r ? (run.r.ms[lastIdx] as number) : (run.item as FeedItem).ms;
      const idx = run.r ? lastIdx : (run.item as FeedItem).idx;
      cursor = run.seq > 0 ? `,"cursor":"${formatCursor({ seq: run.seq, idx, ms })}"` : "";
      left -= k;
      this.count -= k;
      run.from += k;
      if (run.from === run.to) this.head++;
    }
    const close = Buffer.from(`]${cursor}}`);
    parts.push(close);
    size += close.length;
    return { frame: Buffer.concat(parts, size), count: MAX_FRAME_ENVELOPES - left, oldestMs };
  }

  /**
   * Sends a frame with no envelope and the cursor where this tail starts; it must go before the first envelope, so
   * that a cursor never moves backwards.
   */
  start(cursor: string): void {
    if (this.ws.readyState === this.ws.OPEN && this.stats.sent === 0) this.ws.send(`{"batch":[],"cursor":"${cursor}"}`);
  }

  /** Sends one envelope outside the queue (e.g. a resume notice). */
  notice(text: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(`{"batch":[${toProtoJson(lgrNotice(this.o.tenant, this.o.sourceId, text))}]}`);
  }

  private cutOff(): void {
    const secs = Math.round((Date.now() - this.behindSince) / 1000);
    const dropped = this.stats.dropped;
    // The notice and the close frame queue behind what the socket holds; a reader that resumes reads both.
    if (this.dropped > 0) this.ws.send(`{"batch":[${this.dropNotice()}]}`);
    this.notice(`Tailrace disconnected this consumer: it fell behind for ${secs}s and lost ${dropped} envelopes`);
    this.ws.close(SLOW_CONSUMER_CLOSE, "slow consumer: not reading fast enough");
    this.close();
    // A peer that never reads never completes the closing handshake either: it is terminated once 5 s pass with
    // nothing read. One still reading what was queued (a busy client) gets more time, up to 30 s in all.
    let left = this.ws.bufferedAmount;
    let waited = 0;
    const check = () => {
      if (this.ws.readyState === this.ws.CLOSED) return;
      waited += 5000;
      const now = this.ws.bufferedAmount;
      if (now < left && waited < 30_000) {
        left = now;
        setTimeout(check, 5000).unref();
      } else this.ws.terminate();
    };
    setTimeout(check, 5000).unref();
  }

  close(): void {
    if (!this.closed) this.tm?.open.dec();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w();
  }
}
