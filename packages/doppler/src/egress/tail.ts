import { lgrNotice, toProtoJson } from "@tailrace/envelope";
import type { WebSocket } from "ws";
import { formatCursor } from "../cursor.js";
import { type Filters, matches } from "../filters.js";
import type { FeedItem } from "../ingress/feed.js";

export interface TailOptions {
  /** Envelopes queued before the oldest are dropped. */
  maxQueue: number;
  /** How long to gather envelopes into one frame (ms). */
  flushMs: number;
  /** Bytes the socket may hold unsent before the tail stops writing and lets its queue absorb. */
  maxBuffered: number;
  tenant: string;
  sourceId: string;
}

export interface TailStats {
  sent: number;
  dropped: number;
}

const MAX_FRAME_ENVELOPES = 1000;

/**
 * One websocket tail. Feed items are filtered, queued, and written as `{"batch":[...],"cursor":"..."}` frames.
 * The queue is bounded: a reader that cannot keep up loses its oldest envelopes, is told so in-band with an LGR
 * envelope, and never slows the feed or any other tail.
 */
export class Tail {
  private queue: FeedItem[] = [];
  private head = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly stats: TailStats = { sent: 0, dropped: 0 };
  readonly listener = (items: FeedItem[]) => this.push(items);

  constructor(
    private readonly ws: WebSocket,
    private readonly filters: Filters,
    private readonly o: TailOptions,
  ) {}

  push(items: FeedItem[]): void {
    for (const item of items) if (matches(this.filters, item)) this.queue.push(item);
    const over = this.queue.length - this.head - this.o.maxQueue;
    if (over > 0) {
      this.head += over;
      this.dropped += over;
      this.stats.dropped += over;
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    // A full frame goes out at once while the socket keeps up, so a burst from one NATS read never overflows the
    // queue of a reader that is keeping up; a partial frame waits a few ms to gather more.
    if (this.queue.length - this.head >= MAX_FRAME_ENVELOPES && this.ws.bufferedAmount <= this.o.maxBuffered) {
      if (this.timer) clearTimeout(this.timer);
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.o.flushMs);
    }
  }

  private flush(): void {
    this.timer = undefined;
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.o.maxBuffered) {
      // The reader is behind; check again soon without writing more.
      this.timer = setTimeout(() => this.flush(), Math.max(this.o.flushMs, 20));
      return;
    }
    let body = "";
    if (this.dropped > 0) {
      const n = this.dropped;
      this.dropped = 0;
      body = toProtoJson(
        lgrNotice(this.o.tenant, this.o.sourceId, `Tailrace dropped ${n} envelopes for this consumer: it was not reading fast enough`),
      );
    }
    const end = Math.min(this.queue.length, this.head + MAX_FRAME_ENVELOPES);
    let last: FeedItem | undefined;
    for (let i = this.head; i < end; i++) {
      last = this.queue[i] as FeedItem;
      body += (body ? "," : "") + last.json;
    }
    const count = end - this.head;
    this.head = end;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    if (!body) return;
    const cursor = last ? `,"cursor":"${formatCursor(last)}"` : "";
    this.ws.send(`{"batch":[${body}]${cursor}}`);
    this.stats.sent += count;
    if (this.queue.length > this.head && !this.timer) this.timer = setTimeout(() => this.flush(), 0);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
