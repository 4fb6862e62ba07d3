/**
 * OTLP log records → Loggregator log envelopes. The mapping, documented in docs/AGENT.md ("OTLP"):
 * - payload: the body, a string as is and any other value as JSON; over 64 KiB it is split into parts marked
 *   `partial`, as every other source does;
 * - type: ERR from severity_number 17 (ERROR) up, or with no severity_number a severity_text naming an error; else OUT;
 * - timestamp: time_unix_nano, else observed_time_unix_nano, else the receive time;
 * - tags: the placement's own, then severity, trace_id/span_id in hex, event_name and the scope's name, then bounded
 *   record and resource attributes.
 */
import { type Envelope, MAX_PAYLOAD_BYTES } from "@tailrace/envelope";
import { boundary } from "../lines.js";
import { addAttributes, anyToText, cut, type TagLimits } from "./attributes.js";
import type { LogRecord, LogsRequest } from "./proto.js";
import { toU64 } from "./proto.js";

/** Where the envelopes of one request go; from the port's configuration or the token and query, never the body. */
export interface Placement {
  tenant: string;
  app: string;
  instanceId: string;
  /** Fixed tags: tenant, app_name, source_type, process_type. */
  tags: Readonly<Record<string, string>>;
}

export interface Mapped {
  envelopes: Envelope[];
  /** Log records or data points refused, and why the first one was. */
  rejected: number;
  error: string;
}

const I64_MAX = (1n << 63n) - 1n;
const ERROR_NUMBER = 17;
const ERROR_TEXT = /^\s*(err|error|fatal|crit|critical|alert|emerg|emergency|panic|severe)\b/i;
/** SeverityNumber ranges (1-4 TRACE, 5-8 DEBUG, ...) and their short names, for the `severity` tag. */
const SEVERITY_NAMES = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

export function severityName(n: number): string {
  return n >= 1 && n <= 24 ? (SEVERITY_NAMES[Math.floor((n - 1) / 4)] as string) : "";
}

export function logType(r: Pick<LogRecord, "severityNumber" | "severityText">): "OUT" | "ERR" {
  const n = r.severityNumber ?? 0;
  if (n > 0) return n >= ERROR_NUMBER ? "ERR" : "OUT";
  return ERROR_TEXT.test(r.severityText ?? "") ? "ERR" : "OUT";
}

/** A trace or span id as hex; "" when absent or all zero (OTLP's "no id"); undefined when of the wrong length. */
function hexId(id: Uint8Array | null | undefined, size: number): string | undefined {
  if (!id || id.length === 0) return "";
  if (id.length !== size) return undefined;
  return id.every((b) => b === 0) ? "" : Buffer.from(id).toString("hex");
}

export function logsToEnvelopes(req: LogsRequest, p: Placement, limits: TagLimits, now: () => bigint): Mapped {
  const out: Mapped = { envelopes: [], rejected: 0, error: "" };
  const refuse = (why: string) => {
    out.rejected++;
    out.error ||= why;
  };
  for (const [i, rl] of (req.resourceLogs ?? []).entries()) {
    const resource = rl.resource?.attributes;
    for (const [j, sl] of (rl.scopeLogs ?? []).entries()) {
      const scope = sl.scope?.name ?? "";
      for (const [k, r] of (sl.logRecords ?? []).entries()) {
        const at = `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`;
        const time = [r.timeUnixNano, r.observedTimeUnixNano].map(toU64).find((t) => t !== undefined && t > 0n);
        if (time !== undefined && time > I64_MAX) {
          refuse(`${at}: time_unix_nano out of range`);
          continue;
        }
        const traceId = hexId(r.traceId, 16);
        const spanId = hexId(r.spanId, 8);
        if (traceId === undefined || spanId === undefined) {
          refuse(`${at}: trace_id must be 16 bytes and span_id 8`);
          continue;
        }
        const tags: Record<string, string> = { ...p.tags };
        const severity = cut(r.severityText || severityName(r.severityNumber ?? 0), limits.maxValueChars);
        if (severity) tags.severity = severity;
        if (traceId) tags.trace_id = traceId;
        if (spanId) tags.span_id = spanId;
        if (r.eventName) tags.event_name = cut(r.eventName, limits.maxValueChars);
        if (scope) tags["otel.scope.name"] = cut(scope, limits.maxValueChars);
        const state = { added: 0 };
        const dropped = addAttributes(tags, r.attributes, limits, state) + addAttributes(tags, resource, limits, state);
        if (dropped > 0) tags["otel.dropped_attributes_count"] = String(dropped);
        push(out.envelopes, p, tags, Buffer.from(anyToText(r.body), "utf8"), logType(r), time ?? now());
      }
    }
  }
  return out;
}

/** One envelope per record, or parts of at most 64 KiB cut on a UTF-8 boundary, all but the last marked `partial`. */
function push(out: Envelope[], p: Placement, tags: Record<string, string>, payload: Buffer, type: "OUT" | "ERR", timestamp: bigint): void {
  let rest = payload;
  while (rest.length > MAX_PAYLOAD_BYTES) {
    const at = boundary(rest, MAX_PAYLOAD_BYTES);
    out.push({
      timestamp,
      sourceId: p.app,
      instanceId: p.instanceId,
      tags: { ...tags, partial: "true" },
      log: { payload: rest.subarray(0, at), type },
    });
    rest = rest.subarray(at);
  }
  out.push({ timestamp, sourceId: p.app, instanceId: p.instanceId, tags, log: { payload: rest, type } });
}
