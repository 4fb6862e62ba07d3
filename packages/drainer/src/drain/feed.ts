/**
 * The drains' feed: one self-healing ordered consumer per drainer on the drains' buffer, over every app, that hands
 * each batch to the drains of its app this drainer delivers. It never waits for a drain: a drain that cannot take a
 * batch steps off the feed and catches up on a consumer of its own (pipeline.ts), so a slow drain slows no other.
 *
 * NATS cost therefore does not grow with the number of drains: one consumer per drainer, plus one per drain only
 * while that drain is behind (issue 13).
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { DRAIN_STREAM, type Kind } from "@tailrace/envelope";
import { type Logger, type ReaderMessage, StreamReader } from "@tailrace/runtime";
import { SeenApps } from "./seen.js";

/** What the feed hands a drain: one batch of its app, with the kind read off the subject. */
export interface FeedListener {
  offer(m: ReaderMessage, kind: Kind): void;
}

export class Feed {
  private readonly byApp = new Map<string, Set<FeedListener>>();
  private readonly seen = new SeenApps();
  private readonly reader: StreamReader;

  constructor(nc: NatsConnection, jsm: JetStreamManager, logger: Logger) {
    this.reader = new StreamReader({
      nc,
      jsm,
      stream: DRAIN_STREAM,
      // No filter: the buffer holds only tenant data, and nats-server refuses even `tr.data.>` on a stream whose
      // source (TAILRACE_DATA) no doppler has made yet (a drainer that starts first).
      filter: "",
      start: "new",
      onMessage: (m) => this.dispatch(m),
      logger,
      what: "drains' feed",
    });
  }

  start(timeoutMs?: number): Promise<void> {
    return this.reader.start(timeoutMs);
  }

  /**
   * The stream sequence of the last batch the feed has handed on: every batch of a listening app up to here has been
   * offered to its listeners, and every later one will be.
   */
  get position(): number {
    return this.reader.lastSeq;
  }

  /** True while the feed has no working consumer. */
  get degraded(): boolean {
    return this.reader.degradedSince > 0;
  }

  /**
   * Whether the feed has handed on a batch of the app stamped at or after `sinceNs` (see {@link SeenApps}): false
   * means a drain that listens now is offered every such batch, with nothing to catch up.
   */
  passedSince(tenant: string, sourceId: string, sinceNs: number): boolean | undefined {
    return this.seen.passedSince(`${tenant}.${sourceId}`, sinceNs);
  }

  listen(tenant: string, sourceId: string, l: FeedListener): void {
    const key = `${tenant}.${sourceId}`;
    let set = this.byApp.get(key);
    if (!set) {
      set = new Set();
      this.byApp.set(key, set);
    }
    set.add(l);
  }

  unlisten(tenant: string, sourceId: string, l: FeedListener): void {
    const key = `${tenant}.${sourceId}`;
    const set = this.byApp.get(key);
    set?.delete(l);
    if (set?.size === 0) this.byApp.delete(key);
  }

  /** `tr.data.<tenant>.<app>.<kind>`: the app is between the second dot and the last one. */
  private dispatch(m: ReaderMessage): void {
    const s = m.subject;
    const last = s.lastIndexOf(".");
    const app = s.slice(8, last);
    this.seen.note(app, m.timestampNanos);
    const set = this.byApp.get(app);
    if (!set) return;
    const kind = s.slice(last + 1) as Kind;
    for (const l of set) l.offer(m, kind);
  }

  stop(): Promise<void> {
    return this.reader.stop();
  }
}
