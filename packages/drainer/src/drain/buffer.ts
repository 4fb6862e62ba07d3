/**
 * The drains' buffer: one JetStream stream, TAILRACE_DRAINS, that sources everything in TAILRACE_DATA (one source, no
 * filter) and keeps it for the drains' own retention, however fast the data stream's per-app rings turn:
 *
 * - `max_age` is TAILRACE_DRAIN_RETENTION and `max_bytes` TAILRACE_DRAIN_MAX_BYTES, for all apps together;
 * - `max_msgs_per_subject` is TAILRACE_DRAIN_PER_APP: each app and kind keeps at most that many batches, so one app's
 *   flood pushes out its own backlog, never another app's.
 *
 * Why one stream (issue 13, measured in docs/ARCHITECTURE.md): a stream per drained app reserved its own size on
 * the server's disk (230 drains filled it), and each such stream's source is a consumer on TAILRACE_DATA, which
 * nats-server 2.9 signals for every message stored: with 1,000 of them ingest fell from 139,000 to 6,100 messages/s.
 * One source costs the same at any number of drains.
 */
import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { DATA_STREAM, DRAIN_STREAM } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";

export interface DrainBufferLimits {
  maxAgeMs: number;
  maxBytes: number;
  /** Batches kept per app and kind. */
  perApp: number;
  /** Most consumers the buffer takes (every drainer's feed, and the catch-up of each drain behind); 0: no limit. */
  maxConsumers: number;
  replicas: number;
}

const NS_PER_MS = 1_000_000;

export function isNotFound(err: unknown): boolean {
  return /not found|10014|10059|404/i.test(String((err as Error)?.message ?? err));
}

/**
 * Creates the buffer or brings its limits up to date, beside other drainers doing the same. Returns when the stream
 * was created, which names this incarnation of it: stream sequences (the drains' cursors) mean nothing in another.
 */
export async function ensureDrainBuffer(jsm: JetStreamManager, o: DrainBufferLimits, logger: Logger): Promise<string> {
  const limits = {
    max_age: o.maxAgeMs * NS_PER_MS,
    max_bytes: o.maxBytes,
    max_msgs_per_subject: o.perApp,
    discard: DiscardPolicy.Old,
  };
  let current: StreamConfig | undefined;
  let created = "";
  try {
    const info = await jsm.streams.info(DRAIN_STREAM);
    current = info.config;
    created = info.created;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!current) {
    try {
      const info = await jsm.streams.add({
        name: DRAIN_STREAM,
        description: "Tailrace drains' buffer: everything in TAILRACE_DATA, kept for the drains' retention",
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        num_replicas: o.replicas,
        ...limits,
        max_consumers: o.maxConsumers > 0 ? o.maxConsumers : -1,
        sources: [{ name: DATA_STREAM }],
      });
      logger.info({ stream: DRAIN_STREAM, replicas: o.replicas, ...limits }, "created the drains' buffer stream");
      return info.created;
    } catch (err) {
      // Another drainer created it between our two calls; where there is none, the refusal itself is the error.
      const other = await jsm.streams.info(DRAIN_STREAM).catch(() => undefined);
      if (!other) throw err;
      current = other.config;
      created = other.created;
    }
  }
  if (current.num_replicas !== o.replicas) {
    // Reported, not changed: moving a buffer that may hold a day of every app's logs is an operator's decision.
    logger.error(
      { stream: DRAIN_STREAM, replicas: current.num_replicas, wanted: o.replicas },
      `the drains' buffer has ${current.num_replicas} replicas, not ${o.replicas}; serving on it as it is`,
    );
  }
  const maxConsumers = o.maxConsumers > 0 ? o.maxConsumers : -1;
  if (current.max_consumers !== maxConsumers) {
    // nats-server cannot change it on an existing stream.
    logger.error(
      { stream: DRAIN_STREAM, maxConsumers: current.max_consumers, wanted: maxConsumers },
      "the drains' buffer keeps the consumer limit it was made with; recreate it to change TAILRACE_DRAIN_MAX_CONSUMERS",
    );
  }
  const changed = (Object.keys(limits) as Array<keyof typeof limits>).some((k) => current[k] !== limits[k]);
  if (changed) {
    // The source stays as it is: changing it would copy the data again.
    await jsm.streams.update(DRAIN_STREAM, { ...current, ...limits });
    logger.info({ stream: DRAIN_STREAM, ...limits }, "updated the drains' buffer limits");
  }
  return created;
}
