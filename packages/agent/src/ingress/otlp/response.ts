/**
 * OTLP/HTTP answers, in the request's encoding: 200 with an Export*ServiceResponse (with partial_success when some
 * records or points were refused), and errors as a google.rpc.Status whose code matches the HTTP status.
 */
import type { ServerResponse } from "node:http";
import type { Encoding } from "./decode.js";
import { ExportLogsServiceResponse, ExportMetricsServiceResponse, Status } from "./proto.js";

export type Signal = "logs" | "metrics";

const CONTENT_TYPE: Record<Encoding, string> = { protobuf: "application/x-protobuf", json: "application/json" };

/** The gRPC status code OTLP pairs with each HTTP status it uses. */
const GRPC_CODE: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  404: 5, // NOT_FOUND
  405: 12, // UNIMPLEMENTED
  413: 8, // RESOURCE_EXHAUSTED
  415: 3, // INVALID_ARGUMENT
  429: 8, // RESOURCE_EXHAUSTED
  503: 14, // UNAVAILABLE
};

export function success(res: ServerResponse, signal: Signal, encoding: Encoding, rejected: number, error: string): void {
  const field = signal === "logs" ? "rejectedLogRecords" : "rejectedDataPoints";
  const partial = rejected > 0 ? { partialSuccess: { [field]: rejected, errorMessage: error } } : {};
  let body: Uint8Array | string;
  if (encoding === "json") {
    // proto3 JSON: int64 as a decimal string.
    body = JSON.stringify(rejected > 0 ? { partialSuccess: { [field]: String(rejected), errorMessage: error } } : {});
  } else {
    body = (signal === "logs" ? ExportLogsServiceResponse : ExportMetricsServiceResponse).encode(partial).finish();
  }
  res.writeHead(200, { "content-type": CONTENT_TYPE[encoding] });
  res.end(body);
}

export function failure(
  res: ServerResponse,
  status: number,
  message: string,
  encoding: Encoding,
  headers: Record<string, string> = {},
): void {
  const code = GRPC_CODE[status] ?? 13; // INTERNAL
  const body = encoding === "json" ? JSON.stringify({ code, message }) : Status.encode({ code, message }).finish();
  res.writeHead(status, { ...headers, "content-type": CONTENT_TYPE[encoding] });
  res.end(body);
}
