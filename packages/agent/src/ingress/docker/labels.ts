import { isValidName } from "@tailrace/envelope";
import type { InstanceInfo } from "../instance.js";

/** The container labels that place a container's logs (see docs/AGENT.md). */
export const LABELS = {
  tenant: "tailrace.tenant",
  app: "tailrace.app",
  process: "tailrace.process",
  instance: "tailrace.instance",
  logRateLimit: "tailrace.log_rate_limit",
} as const;

export interface LabelDefaults {
  /** Tenant for containers without `tailrace.tenant`; empty skips them. */
  tenant: string;
  /** Bytes/s when `tailrace.log_rate_limit` is absent; 0 is no limit. */
  logRateLimit: number;
}

export type Placement = { ok: true; info: InstanceInfo } | { ok: false; reason: "unmapped" | "invalid_name"; detail: string };

/** A container name as an app name: Docker allows `.`, which may not reach a subject. */
function appFromName(name: string): string {
  return name
    .replace(/^\//, "")
    .replace(/[^A-Za-z0-9_-]/g, "-")
    .replace(/^[-_]+/, "")
    .slice(0, 128);
}

/**
 * Decides a container's tenant, app, process type and instance from its labels:
 * - tenant: `tailrace.tenant`, else the configured default, else the container is skipped;
 * - app: `tailrace.app`, else the container's name (characters outside the name alphabet become `-`);
 * - process type: `tailrace.process`, else `web`; instance: `tailrace.instance`, else the short container id.
 * A label holding an invalid name refuses the container rather than guessing.
 */
export function placeContainer(id: string, name: string, labels: Record<string, string>, d: LabelDefaults): Placement {
  const tenant = labels[LABELS.tenant] ?? d.tenant;
  if (!tenant) return { ok: false, reason: "unmapped", detail: `no ${LABELS.tenant} label and no default tenant` };
  const app = labels[LABELS.app] ?? appFromName(name);
  const processType = labels[LABELS.process] ?? "web";
  const instanceId = labels[LABELS.instance] ?? id.slice(0, 12);
  for (const [what, v] of [
    ["tenant", tenant],
    ["app", app],
    ["process", processType],
    ["instance", instanceId],
  ] as const) {
    if (!isValidName(v)) return { ok: false, reason: "invalid_name", detail: `invalid ${what} ${JSON.stringify(v.slice(0, 80))}` };
  }
  const rawLimit = labels[LABELS.logRateLimit];
  let logRateLimit = d.logRateLimit;
  if (rawLimit !== undefined) {
    if (!/^\d{1,15}$/.test(rawLimit)) return { ok: false, reason: "invalid_name", detail: `${LABELS.logRateLimit} must be bytes/s` };
    logRateLimit = Number(rawLimit);
  }
  return { ok: true, info: { tenant, app, processType, instanceId, logRateLimit } };
}
