import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { appFilter, DATA_STREAM, decodeBatch, type Envelope, parseDataSubject } from "@tailrace/envelope";
import { QUICK_TIMEOUT_MS, quickJetStream, retryTransient } from "@tailrace/runtime";
import type { Filters } from "../filters.js";
import { matches } from "../filters.js";
import { FeedItem } from "../ingress/feed.js";

export interface RecentQuery {
  tenant: string;
  sourceId: string;
  filters: Filters;
  /** Inclusive, ns. */
  startTime?: bigint;
  /** Exclusive, ns. */
  endTime?: bigint;
  limit: number;
  descending: boolean;
}

const NS_PER_MS = 1_000_000n;
/** How long a read rides out an unavailable JetStream before it answers 503: longer than an election takes. */
const RECENT_BUDGET_MS = 10_000;
/**
 * Log Cache's read: envelopes of one app with start_time ≤ timestamp < end_time, by timestamp, the first `limit`
 * (or, descending, the last `limit`, newest first). Read from the same JetStream stream that feeds tails and drains,
 * so `--recent` and a live tail can never disagree about what exists.
 */
export function readRecent(nc: NatsConnection, jsm: JetStreamManager, q: RecentQuery): Promise<FeedItem[]> {
  // A node's loss makes JetStream unavailable for the seconds of an election: the read waits it out, then says so.
  return retryTransient("a recent-logs read", () => readOnce(nc, jsm, q), RECENT_BUDGET_MS);
}

async function readOnce(nc: NatsConnection, jsm: JetStreamManager, q: RecentQuery): Promise<FeedItem[]> {
  const kinds = q.filters.kinds;
  const onlyKind = kinds && kinds.size === 1 ? [...kinds][0] : undefined;
  const filter = appFilter(q.tenant, q.sourceId, onlyKind);
  const ci = await (await quickJetStream(nc)).consumers.add(DATA_STREAM, {
    filter_subject: filter,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    inactive_threshold: 10_000_000_000,
    ...(q.startTime !== undefined
      ? // Stored time is at or after the envelope's own time; start a little earlier to allow for clock skew.
        { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Number(q.startTime / NS_PER_MS) - 60_000).toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
  });
  try {
    const pending = ci.num_pending;
    if (pending === 0) return [];
    const selected: FeedItem[] = [];
    const keepLast = q.descending;
    for await (const m of pullAll(nc, ci.name, pending)) {
      const subject = parseDataSubject(m.subject);
      if (!subject) continue;
      let batch: Envelope[] = [];
      try {
        batch = decodeBatch(m.data);
      } catch {
        // A corrupt batch is skipped here as in every reader; the feed logs it.
      }
      for (let i = 0; i < batch.length; i++) {
        const e = batch[i] as Envelope;
        if (q.startTime !== undefined && e.timestamp < q.startTime) continue;
        if (q.endTime !== undefined && e.timestamp >= q.endTime) continue;
        const item = new FeedItem(m.seq, i, subject.kind, e);
        if (!matches(q.filters, item)) continue;
        selected.push(item);
      }
      // Bound memory on a busy app: for "newest", keep a window twice the limit; for "oldest", stop early. The window
      // keeps the newest by time, not by stream order: a batch an agent retried after a NATS fault is stored after
      // newer lines, and pruning by stream order let it push them out (seen in the rolling-restart drill: --recent
      // answered lines 9,901-9,905 while 16,683 had been written).
      if (keepLast && selected.length > q.limit * 2) {
        selected.sort(byTime);
        selected.splice(0, selected.length - q.limit);
      }
      if (!keepLast && selected.length >= q.limit * 2) break;
    }
    selected.sort(byTime);
    if (keepLast) return selected.slice(-q.limit).reverse();
    return selected.slice(0, q.limit);
  } finally {
    // Not awaited: the answer need not wait for the clean-up (the consumer also expires on its own).
    jsm.consumers.delete(DATA_STREAM, ci.name).catch(() => undefined);
  }
}

const byTime = (a: FeedItem, b: FeedItem): number => (a.env.timestamp < b.env.timestamp ? -1 : a.env.timestamp > b.env.timestamp ? 1 : 0);

/**
 * One pull request for exactly `count` messages, read from a private inbox. The raw JetStream pull protocol costs a
 * single round trip, where the client library's consumer object would first fetch the consumer's info.
 */
async function* pullAll(
  nc: NatsConnection,
  consumer: string,
  count: number,
): AsyncGenerator<{ subject: string; seq: number; data: Uint8Array }> {
  // Under the connection's own inbox prefix: deploy/nats/ lets a doppler subscribe to `_INBOX_doppler.>` only.
  const inbox = createInbox((nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
  const sub = nc.subscribe(inbox, { max: count + 1, timeout: QUICK_TIMEOUT_MS + 1000 });
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${DATA_STREAM}.${consumer}`, JSON.stringify({ batch: count, no_wait: true }), { reply: inbox });
  let got = 0;
  try {
    for await (const m of sub) {
      const seq = streamSeq(m);
      if (seq === undefined) break; // a status (no more messages, timeout): we have all there is
      yield { subject: m.subject, seq, data: m.data };
      if (++got >= count) break;
    }
  } finally {
    sub.unsubscribe();
  }
}

/** The stream sequence from a JetStream delivery's reply subject (`$JS.ACK.<stream>.<consumer>.<n>.<sseq>...`). */
function streamSeq(m: Msg): number | undefined {
  if (!m.reply?.startsWith("$JS.ACK.")) return undefined;
  const t = m.reply.split(".");
  // v1: 9 tokens; v2 (with domain and account hash): 12 or more.
  const seq = Number(t.length >= 12 ? t[7] : t[5]);
  return Number.isFinite(seq) ? seq : undefined;
}
