import type { JetStreamManager } from "@nats-io/jetstream";
import { DATA_STREAM, parseDataSubject, tenantFilter } from "@tailrace/envelope";
import type { AppRegistry } from "../store/apps.js";

export interface SourceMeta {
  tenant: string;
  /** NATS messages (batches of one or more envelopes) kept for this source, as a string like Log Cache's int64s. */
  count: string;
}

/**
 * The sources the given tenants own, with what the stream keeps for each. Built from the KV registry (ownership)
 * and the stream's per-subject counts, so every doppler answers the same.
 */
export async function readMeta(
  jsm: JetStreamManager,
  registry: AppRegistry,
  tenants: ReadonlySet<string>,
): Promise<Record<string, SourceMeta>> {
  const out: Record<string, SourceMeta> = {};
  for (const { sourceId, tenant } of registry.sourcesOf(tenants)) out[sourceId] = { tenant, count: "0" };
  for (const tenant of tenants) {
    const info = await jsm.streams.info(DATA_STREAM, { subjects_filter: tenantFilter(tenant) });
    for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
      const s = parseDataSubject(subject);
      const entry = s && out[s.sourceId];
      if (entry && entry.tenant === s.tenant) entry.count = String(Number(entry.count) + n);
    }
  }
  return out;
}
