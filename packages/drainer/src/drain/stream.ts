/**
 * The drain streams: one JetStream stream per drained app and scope that sources the app's subjects from the data
 * stream and keeps them for the drains' own retention (`TAILRACE_DRAIN_RETENTION` in time, `TAILRACE_DRAIN_MAX_BYTES`
 * in size, per app), so a drain outage is survived for that long, however fast the data stream's per-app ring turns.
 *
 * The scope is `log` (drains with drain-data=logs) or `all` (metrics or all): the stream then holds exactly what its
 * drains' consumers read, so a gap in the stream sequences a consumer is delivered is exactly what the stream dropped
 * (see the pipeline's loss accounting). Each stream has one source: on nats-server 2.9 a second source from the same
 * stream silently copies nothing.
 */
import { createHash } from "node:crypto";
import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { appFilter, DATA_STREAM, DRAIN_STREAM_PREFIX, dataSubject } from "@tailrace/envelope";
import type { DrainData } from "../binding/url.js";

export type DrainScope = "log" | "all";

export interface DrainStreamLimits {
  maxAgeMs: number;
  maxBytes: number;
  replicas: number;
}

const NS_PER_MS = 1_000_000;

export const scopeOf = (data: DrainData): DrainScope => (data === "logs" ? "log" : "all");

/** The subjects a scope covers: also the filter of every drain consumer on the stream. */
export function scopeFilter(tenant: string, sourceId: string, scope: DrainScope): string {
  return scope === "log" ? dataSubject(tenant, sourceId, "log") : appFilter(tenant, sourceId);
}

/** `TAILRACE_DRAIN_<16 hex of sha256("tenant.app")>_LOG|_ALL`: short, deterministic, and free of `.`. */
export function drainStreamName(tenant: string, sourceId: string, scope: DrainScope): string {
  const h = createHash("sha256").update(`${tenant}.${sourceId}`).digest("hex").slice(0, 16);
  return `${DRAIN_STREAM_PREFIX}${h}_${scope.toUpperCase()}`;
}

export function isNotFound(err: unknown): boolean {
  return /not found|10014|10059|404/i.test(String((err as Error)?.message ?? err));
}

/**
 * Creates the drain stream, sourcing from `since` (the earliest binding it serves), or brings its limits up to date.
 * Idempotent, and safe beside other drainers doing the same. Returns the stream's name.
 */
export async function ensureDrainStream(
  jsm: JetStreamManager,
  tenant: string,
  sourceId: string,
  scope: DrainScope,
  since: number,
  o: DrainStreamLimits,
): Promise<string> {
  const name = drainStreamName(tenant, sourceId, scope);
  const limits = { max_age: o.maxAgeMs * NS_PER_MS, max_bytes: o.maxBytes, discard: DiscardPolicy.Old };
  let current: StreamConfig | undefined;
  try {
    current = (await jsm.streams.info(name)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!current) {
    try {
      await jsm.streams.add({
        name,
        description: `Tailrace drains of ${tenant}.${sourceId} (${scope})`,
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        num_replicas: o.replicas,
        ...limits,
        sources: [
          { name: DATA_STREAM, filter_subject: scopeFilter(tenant, sourceId, scope), opt_start_time: new Date(since).toISOString() },
        ],
      });
      return name;
    } catch (err) {
      // Another drainer created it between our two calls: check its limits below. Where there is no such stream, the
      // refusal itself is the error to report (e.g. no room left for its reservation: issue 13 saw only the "stream
      // not found" of the info that followed it, 18,311 times).
      const other = await jsm.streams.info(name).catch(() => undefined);
      if (!other) throw err;
      current = other.config;
    }
  }
  if (current.max_age !== limits.max_age || current.max_bytes !== limits.max_bytes || current.discard !== limits.discard) {
    // The sources stay as they are: changing them would copy the app's data again.
    await jsm.streams.update(name, { ...current, ...limits });
  }
  return name;
}

/** Deletes a drain stream (and with it its consumers); nothing when it is gone already. */
export async function deleteDrainStream(jsm: JetStreamManager, name: string): Promise<void> {
  try {
    await jsm.streams.delete(name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** The drain streams there are, with the app and scope each serves (read back from its source's filter). */
export async function listDrainStreams(
  jsm: JetStreamManager,
): Promise<Array<{ name: string; tenant: string; sourceId: string; scope: DrainScope }>> {
  const out: Array<{ name: string; tenant: string; sourceId: string; scope: DrainScope }> = [];
  for await (const name of jsm.streams.names()) {
    if (!name.startsWith(DRAIN_STREAM_PREFIX)) continue;
    const info = await jsm.streams.info(name).catch(() => undefined);
    const parts = info?.config.sources?.[0]?.filter_subject?.split(".");
    if (parts?.length !== 5) continue;
    out.push({ name, tenant: parts[2] as string, sourceId: parts[3] as string, scope: parts[4] === "log" ? "log" : "all" });
  }
  return out;
}
