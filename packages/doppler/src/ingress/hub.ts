import type { Logger, Telemetry } from "@tailrace/runtime";
import { Feed, type FeedCounts, type FeedListener, type FeedSource, type LiveFeed } from "./feed.js";
import { WideFeed, WideRoute } from "./wide.js";

export interface FeedHubOptions {
  /**
   * Apps whose live tails get a JetStream consumer of their own; the tails of further apps share one consumer on the
   * whole stream ({@link WideFeed}). 0: every live tail uses the shared one.
   */
  maxConsumers?: number;
}

interface Pending<T> {
  feed: T;
  ready: Promise<void>;
}

/**
 * Shares live feeds among the tails of this doppler: one {@link Feed} (one consumer) per app while there are fewer
 * than `maxConsumers` of them, then routes on one {@link WideFeed} for every further app. A feed stops when its last
 * tail leaves. An app keeps the feed it started on for as long as it has tails (moving a running tail between
 * consumers would need a hand-over for no gain), so the count of consumers falls back as tails come and go.
 */
export class FeedHub {
  private readonly feeds = new Map<string, Pending<Feed>>();
  private wide: Pending<WideFeed> | undefined;
  private readonly counts: FeedCounts | undefined;
  private readonly maxConsumers: number;

  constructor(
    private readonly source: FeedSource,
    private readonly logger: Logger,
    telemetry?: Telemetry,
    options: FeedHubOptions = {},
  ) {
    this.maxConsumers = options.maxConsumers ?? 64;
    if (telemetry) {
      this.counts = {
        received: telemetry.received("ingress", { consumer: "tail" }),
        malformed: telemetry.dropped("ingress", "malformed", { consumer: "tail" }),
      };
      telemetry.lag("tails", () => this.lag);
      telemetry.observeGauge("tailrace.doppler.tail.feeds", "Apps with live tails, by the consumer they read from.", () => [
        [this.feeds.size, { feed: "app" }],
        [this.wide?.feed.size ?? 0, { feed: "wide" }],
      ]);
    }
  }

  /** Messages stored and not yet delivered, over every live feed. */
  get lag(): number {
    let n = this.wide?.feed.pending ?? 0;
    for (const { feed } of this.feeds.values()) n += feed.pending;
    return n;
  }

  /** Feeds without a working consumer right now, and since when the oldest has been (ms; 0 if none). */
  get degraded(): { feeds: number; since: number } {
    let feeds = 0;
    let since = 0;
    const all: { degradedSince: number }[] = [...this.feeds.values()].map((e) => e.feed);
    if (this.wide) all.push(this.wide.feed);
    for (const feed of all) {
      if (!feed.degradedSince) continue;
      feeds++;
      if (!since || feed.degradedSince < since) since = feed.degradedSince;
    }
    return { feeds, since };
  }

  /** Apps with live tails on a consumer of their own, and on the wide one. */
  get sizes(): { app: number; wide: number } {
    return { app: this.feeds.size, wide: this.wide?.feed.size ?? 0 };
  }

  /**
   * Attaches `l` to the live feed of `filter` (one app, `appFilter()`), starting one if none runs. Resolves once the
   * feed's consumer exists: from then on, every message stored is delivered.
   */
  async acquire(filter: string, l: FeedListener): Promise<LiveFeed> {
    for (;;) {
      const own = this.feeds.get(filter);
      if (own || (!this.wide?.feed.has(filter) && this.feeds.size < this.maxConsumers)) {
        const entry = own ?? this.startOwn(filter);
        await entry.ready;
        // Its last tail may have left (and stopped it) while this one waited: start again.
        if (this.feeds.get(filter) !== entry) continue;
        entry.feed.add(l);
        return entry.feed;
      }
      const entry = this.wide ?? this.startWide();
      await entry.ready;
      if (this.wide !== entry) continue;
      const route = entry.feed.route(filter);
      route.add(l);
      return route;
    }
  }

  release(feed: LiveFeed, l: FeedListener): void {
    feed.remove(l);
    if (feed.size > 0) return;
    if (feed instanceof WideRoute) {
      feed.wide.unroute(feed);
      if (feed.wide.size === 0 && this.wide?.feed === feed.wide) {
        this.wide = undefined;
        void feed.wide.stop();
      }
    } else if (this.feeds.get(feed.filter)?.feed === feed) {
      this.feeds.delete(feed.filter);
      void (feed as Feed).stop();
    }
  }

  private startOwn(filter: string): Pending<Feed> {
    const feed = new Feed(this.source, filter, this.logger, this.counts);
    const entry = { feed, ready: feed.start() };
    this.feeds.set(filter, entry);
    entry.ready.catch(() => {
      if (this.feeds.get(filter) === entry) this.feeds.delete(filter);
    });
    return entry;
  }

  private startWide(): Pending<WideFeed> {
    const feed = new WideFeed(this.source, this.logger, this.counts);
    const entry = { feed, ready: feed.start() };
    this.wide = entry;
    this.logger.info({ consumers: this.feeds.size }, "tails of further apps share one consumer on the whole data stream");
    entry.ready.catch(() => {
      if (this.wide === entry) this.wide = undefined;
    });
    return entry;
  }

  async stop(): Promise<void> {
    const all: { stop(): Promise<void> }[] = [...this.feeds.values()].map((e) => e.feed);
    if (this.wide) all.push(this.wide.feed);
    this.feeds.clear();
    this.wide = undefined;
    await Promise.all(all.map((f) => f.stop()));
  }
}
