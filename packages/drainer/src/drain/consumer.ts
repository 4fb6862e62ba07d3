/**
 * One durable pull consumer per drain on the data stream, filtered to the drain's app (one `filter_subject`: nats-server
 * 2.9 has no multi-filter consumers). It starts at the binding's creation time, so delivery covers everything from
 * the moment of binding; acks are explicit, and `max_ack_pending` is the drain's own in-flight window.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager, ReplayPolicy } from "@nats-io/jetstream";
import { appFilter, DATA_STREAM, dataSubject } from "@tailrace/envelope";
import type { DrainData } from "../binding/url.js";
import type { Binding } from "../store/bindings.js";

const NS_PER_MS = 1_000_000;
/** Long: the lease, not the ack timer, decides who delivers; a redelivery would only be skipped as a duplicate. */
const ACK_WAIT_MS = 10 * 60_000;

export const consumerName = (b: Pick<Binding, "id">): string => `drain_${b.id}`;

export function drainFilter(b: Binding, data: DrainData): string {
  return data === "logs" ? dataSubject(b.tenant, b.sourceId, "log") : appFilter(b.tenant, b.sourceId);
}

function isNotFound(err: unknown): boolean {
  return /not found|10014|404/i.test(String((err as Error)?.message ?? err));
}

/**
 * Called by the drainer that has just taken a drain's lease. The consumer is made afresh, starting right after its
 * ack floor (or at the binding's creation when nothing was acked): messages the previous holder had in flight come
 * again at once and in order, rather than after an ack timeout and behind newer ones.
 */
export async function takeConsumer(jsm: JetStreamManager, b: Binding, filter: string, window: number): Promise<void> {
  const name = consumerName(b);
  let startSeq = 0;
  try {
    const info = await jsm.consumers.info(DATA_STREAM, name);
    startSeq = info.ack_floor.stream_seq > 0 ? info.ack_floor.stream_seq + 1 : 0;
    await jsm.consumers.delete(DATA_STREAM, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await jsm.consumers.add(DATA_STREAM, {
    durable_name: name,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    ack_wait: ACK_WAIT_MS * NS_PER_MS,
    max_ack_pending: window,
    max_deliver: -1,
    replay_policy: ReplayPolicy.Instant,
    ...(startSeq > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }
      : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(b.created).toISOString() }),
  });
}

export async function deleteConsumer(jsm: JetStreamManager, b: Pick<Binding, "id">): Promise<void> {
  try {
    await jsm.consumers.delete(DATA_STREAM, consumerName(b));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Deletes drain consumers whose binding is gone (removed while no drainer ran). */
export async function deleteOrphans(jsm: JetStreamManager, bound: ReadonlySet<string>): Promise<number> {
  let n = 0;
  for await (const c of jsm.consumers.list(DATA_STREAM)) {
    const name = c.name;
    if (name.startsWith("drain_") && !bound.has(name.slice("drain_".length))) {
      await deleteConsumer(jsm, { id: name.slice("drain_".length) });
      n++;
    }
  }
  return n;
}
