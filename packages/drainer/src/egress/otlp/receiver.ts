/**
 * A receiver's view of an OTLP/HTTP request, for tests: decoded with the OpenTelemetry project's generated protobuf
 * code (the module the agent's ingress uses), not with anything of the drainer's encoder, so what a test reads is
 * what any OTLP receiver would. Exported to the repository's tests through internal_mod.ts.
 */
import { createRequire } from "node:module";

interface Type {
  decode(b: Uint8Array): unknown;
  toObject(m: unknown, o: object): ORequest;
}
const otel = createRequire(import.meta.url)("@opentelemetry/otlp-transformer/build/src/generated/root.js") as {
  opentelemetry: { proto: { collector: Record<"logs" | "metrics", { v1: Record<string, Type> }> } };
};
const REQUESTS = {
  logs: otel.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest as Type,
  metrics: otel.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest as Type,
};
const AS_JSON = { longs: String, bytes: String, enums: Number, defaults: false };

/** The decoded requests as the generated code's toObject gives them (longs and bytes as strings). */
export interface KV {
  key: string;
  value: { stringValue?: string };
}
export interface OtlpResource {
  resource: { attributes: KV[] };
}
export interface Point {
  asDouble?: number;
  asInt?: string;
  timeUnixNano?: string;
  startTimeUnixNano?: string;
  attributes?: KV[];
}
export interface OMetric {
  name: string;
  unit?: string;
  gauge?: { dataPoints: Point[] };
  sum?: { dataPoints: Point[]; aggregationTemporality?: number; isMonotonic?: boolean };
}
export interface ORecord {
  body: { stringValue?: string; bytesValue?: string };
  severityNumber?: number;
  severityText?: string;
  traceId?: string;
  spanId?: string;
  eventName?: string;
  attributes?: KV[];
  timeUnixNano?: string;
  observedTimeUnixNano?: string;
}
export interface ORequest {
  resourceLogs: Array<OtlpResource & { scopeLogs: Array<{ scope: { name: string }; logRecords: ORecord[] }> }>;
  resourceMetrics: Array<OtlpResource & { scopeMetrics: Array<{ scope: { name: string }; metrics: OMetric[] }> }>;
}

/** Decodes an export request body (not gzipped) of `signal` as a receiver would. */
export function decodeOtlpRequest(signal: "logs" | "metrics", body: Uint8Array): ORequest {
  const t = REQUESTS[signal];
  return t.toObject(t.decode(body), AS_JSON);
}
