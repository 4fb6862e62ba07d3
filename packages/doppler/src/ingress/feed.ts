import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { DATA_STREAM, type Envelope, type Kind, parseDataSubject, toProtoJson } from "@tailrace/envelope";
import { renderBatchProtoJson, type WireBatch } from "@tailrace/envelope/internal";
import type { Count, Logger } from "@tailrace/runtime";
import { type ReaderMessage, StreamReader } from "@tailrace/runtime";

/**
 * One envelope as a feed hands it to tails, with its protojson rendered at most once for all of them. Items made by
 * {@link feedItems} share their batch's rendering (`rendered`, where envelope `idx` is), which a tail copies into its
 * frames a run at a time, and decode their envelope only when something asks for it (a filter, a cursor).
 */
export class FeedItem {
  private text: string | undefined;
  private decoded: Envelope | undefined;
  constructor(
    readonly seq: number,
    readonly idx: number,
    readonly kind: Kind,
    env: Envelope | undefined,
    readonly rendered?: WireBatch,
  ) {
    this.decoded = env;
  }
  get env(): Envelope {
    this.decoded ??= (this.rendered as WireBatch).envelope(this.idx);
    return this.decoded;
  }
  /** The envelope's time in ms. */
  get ms(): number {
    return this.rendered ? (this.rendered.ms[this.idx] as number) : Number(this.env.timestamp / 1_000_000n);
  }
  get json(): string {
    if (this.text === undefined) {
      const r = this.rendered;
      this.text = r ? r.bytes.toString("utf8", r.starts[this.idx], r.ends[this.idx]) : toProtoJson(this.env);
    }
    return this.text;
  }
}

/**
 * The items of one encoded batch (stream sequence `seq`), its protojson rendered once for every tail. Throws
 * CodecError for a batch that does not decode.
 */
export function feedItems(seq: number, kind: Kind, data: Uint8Array): FeedItem[] {
  return new FeedBatch(seq, kind, renderBatchProtoJson(data)).items;
}

/**
 * One message of a feed, rendered once. A tail that filters nothing queues it whole; its items (an object per
 * envelope, 0.5 us each here) are made only when a tail asks for them.
 */
export class FeedBatch {
  private made: FeedItem[] | undefined;
  constructor(
    readonly seq: number,
    readonly kind: Kind,
    readonly rendered: WireBatch,
  ) {}
  get items(): FeedItem[] {
    if (!this.made) {
      const r = this.rendered;
      this.made = new Array<FeedItem>(r.count);
      for (let i = 0; i < r.count; i++) this.made[i] = new FeedItem(this.seq, i, this.kind, undefined, r);
    }
    return this.made;
  }
}

/** Feed counters: envelopes read for tails, and batches that did not decode. */
export interface FeedCounts {
  received: Count;
  malformed: Count;
}

/** Renders one message for tails; a batch that does not decode is counted, logged and skipped (undefined). */
export function renderFeedBatch(m: ReaderMessage, kind: Kind, logger: Logger, counts?: FeedCounts): FeedBatch | undefined {
  let batch: FeedBatch;
  try {
    batch = new FeedBatch(m.seq, kind, renderBatchProtoJson(m.data));
  } catch (err) {
    counts?.malformed.add(1);
    logger.warn({ subject: m.subject, seq: m.seq, err: (err as Error).message }, "skipping a batch that does not decode");
    return undefined;
  }
  counts?.received.add(batch.rendered.count);
  return batch;
}

export type FeedListener = (batch: FeedBatch) => void;

/** What a live tail's listener is attached to: an app's own {@link Feed}, or its route on the shared wide feed. */
export interface LiveFeed {
  readonly filter: string;
  /** Stream sequence of the last message read for this filter (or past it): a tail's start cursor. */
  readonly lastSeq: number;
  readonly size: number;
  add(l: FeedListener): void;
  remove(l: FeedListener): void;
}

export interface FeedStart {
  /** Start at this stream sequence; by default only messages stored after the feed starts. */
  startSeq?: number;
}

/** What a feed reads with: the connection and JetStream's API on it. */
export interface FeedSource {
  nc: NatsConnection;
  jsm: JetStreamManager;
}

/**
 * A {@link StreamReader} on one subject filter, fanned out to any number of listeners in this process. Listeners see
 * every message once, in stream order, each with its stream sequence (the basis of resume cursors), also across the
 * loss of the NATS node its consumer lived on.
 */
/** What a feed reading one {@link StreamReader} tells of it. */
export abstract class ReaderFeed {
  protected reader: StreamReader | undefined;

  /** Stream sequence of the last message read. */
  get lastSeq(): number {
    return this.reader?.lastSeq ?? 0;
  }

  /** Messages stored on its filter and not yet read, as of the last one read. */
  get pending(): number {
    return this.reader?.pending ?? 0;
  }

  /** Since when (ms) the feed has had no working consumer; 0 while it has one. */
  get degradedSince(): number {
    return this.reader?.degradedSince ?? 0;
  }
}

export class Feed extends ReaderFeed implements LiveFeed {
  private readonly listeners = new Set<FeedListener>();
  /** Messages that did not decode; never forwarded. */
  corrupt = 0;

  constructor(
    private readonly source: FeedSource,
    readonly filter: string,
    private readonly logger: Logger,
    private readonly counts?: FeedCounts,
  ) {
    super();
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

  async start(from: FeedStart = {}): Promise<void> {
    this.reader = new StreamReader({
      ...this.source,
      stream: DATA_STREAM,
      filter: this.filter,
      start: from.startSeq ? { seq: from.startSeq } : "new",
      onMessage: (m) => this.onMessage(m),
      logger: this.logger,
      what: `tail feed ${this.filter}`,
    });
    await this.reader.start();
  }

  private onMessage(m: ReaderMessage): void {
    const subject = parseDataSubject(m.subject);
    if (!subject) return;
    const batch = renderFeedBatch(m, subject.kind, this.logger, this.counts);
    if (!batch) {
      this.corrupt++;
      return;
    }
    for (const l of this.listeners) l(batch);
  }

  async stop(): Promise<void> {
    this.listeners.clear();
    await this.reader?.stop();
  }
}
