/**
 * The OTLP protobuf types, from code the OpenTelemetry project generated (protobufjs static module) from the official
 * opentelemetry-proto definitions and ships in `@opentelemetry/otlp-transformer` 0.210.0. That is the last release of
 * the package whose generated module holds the logs and the metrics request types with their decoders: from 0.215 the
 * logs request, and from 0.218 every request, is serialised by hand, and only responses are decoded (checked up to
 * 0.223.1). The version is pinned exactly; the deep path is not its public API, so proto.test.ts checks that every
 * type this file names is there.
 *
 * Decoding is bounded here, where the recursion is: an AnyValue holds arrays and kvlists of AnyValues, so a small
 * body can nest deep enough to exhaust the stack. Every nested level of a decode or a fromObject passes through
 * ArrayValue or KeyValueList (the generated code calls them through the root object), so wrapping those two counts
 * the depth and refuses a body past {@link MAX_ANY_DEPTH} with {@link OtlpDepthError} before the stack is at risk.
 */
import { createRequire } from "node:module";
import protobuf from "protobufjs";
import { OtlpDepthError } from "./errors.js";

/** How deep arrays and kvlists may nest inside one attribute value or log body. */
export const MAX_ANY_DEPTH = 16;

/** What the generated code gives for 64-bit integers (the `long` package's Long), or a number from JSON. */
export type Int64 = { toString(): string; low: number; high: number; unsigned: boolean } | number | string;

export interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64 | null;
  doubleValue?: number | null;
  arrayValue?: { values?: AnyValue[] | null } | null;
  kvlistValue?: { values?: KeyValue[] | null } | null;
  bytesValue?: Uint8Array | null;
}

export interface KeyValue {
  key?: string | null;
  value?: AnyValue | null;
}

export interface Resource {
  attributes?: KeyValue[] | null;
}

export interface Scope {
  name?: string | null;
  version?: string | null;
}

export interface LogRecord {
  timeUnixNano?: Int64 | null;
  observedTimeUnixNano?: Int64 | null;
  severityNumber?: number | null;
  severityText?: string | null;
  body?: AnyValue | null;
  attributes?: KeyValue[] | null;
  traceId?: Uint8Array | null;
  spanId?: Uint8Array | null;
  eventName?: string | null;
}

export interface LogsRequest {
  resourceLogs?: Array<{
    resource?: Resource | null;
    scopeLogs?: Array<{ scope?: Scope | null; logRecords?: LogRecord[] | null }> | null;
  }> | null;
}

export interface NumberDataPoint {
  attributes?: KeyValue[] | null;
  startTimeUnixNano?: Int64 | null;
  timeUnixNano?: Int64 | null;
  asDouble?: number | null;
  asInt?: Int64 | null;
}

/** 1 is DELTA, 2 is CUMULATIVE (AggregationTemporality). */
export const CUMULATIVE = 2;

export interface Metric {
  name?: string | null;
  unit?: string | null;
  gauge?: { dataPoints?: NumberDataPoint[] | null } | null;
  sum?: { dataPoints?: NumberDataPoint[] | null; aggregationTemporality?: number | null; isMonotonic?: boolean | null } | null;
  histogram?: { dataPoints?: unknown[] | null } | null;
  exponentialHistogram?: { dataPoints?: unknown[] | null } | null;
  summary?: { dataPoints?: unknown[] | null } | null;
}

export interface MetricsRequest {
  resourceMetrics?: Array<{
    resource?: Resource | null;
    scopeMetrics?: Array<{ scope?: Scope | null; metrics?: Metric[] | null }> | null;
  }> | null;
}

/** One generated message type, as far as the agent uses it. */
export interface MessageType<T> {
  decode(bytes: Uint8Array): T;
  fromObject(o: object): T;
  encode(m: object): { finish(): Uint8Array };
}

type Recursive = { decode: (...a: unknown[]) => unknown; fromObject: (...a: unknown[]) => unknown };

interface GeneratedRoot {
  opentelemetry: {
    proto: {
      common: { v1: { ArrayValue: Recursive; KeyValueList: Recursive } };
      collector: {
        logs: { v1: { ExportLogsServiceRequest: MessageType<LogsRequest>; ExportLogsServiceResponse: MessageType<object> } };
        metrics: { v1: { ExportMetricsServiceRequest: MessageType<MetricsRequest>; ExportMetricsServiceResponse: MessageType<object> } };
      };
    };
  };
}

const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js") as GeneratedRoot;

let depth = 0;
/** Wraps one of the two recursive steps so that each call is one level deeper. */
function guard(type: Recursive, method: "decode" | "fromObject"): void {
  const inner = type[method];
  if ((inner as { guarded?: boolean }).guarded) return;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    if (depth >= MAX_ANY_DEPTH) throw new OtlpDepthError(MAX_ANY_DEPTH);
    depth++;
    try {
      return inner.apply(this, args);
    } finally {
      depth--;
    }
  };
  type[method] = Object.assign(wrapped, { guarded: true });
}
for (const t of [root.opentelemetry.proto.common.v1.ArrayValue, root.opentelemetry.proto.common.v1.KeyValueList]) {
  guard(t, "decode");
  guard(t, "fromObject");
}

const collector = root.opentelemetry.proto.collector;
export const ExportLogsServiceRequest = collector.logs.v1.ExportLogsServiceRequest;
export const ExportLogsServiceResponse = collector.logs.v1.ExportLogsServiceResponse;
export const ExportMetricsServiceRequest = collector.metrics.v1.ExportMetricsServiceRequest;
export const ExportMetricsServiceResponse = collector.metrics.v1.ExportMetricsServiceResponse;

/**
 * google.rpc.Status, the body of an OTLP/HTTP error response. The generated module does not carry it; its two
 * fields are defined here with protobufjs reflection (the `details` field is never sent).
 */
export const Status = new protobuf.Type("Status")
  .add(new protobuf.Field("code", 1, "int32"))
  .add(new protobuf.Field("message", 2, "string"));
new protobuf.Root().define("google.rpc").add(Status);

/**
 * A fixed64 field (the timestamps) as an unsigned bigint. protobufjs's fromObject marks every Long it makes signed,
 * so a JSON value past 2^63 would read as negative without this.
 */
export function toU64(v: Int64 | null | undefined): bigint | undefined {
  const n = toBigInt(v);
  return n === undefined ? undefined : BigInt.asUintN(64, n);
}

/** A 64-bit integer from the decoder (Long, number or decimal string) as a bigint; undefined when absent or invalid. */
export function toBigInt(v: Int64 | null | undefined): bigint | undefined {
  if (v === null || v === undefined) return undefined;
  try {
    if (typeof v === "number") return Number.isFinite(v) ? BigInt(Math.trunc(v)) : undefined;
    return BigInt(typeof v === "string" ? v : v.toString());
  } catch {
    return undefined;
  }
}
