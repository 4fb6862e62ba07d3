import { ALL_DATA, DATA_STREAM, parseDataSubject } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import { type ReaderMessage, StreamReader } from "@tailrace/runtime";
import { type FeedCounts, type FeedListener, type FeedSource, type LiveFeed, ReaderFeed, renderFeedBatch } from "./feed.js";

/**
 * One consumer on the whole data stream, shared by the live tails of every app that has no consumer of its own, and
 * routed here to each app's listeners by subject.
 *
 * Why (issue 13, docs/BENCHMARKS.md "Tails at width"): nats-server 2.9 matches every stored message against every
 * consumer's filter, so a consumer per tailed app costs the server CPU per message times consumers: at the same
 * 10,000 lines/s its CPU went 28% → 58% → 93% for 1 → 100 → 1,000 tailed apps, and p99 to the tails from 84 to
 * 664 ms. This consumer costs the server one delivery per message whatever the number of apps, and the doppler a
 * subject lookup per message (it renders only what some tail wants). It reads everything, so it is used only past
 * `TAILRACE_TAIL_CONSUMERS` apps with tails; below that, a quiet platform's doppler reads only what is tailed.
 */
export class WideFeed extends ReaderFeed {
  private readonly routes = new Map<string, WideRoute>();

  constructor(
    private readonly source: FeedSource,
    private readonly logger: Logger,
    private readonly counts?: FeedCounts,
  ) {
    super();
  }

  /** Apps with a route. */
  get size(): number {
    return this.routes.size;
  }

  has(filter: string): boolean {
    return this.routes.has(routeKey(filter));
  }

  /** The route for one app's filter (as `appFilter()` builds it), made on first use. */
  route(filter: string): WideRoute {
    const key = routeKey(filter);
    let r = this.routes.get(key);
    if (!r) {
      r = new WideRoute(filter, this);
      this.routes.set(key, r);
    }
    return r;
  }

  /** Forgets a route nobody listens to. */
  unroute(r: WideRoute): void {
    const key = routeKey(r.filter);
    if (r.size === 0 && this.routes.get(key) === r) this.routes.delete(key);
  }

  async start(): Promise<void> {
    this.reader = new StreamReader({
      ...this.source,
      stream: DATA_STREAM,
      filter: ALL_DATA,
      start: "new",
      onMessage: (m) => this.onMessage(m),
      logger: this.logger,
      what: "wide tail feed",
      // Flow control would pace the whole stream by this process's event loop (issue 13: the feed fell a second and
      // more behind at 10,000 tails); its listener never holds, and the tails' queues bound what it hands on.
      flowControl: false,
    });
    await this.reader.start();
  }

  private onMessage(m: ReaderMessage): void {
    // Routes are keyed by their filter without its last `.*`: `tr.data.<tenant>.<app>`, the subject without its kind.
    const route = this.routes.get(m.subject.slice(0, m.subject.lastIndexOf(".")));
    if (!route?.size) return;
    const subject = parseDataSubject(m.subject);
    if (!subject) return;
    const batch = renderFeedBatch(m, subject.kind, this.logger, this.counts);
    if (batch) route.deliver(batch);
  }

  async stop(): Promise<void> {
    this.routes.clear();
    await this.reader?.stop();
  }
}

/** `tr.data.<tenant>.<app>.*` → `tr.data.<tenant>.<app>`: what a message's subject is without its kind. */
function routeKey(filter: string): string {
  if (!filter.endsWith(".*")) throw new Error(`the wide tail feed routes apps' filters (tr.data.<tenant>.<app>.*), not ${filter}`);
  return filter.slice(0, -2);
}

/** One app's share of the {@link WideFeed}: its tails' listeners, and the wide feed's position as theirs. */
export class WideRoute implements LiveFeed {
  private readonly listeners = new Set<FeedListener>();

  constructor(
    readonly filter: string,
    readonly wide: WideFeed,
  ) {}

  /** The wide feed has read every message up to here, so everything on this filter up to here has been routed. */
  get lastSeq(): number {
    return this.wide.lastSeq;
  }

  get size(): number {
    return this.listeners.size;
  }

  add(l: FeedListener): void {
    this.listeners.add(l);
  }

  remove(l: FeedListener): void {
    this.listeners.delete(l);
  }

  deliver(batch: Parameters<FeedListener>[0]): void {
    for (const l of this.listeners) l(batch);
  }
}
