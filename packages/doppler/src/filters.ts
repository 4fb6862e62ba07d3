import { ENVELOPE_TYPES, type EnvelopeType, type Kind, kindFromEnvelopeType } from "@tailrace/envelope";
import type { FeedItem } from "./ingress/feed.js";

/** What a reader asked to see. Undefined fields match everything. */
export interface Filters {
  kinds?: ReadonlySet<Kind>;
  /** Prefix of `tags.source_type`, e.g. `APP` or `APP/PROC/WEB`. */
  sourceType?: string;
  instanceId?: string;
}

export class BadRequestError extends Error {
  override name = "BadRequestError";
}

export function parseEnvelopeTypes(values: string[]): ReadonlySet<Kind> | undefined {
  if (values.length === 0) return undefined;
  const kinds = new Set<Kind>();
  for (const v of values.flatMap((x) => x.split(","))) {
    const t = v.trim().toUpperCase();
    if (!(ENVELOPE_TYPES as readonly string[]).includes(t)) {
      throw new BadRequestError(`envelope_types: unknown type ${JSON.stringify(v)}; use LOG, COUNTER, GAUGE, TIMER or EVENT`);
    }
    kinds.add(kindFromEnvelopeType(t as EnvelopeType));
  }
  return kinds;
}

export function parseFilters(q: URLSearchParams): Filters {
  const f: Filters = {};
  const kinds = parseEnvelopeTypes(q.getAll("envelope_types"));
  if (kinds) f.kinds = kinds;
  const st = q.get("source_type");
  if (st) f.sourceType = st;
  const inst = q.get("instance_id");
  if (inst !== null) f.instanceId = inst;
  return f;
}

export function matches(f: Filters, item: FeedItem): boolean {
  if (f.kinds && !f.kinds.has(item.kind)) return false;
  if (f.instanceId !== undefined && item.env.instanceId !== f.instanceId) return false;
  if (f.sourceType !== undefined && !(item.env.tags.source_type ?? "").startsWith(f.sourceType)) return false;
  return true;
}
