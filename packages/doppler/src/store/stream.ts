import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { ALL_DATA, DATA_STREAM } from "@tailrace/envelope";

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
export async function ensureDataStream(jsm: JetStreamManager, o: DataStreamOptions): Promise<void> {
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
  try {
    await jsm.streams.info(DATA_STREAM);
  } catch {
    try {
      await jsm.streams.add(config);
      return;
    } catch {
      // Another doppler created it between our two calls; fall through to update.
    }
  }
  await jsm.streams.update(DATA_STREAM, config);
}
