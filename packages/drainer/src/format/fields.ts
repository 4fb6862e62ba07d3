/**
 * The RFC 5424 header fields Cloud Foundry derives from an envelope: HOSTNAME, APP-NAME and PROCID. Each must be
 * PRINTUSASCII without spaces and within its length limit (section 6.2), or strict receivers drop the message; CF
 * refuses to send such envelopes at all, we clean and cut them instead so that no log line is lost for a long name.
 */
import type { Envelope } from "@tailrace/envelope";

const NIL = "-";
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_PROCID = 128;
const MAX_LABEL = 63;
/** CF keeps at most this much of the instance id when a PROCID overflows, and cuts the source type instead. */
const MAX_PROCID_INSTANCE = 36;

/** CF's hostname sanitising: runs of whitespace become '-', anything but letters, digits and '-' goes, as do trailing dashes. */
function hostLabel(s: string): string {
  return s
    .replace(/\s+/g, "-")
    .replace(/[^-a-zA-Z0-9]+/g, "")
    .replace(/-+$/, "")
    .slice(0, MAX_LABEL);
}

/** Any character outside PRINTUSASCII becomes '-'. */
function printable(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, "-");
}

/** `tenant.app`, from tags.tenant and tags.app_name (the source id when there is no app name). */
export function hostname(e: Envelope): string {
  const labels = [e.tags.tenant ?? "", e.tags.app_name || e.sourceId].map(hostLabel).filter((l) => l !== "");
  const name = labels.join(".").slice(0, MAX_HOSTNAME);
  return name === "" ? NIL : name;
}

/** The source id. */
export function appName(e: Envelope): string {
  const name = printable(e.sourceId).slice(0, MAX_APP_NAME);
  return name === "" ? NIL : name;
}

/** `[APP/PROC/WEB/0]` for logs: source type and instance, spaces made '-' as CF does (`[MY-TASK/2]`). */
export function logProcId(e: Envelope): string {
  let type = printable(e.tags.source_type ?? "");
  let instance = printable(e.instanceId);
  if (type === "" && instance === "") return NIL;
  if (type === "" || instance === "") return `[${(type || instance).slice(0, MAX_PROCID - 2)}]`;
  const room = MAX_PROCID - 3; // brackets and the slash
  if (type.length + instance.length > room) instance = instance.slice(0, MAX_PROCID_INSTANCE);
  if (type.length + instance.length > room) type = type.slice(0, room - instance.length);
  return `[${type}/${instance}]`;
}

/** `[0]` for metrics: CF puts only the instance id there. */
export function metricProcId(e: Envelope): string {
  const instance = printable(e.instanceId).slice(0, MAX_PROCID - 2);
  return instance === "" ? NIL : `[${instance}]`;
}
