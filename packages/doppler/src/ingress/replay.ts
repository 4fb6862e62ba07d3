import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { DATA_STREAM, decodeBatch, type Envelope, parseDataSubject } from "@tailrace/envelope";
import type { Count, Logger, Telemetry } from "@tailrace/runtime";
import type { Cursor } from "../cursor.js";
import type { Tail } from "../egress/tail.js";
import { FeedItem } from "./feed.js";

/**
 * A tail's private feed for a resume: an ordered pull consumer that starts at the cursor's batch, skips what the
 * client already has, replays at the pace the client reads (it waits whenever the tail is backlogged, so a replay
 * never drops), and then simply continues live on the same consumer. No hand-over, so no gap and no duplicate.
 */
export class ReplayFeed {
  private stopped = false;
  private stopFn: (() => void) | undefined;
  private readonly received: Count | undefined;
  private readonly malformed: Count | undefined;

  constructor(
    private readonly js: JetStreamClient,
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
    const m = await this.jsm.direct.getMessage(DATA_STREAM, { seq: c.seq }).catch(() => null);
    // A batch of another app (a forged cursor) counts as gone: it is never read, and nothing about it is told.
    return m !== null && m.seq === c.seq && subjectMatches(this.filter, m.subject);
  }

  /** Starts replaying into `tail`; resolves once the consumer exists (the socket may then be handed over). */
  async start(from: Cursor, tail: () => Tail | undefined): Promise<void> {
    const kept = await this.cursorKept(from);
    const consumer = await this.js.consumers.get(DATA_STREAM, {
      filter_subjects: this.filter,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from.seq,
    });
    const messages = await consumer.consume({ max_messages: 64 });
    this.stopFn = () => messages.stop();
    let first = true;
    void (async () => {
      for await (const m of messages) {
        if (this.stopped) break;
        const t = tail();
        if (!t) continue;
        const subject = parseDataSubject(m.subject);
        if (!subject) continue;
        let batch: Envelope[];
        try {
          batch = decodeBatch(m.data);
        } catch {
          this.malformed?.add(1);
          continue;
        }
        this.received?.add(batch.length);
        if (first) {
          first = false;
          if (!kept) {
            const since = from.ms ? new Date(from.ms).toISOString() : "the cursor";
            const until = batch[0] ? new Date(Number(batch[0].timestamp / 1_000_000n)).toISOString() : "now";
            t.notice(`Tailrace could not resume without a gap: envelopes between ${since} and ${until} are past retention and missing`);
          }
        }
        const items: FeedItem[] = [];
        for (let i = 0; i < batch.length; i++) {
          if (kept && m.seq === from.seq && i <= from.idx) continue;
          items.push(new FeedItem(m.seq, i, subject.kind, batch[i] as Envelope));
        }
        if (items.length) t.push(items);
        if (t.backlogged) await t.writable();
      }
    })().catch((err) => this.logger.warn({ err: (err as Error).message }, "replay feed stopped"));
  }

  stop(): void {
    this.stopped = true;
    this.stopFn?.();
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
