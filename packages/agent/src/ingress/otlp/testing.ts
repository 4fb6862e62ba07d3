/** Shared by the OTLP unit tests: a placement and limits like the agent's defaults, and request builders. */
import type { TagLimits } from "./attributes.js";
import type { Placement } from "./logs.js";
import { ExportLogsServiceRequest, ExportMetricsServiceRequest } from "./proto.js";

export const placement: Placement = {
  tenant: "acme",
  app: "shop",
  instanceId: "0",
  tags: { tenant: "acme", app_name: "shop", source_type: "APP/PROC/OTLP", process_type: "otlp" },
};

export const limits: TagLimits = { maxAttributes: 32, maxValueChars: 1024 };

export const NOW = 1_700_000_000_000_000_000n;
export const now = () => NOW;

/** An OTLP JSON-shaped logs request (camelCase, as fromObject takes it) of these records. */
export function logsJson(logRecords: object[], resourceAttributes: object[] = []): object {
  return { resourceLogs: [{ resource: { attributes: resourceAttributes }, scopeLogs: [{ scope: { name: "lib" }, logRecords }] }] };
}

export function metricsJson(metrics: object[], resourceAttributes: object[] = []): object {
  return { resourceMetrics: [{ resource: { attributes: resourceAttributes }, scopeMetrics: [{ metrics }] }] };
}

/** The binary protobuf of a logs request given in its object form. */
export function logsProto(o: object): Uint8Array {
  return ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(o)).finish();
}

export function metricsProto(o: object): Uint8Array {
  return ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(o)).finish();
}

export const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
