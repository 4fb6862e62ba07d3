/**
 * The OTLP protobuf types the drain encodes with: the code the OpenTelemetry project generated (protobufjs static
 * module) from the official opentelemetry-proto definitions, as `@opentelemetry/otlp-transformer` 0.210.0 ships it,
 * the same module and pinned version the agent's OTLP ingress decodes with (packages/agent/src/ingress/otlp/proto.ts
 * says why that release). The deep path is not the package's public API, so proto.test.ts checks it is there.
 *
 * Only plain objects go in (`encode` takes them as they are, no `fromObject`), and 64-bit integers go in as
 * {@link Fixed64} low/high pairs, which protobufjs's writer reads without the `long` package.
 */
import { createRequire } from "node:module";
import protobuf from "protobufjs";

/** A 64-bit integer as protobufjs's writer takes it. */
export interface Fixed64 {
  low: number;
  high: number;
}

export interface AnyValue {
  stringValue?: string;
  bytesValue?: Uint8Array;
}

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface LogRecord {
  timeUnixNano: Fixed64;
  observedTimeUnixNano: Fixed64;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  eventName?: string;
}

export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Fixed64;
  timeUnixNano: Fixed64;
  asDouble?: number;
  asInt?: Fixed64;
}

/** AggregationTemporality CUMULATIVE. */
export const CUMULATIVE = 2;

export interface Metric {
  name: string;
  unit: string;
  gauge?: { dataPoints: NumberDataPoint[] };
  sum?: { dataPoints: NumberDataPoint[]; aggregationTemporality: number; isMonotonic: boolean };
}

export interface Resource {
  attributes: KeyValue[];
}

export interface Scope {
  name: string;
}

export interface LogsRequest {
  resourceLogs: Array<{ resource: Resource; scopeLogs: Array<{ scope: Scope; logRecords: LogRecord[] }> }>;
}

export interface MetricsRequest {
  resourceMetrics: Array<{ resource: Resource; scopeMetrics: Array<{ scope: Scope; metrics: Metric[] }> }>;
}

interface PartialSuccess {
  rejectedLogRecords?: { toString(): string } | number | null;
  rejectedDataPoints?: { toString(): string } | number | null;
  errorMessage?: string | null;
}

export interface ExportResponse {
  partialSuccess?: PartialSuccess | null;
}

interface Encoder<T> {
  encode(m: T): { finish(): Uint8Array };
}
interface Decoder<T> {
  decode(bytes: Uint8Array): T;
}

interface GeneratedRoot {
  opentelemetry: {
    proto: {
      collector: {
        logs: { v1: { ExportLogsServiceRequest: Encoder<LogsRequest>; ExportLogsServiceResponse: Decoder<ExportResponse> } };
        metrics: { v1: { ExportMetricsServiceRequest: Encoder<MetricsRequest>; ExportMetricsServiceResponse: Decoder<ExportResponse> } };
      };
    };
  };
}

const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js") as GeneratedRoot;
const collector = root.opentelemetry.proto.collector;

export const ExportLogsServiceRequest = collector.logs.v1.ExportLogsServiceRequest;
export const ExportLogsServiceResponse = collector.logs.v1.ExportLogsServiceResponse;
export const ExportMetricsServiceRequest = collector.metrics.v1.ExportMetricsServiceRequest;
export const ExportMetricsServiceResponse = collector.metrics.v1.ExportMetricsServiceResponse;

/**
 * google.rpc.Status, the body of an OTLP/HTTP error answer, for the reason in the drain's LGR line. The generated
 * module does not carry it; its two fields are defined with protobufjs reflection (`details` is not read).
 */
export const Status = new protobuf.Type("Status")
  .add(new protobuf.Field("code", 1, "int32"))
  .add(new protobuf.Field("message", 2, "string"));
new protobuf.Root().define("google.rpc").add(Status);

const U64 = (1n << 64n) - 1n;

/** A bigint as the writer's low/high pair, taken modulo 2^64 (two's complement for negatives). */
export function fixed64(n: bigint): Fixed64 {
  const u = n & U64;
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0 };
}
