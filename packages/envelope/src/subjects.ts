/**
 * The NATS subject scheme, in one place. Every subject that carries tenant data is
 *
 *     tr.data.<tenant>.<source_id>.<kind>
 *
 * - The tenant comes first, so one permission (`tr.data.<tenant>.>`) fences a tenant, and a reader built from a
 *   token's tenant can only ever name subjects under it.
 * - Kind comes last, so a tail that wants only logs subscribes to `.log` and NATS routes by interest.
 * - Every token is checked against the name alphabet (see names.ts): no `.`, `*`, `>` or whitespace can reach a
 *   subject and widen it.
 */
import type { Kind } from "./envelope.js";
import { KINDS } from "./envelope.js";
import { checkName } from "./names.js";

export const DATA_PREFIX = "tr.data";

/** Everything: the firehose and the recent-logs stream. */
export const ALL_DATA = `${DATA_PREFIX}.>`;

/** The JetStream stream that keeps recent envelopes per app and kind, and feeds tails and drains. */
export const DATA_STREAM = "TAILRACE_DATA";

/**
 * The drains' buffer: one stream that sources everything in {@link DATA_STREAM} and keeps it for the drains' own
 * retention, with a per-app-and-kind cap so that one app's flood cannot push out another's backlog (the drainer
 * creates and sizes it). Issue 13: a stream per drained app stopped NATS ingest at a thousand drains.
 */
export const DRAIN_STREAM = "TAILRACE_DRAINS";

/** KV bucket: source_id → owning tenant. */
export const APPS_BUCKET = "tailrace_apps";

export function dataSubject(tenant: string, sourceId: string, kind: Kind): string {
  return `${DATA_PREFIX}.${checkName("tenant", tenant)}.${checkName("source_id", sourceId)}.${kind}`;
}

/** All kinds of one app, or one kind when given. */
export function appFilter(tenant: string, sourceId: string, kind?: Kind): string {
  return `${DATA_PREFIX}.${checkName("tenant", tenant)}.${checkName("source_id", sourceId)}.${kind ?? "*"}`;
}

export function tenantFilter(tenant: string): string {
  return `${DATA_PREFIX}.${checkName("tenant", tenant)}.>`;
}

export interface DataSubject {
  tenant: string;
  sourceId: string;
  kind: Kind;
}

/** Parses a data subject; returns undefined for anything that is not one. */
export function parseDataSubject(subject: string): DataSubject | undefined {
  const parts = subject.split(".");
  if (parts.length !== 5 || parts[0] !== "tr" || parts[1] !== "data") return undefined;
  const kind = parts[4] as Kind;
  if (!KINDS.includes(kind)) return undefined;
  return { tenant: parts[2] as string, sourceId: parts[3] as string, kind };
}
