/**
 * One durable pull consumer per drain on its app's drain stream (see stream.ts), filtered to the stream's subjects
 * (so the API subject names the app, which the NATS permissions check). It starts at the binding's creation time, so
 * delivery covers everything from the moment of binding; acks are explicit, and `max_ack_pending` is the drain's own
 * in-flight window.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager, ReplayPolicy } from "@nats-io/jetstream";
import type { DrainData } from "../binding/url.js";
import type { Binding } from "../store/bindings.js";
import { isNotFound, scopeFilter, scopeOf } from "./stream.js";

const NS_PER_MS = 1_000_000;
/** Long: the lease, not the ack timer, decides who delivers; a redelivery would only be skipped as a duplicate. */
const ACK_WAIT_MS = 10 * 60_000;

export const consumerName = (b: Pick<Binding, "id">): string => `drain_${b.id}`;

export function drainFilter(b: Binding, data: DrainData): string {
  return scopeFilter(b.tenant, b.sourceId, scopeOf(data));
}

/**
 * Called by the drainer that has just taken a drain's lease. The consumer is made afresh, starting right after its
 * ack floor or what this drainer acked itself, whichever is later (or at the binding's creation when nothing was acked): messages the previous holder had in flight come
 * again at once and in order, rather than after an ack timeout and behind newer ones. Returns the stream sequence
 * it resumes at (0 for the binding's creation time), from which the pipeline counts what the stream dropped unread.
 */
export async function takeConsumer(
  jsm: JetStreamManager,
  stream: string,
  b: Binding,
  filter: string,
  window: number,
  ackedThrough = 0,
): Promise<number> {
  const name = consumerName(b);
  // What this drainer itself delivered and acked counts too: acks lost while a consumer's leader moved between NATS
  // nodes, or a consumer reported missing by a node that is catching up, must not send the drain everything again.
  // A stream made again since (deleted with the app's last drain) starts its sequences anew: then the hint is void.
  const last = ackedThrough > 0 ? (await jsm.streams.info(stream)).state.last_seq : 0;
  let startSeq = ackedThrough > 0 && ackedThrough <= last ? ackedThrough + 1 : 0;
  try {
    const info = await jsm.consumers.info(stream, name);
    if (info.ack_floor.stream_seq + 1 > startSeq && info.ack_floor.stream_seq > 0) startSeq = info.ack_floor.stream_seq + 1;
    await jsm.consumers.delete(stream, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await jsm.consumers.add(stream, {
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
  return startSeq;
}

export async function deleteConsumer(jsm: JetStreamManager, stream: string, b: Pick<Binding, "id">): Promise<void> {
  try {
    await jsm.consumers.delete(stream, consumerName(b));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Deletes the drain consumers of a drain stream whose binding is gone (removed while no drainer ran). */
export async function deleteOrphans(jsm: JetStreamManager, stream: string, bound: ReadonlySet<string>): Promise<number> {
  let n = 0;
  for await (const c of jsm.consumers.list(stream)) {
    const name = c.name;
    if (name.startsWith("drain_") && !bound.has(name.slice("drain_".length))) {
      await deleteConsumer(jsm, stream, { id: name.slice("drain_".length) });
      n++;
    }
  }
  return n;
}
