import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { DATA_STREAM, parseDataSubject } from "@tailrace/envelope";
import type { Count, Logger, Telemetry } from "@tailrace/runtime";
import { type ReaderMessage, StreamReader } from "@tailrace/runtime";
import { type Cursor, WHOLE_BATCH } from "../cursor.js";
import type { Tail } from "../egress/tail.js";
import { type FeedItem, feedItems } from "./feed.js";

/**
 * A tail's private feed for a resume: a {@link StreamReader} that starts at the cursor's batch, skips what the client
 * already has, replays at the pace the client reads (it holds the reader whenever the tail is backlogged, so a replay
 * never drops), and then simply continues live on the same reader. No hand-over, so no gap and no duplicate, also
 * across the loss of a NATS node.
 */
export class ReplayFeed {
  private reader: StreamReader | undefined;
  private readonly received: Count | undefined;
  private readonly malformed: Count | undefined;
  private first = true;
  private attach: () => void = () => undefined;
  /** Settles once the tail exists: what arrives before is held, not dropped. */
  private readonly attachedTail = new Promise<void>((r) => (this.attach = r));

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly filter: string,
    private readonly logger: Logger,
    telemetry?: Telemetry,
  ) {
    this.received = telemetry?.received("ingress", { consumer: "resume" });
    this.malformed = telemetry?.dropped("ingress", "malformed", { consumer: "resume" });
  }

  /** Whether the cursor's own batch is still stored on this filter; if not, retention removed history after it. */
  private async cursorKept(c: Cursor): Promise<boolean> {
    if (c.idx === WHOLE_BATCH) {
      // A start cursor names a place in the whole stream (mostly another app's batch, which that app's own history
      // limit may have removed since): history after it is whole while the stream's age and size limits have not
      // passed it. (Losses to this app's own history limit in that span are not detected.)
      const info = await this.jsm.streams.info(DATA_STREAM).catch(() => null);
      return info !== null && info.state.first_seq <= c.seq + 1;
    }
    const m = await this.jsm.direct.getMessage(DATA_STREAM, { seq: c.seq }).catch(() => null);
    // A batch of another app (a forged cursor) counts as gone: it is never read, and nothing about it is told.
    return m !== null && m.seq === c.seq && subjectMatches(this.filter, m.subject);
  }

  /** Starts replaying into `tail`; resolves once the consumer exists (the socket may then be handed over). */
  async start(from: Cursor, tail: () => Tail | undefined): Promise<void> {
    const kept = await this.cursorKept(from);
    this.reader = new StreamReader({
      nc: this.nc,
      jsm: this.jsm,
      stream: DATA_STREAM,
      filter: this.filter,
      start: { seq: from.seq },
      onMessage: (m) => this.onMessage(m, from, kept, tail),
      logger: this.logger,
      what: `resumed tail ${this.filter}`,
    });
    await this.reader.start();
  }

  /** The socket was handed over and its tail exists. */
  attached(): void {
    this.attach();
  }

  private onMessage(m: ReaderMessage, from: Cursor, kept: boolean, tail: () => Tail | undefined): Promise<void> | undefined {
    const t = tail();
    if (!t) return this.attachedTail.then(() => (tail() ? this.onMessage(m, from, kept, tail) : undefined));
    const subject = parseDataSubject(m.subject);
    if (!subject) return undefined;
    let items: FeedItem[];
    try {
      items = feedItems(m.seq, subject.kind, m.data);
    } catch {
      this.malformed?.add(1);
      return undefined;
    }
    this.received?.add(items.length);
    if (this.first) {
      this.first = false;
      if (!kept) {
        const since = from.ms ? new Date(from.ms).toISOString() : "the cursor";
        const until = items[0] ? new Date(items[0].ms).toISOString() : "now";
        t.notice(`Tailrace could not resume without a gap: envelopes between ${since} and ${until} are past retention and missing`);
      }
    }
    if (kept && m.seq === from.seq) items = items.filter((it) => it.idx > from.idx);
    if (items.length) t.push(items);
    return t.backlogged ? t.writable() : undefined;
  }

  stop(): void {
    this.attach();
    void this.reader?.stop();
  }
}

/** NATS subject matching for the filters we build (`*` one token, `>` the rest). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i;
    if (i >= s.length || (f[i] !== "*" && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}
