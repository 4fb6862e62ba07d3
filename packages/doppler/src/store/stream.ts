import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { ALL_DATA, DATA_STREAM } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";

export interface DataStreamOptions {
  perSubject: number;
  maxAgeMs: number;
  maxBytes: number;
  replicas: number;
}

const NS_PER_MS = 1_000_000;

/**
 * Creates or updates the one stream that holds all tenant data. Per-subject limits make it a per-app, per-kind
 * ring: a flooding app pushes out its own history, never another app's.
 */
export async function ensureDataStream(jsm: JetStreamManager, o: DataStreamOptions, logger?: Logger): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: DATA_STREAM,
    subjects: [ALL_DATA],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs_per_subject: o.perSubject,
    max_age: o.maxAgeMs * NS_PER_MS,
    max_bytes: o.maxBytes,
    num_replicas: o.replicas,
    duplicate_window: 120_000 * NS_PER_MS,
    allow_direct: true,
  };
  let have: number | undefined;
  try {
    have = (await jsm.streams.info(DATA_STREAM)).config.num_replicas;
  } catch {
    try {
      await jsm.streams.add(config);
      return;
    } catch {
      // Another doppler created it between our two calls; fall through to update.
    }
  }
  if (have !== undefined && have !== o.replicas) {
    logger?.warn(
      { stream: DATA_STREAM, replicas: have, wanted: o.replicas },
      `the data stream has ${have} replicas, not ${o.replicas}; changing it`,
    );
  }
  try {
    await jsm.streams.update(DATA_STREAM, config);
  } catch (err) {
    if (have === undefined || have === o.replicas) throw err;
    // Keep serving on what exists (the data is there), and say so on every start until an operator fixes it.
    logger?.error(
      { stream: DATA_STREAM, replicas: have, wanted: o.replicas, err: (err as Error).message },
      `the data stream keeps ${have} replicas: changing it to ${o.replicas} failed`,
    );
    await jsm.streams.update(DATA_STREAM, { ...config, num_replicas: have });
  }
}
