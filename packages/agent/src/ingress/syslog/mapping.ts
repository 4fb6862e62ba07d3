import { isValidName, type LogType } from "@tailrace/envelope";
import type { InstanceInfo } from "../instance.js";
import type { SyslogMessage } from "./message.js";

/** The SD-ID that names a message's tenant and app: `[tailrace@47450 tenant="t" app="a" process="web" instance="0"]`. */
export const SD_ID = "tailrace@47450";

export type SyslogPlacement = { ok: true; info: Omit<InstanceInfo, "logRateLimit"> } | { ok: false; reason: "unmapped" | "invalid_name" };

function param(m: SyslogMessage, name: string): string | undefined {
  for (const el of m.structuredData) if (el.id === SD_ID) for (const p of el.params) if (p.name === name) return p.value;
  return undefined;
}

/**
 * Where a syslog message goes, first rule that applies (docs/AGENT.md):
 * 1. the `tailrace@47450` SD element's `tenant` and `app` (RFC 5424 only);
 * 2. a HOSTNAME of exactly `tenant.app` (the form our drains send, so a drain can feed an agent);
 * 3. the configured default tenant, with APP-NAME as the app.
 * Process type: SD `process`, else `syslog`; instance: SD `instance`, else PROCID, else `0`.
 * A name outside the alphabet (no `.`, `*`, `>` or whitespace) refuses the message: it is never rewritten.
 */
export function placeSyslog(m: SyslogMessage, defaultTenant: string): SyslogPlacement {
  let tenant = param(m, "tenant");
  let app = param(m, "app");
  if (tenant === undefined && app === undefined) {
    const parts = m.hostname?.split(".");
    if (parts?.length === 2 && isValidName(parts[0] as string) && isValidName(parts[1] as string)) {
      [tenant, app] = parts as [string, string];
    } else if (defaultTenant) {
      tenant = defaultTenant;
      app = m.appName;
    }
  }
  if (tenant === undefined || app === undefined) return { ok: false, reason: "unmapped" };
  const processType = param(m, "process") ?? "syslog";
  const instanceId = param(m, "instance") ?? m.procId ?? "0";
  if (!isValidName(tenant) || !isValidName(app) || !isValidName(processType) || instanceId.length > 256) {
    return { ok: false, reason: "invalid_name" };
  }
  return { ok: true, info: { tenant, app, processType, instanceId } };
}

/** Severity emergency..error (0-3) is ERR, warning and below OUT, as Cloud Foundry's syslog drains map it back. */
export function logTypeOf(m: SyslogMessage): LogType {
  return m.severity <= 3 ? "ERR" : "OUT";
}
