/**
 * OTLP/HTTP request bodies → typed requests, for both encodings the specification defines: binary protobuf
 * (`application/x-protobuf`) and its JSON mapping (`application/json`: lowerCamelCase names, trace and span ids in
 * hex rather than base64, 64-bit integers as strings or numbers, enums as integers), either optionally gzipped.
 *
 * Everything is bounded before it is trusted: the raw body by the HTTP ingress, the inflated body by
 * `maxDecodedBytes` (a gzip bomb stops at that many bytes, it is never inflated whole), the nesting of values by
 * proto.ts. Every way a body can fail comes out as an {@link OtlpError} with the status the specification asks for.
 */
import { gunzip } from "node:zlib";
import { OtlpError, OtlpMalformedError, OtlpTooLargeError, OtlpUnsupportedMediaError } from "./errors.js";
import { ExportLogsServiceRequest, ExportMetricsServiceRequest, type LogsRequest, type MessageType, type MetricsRequest } from "./proto.js";

export type Encoding = "protobuf" | "json";

/** The encoding a `Content-Type` names; 415 for anything else. */
export function encodingOf(contentType: string | undefined): Encoding {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
  if (type === "application/x-protobuf") return "protobuf";
  if (type === "application/json") return "json";
  throw new OtlpUnsupportedMediaError("Content-Type must be application/x-protobuf or application/json");
}

/** The body as sent, or inflated when `Content-Encoding: gzip`; never more than `maxBytes` after inflating. */
export function inflate(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const coding = (contentEncoding ?? "").trim().toLowerCase();
  if (coding === "" || coding === "identity") {
    if (body.length > maxBytes) return Promise.reject(new OtlpTooLargeError(`body larger than ${maxBytes} bytes`));
    return Promise.resolve(body);
  }
  if (coding !== "gzip") return Promise.reject(new OtlpUnsupportedMediaError("Content-Encoding must be gzip or none"));
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBytes }, (err, out) => {
      if (!err) resolve(out);
      else if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        reject(new OtlpTooLargeError(`body larger than ${maxBytes} bytes once inflated`));
      } else reject(new OtlpMalformedError("body is not valid gzip", { cause: err }));
    });
  });
}

export function decodeLogs(bytes: Uint8Array, encoding: Encoding): LogsRequest {
  return decode(ExportLogsServiceRequest, bytes, encoding, (o) => {
    for (const [i, rl] of items(o, "resourceLogs"))
      for (const [j, sl] of items(rl, "scopeLogs"))
        for (const [k, lr] of items(sl, "logRecords")) hexIds(lr, `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`);
  });
}

const POINT_KINDS = ["gauge", "sum", "histogram", "exponentialHistogram", "summary"];

export function decodeMetrics(bytes: Uint8Array, encoding: Encoding): MetricsRequest {
  return decode(ExportMetricsServiceRequest, bytes, encoding, (o) => {
    for (const [i, rm] of items(o, "resourceMetrics"))
      for (const [j, sm] of items(rm, "scopeMetrics"))
        for (const [k, m] of items(sm, "metrics"))
          for (const kind of POINT_KINDS) {
            const data = m[kind];
            if (!isObject(data)) continue;
            for (const [p, dp] of items(data, "dataPoints"))
              for (const [x, ex] of items(dp, "exemplars"))
                hexIds(ex, `resourceMetrics[${i}].scopeMetrics[${j}].metrics[${k}].${kind}.dataPoints[${p}].exemplars[${x}]`);
          }
  });
}

function decode<T>(type: MessageType<T>, bytes: Uint8Array, encoding: Encoding, prepareJson: (o: Record<string, unknown>) => void): T {
  if (encoding === "protobuf") {
    try {
      return type.decode(bytes);
    } catch (err) {
      if (err instanceof OtlpError) throw err;
      // Unknown fields may be groups inside groups, which protobufjs skips recursively: past the stack, that is a
      // body nested too deep like any other, not a failure of the agent.
      const why = err instanceof RangeError && /call stack/.test(err.message) ? "fields nested too deep" : (err as Error).message;
      throw new OtlpMalformedError(`body is not a valid protobuf request: ${why}`, { cause: err });
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch {
    throw new OtlpMalformedError("body is not valid JSON");
  }
  if (!isObject(parsed)) throw new OtlpMalformedError("body must be a JSON object");
  checkIntegers(parsed);
  prepareJson(parsed);
  try {
    return type.fromObject(parsed);
  } catch (err) {
    if (err instanceof OtlpError) throw err;
    throw new OtlpMalformedError(`body is not a valid OTLP JSON request: ${(err as Error).message}`, { cause: err });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The object elements of `o[key]` with their index; anything else is left for fromObject to refuse. */
function* items(o: Record<string, unknown>, key: string): Generator<[number, Record<string, unknown>]> {
  const list = o[key];
  if (!Array.isArray(list)) return;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (isObject(v)) yield [i, v];
  }
}

/** The request fields of the 64-bit integer types, wherever they sit (`intValue` in any AnyValue). */
const INT64_FIELDS = new Set(["timeUnixNano", "observedTimeUnixNano", "startTimeUnixNano", "asInt", "intValue", "count", "zeroCount"]);
const DECIMAL = /^-?\d{1,20}$/;

/**
 * OTLP JSON writes 64-bit integers as decimal strings or as numbers. protobufjs would read `"12abc"` as 12 and
 * `"abc"` as 0; here they are refused. Walks the parsed body without recursion, since it may nest deep.
 */
function checkIntegers(root: Record<string, unknown>): void {
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === "object" && x !== null) stack.push(x);
      continue;
    }
    if (typeof v !== "object" || v === null) continue;
    for (const [key, x] of Object.entries(v)) {
      if (INT64_FIELDS.has(key) && x !== null && x !== undefined) {
        const ok = typeof x === "string" ? DECIMAL.test(x) : typeof x === "number" && Number.isInteger(x);
        if (!ok) throw new OtlpMalformedError(`${key}: must be an integer (a decimal string or a number)`);
      } else if (typeof x === "object" && x !== null) stack.push(x);
    }
  }
}

const ID_BYTES: Record<string, number> = { traceId: 16, spanId: 8 };

/** OTLP JSON carries trace and span ids in hex, where protobuf's JSON mapping would use base64: decode them here. */
function hexIds(o: Record<string, unknown>, path: string): void {
  for (const [key, size] of Object.entries(ID_BYTES)) {
    const v = o[key];
    if (v === undefined || v === null) continue;
    if (v === "") {
      delete o[key];
      continue;
    }
    if (typeof v !== "string" || v.length !== size * 2 || !/^[0-9a-fA-F]+$/.test(v)) {
      throw new OtlpMalformedError(`${path}.${key}: must be ${size * 2} hex digits`);
    }
    o[key] = Buffer.from(v, "hex");
  }
}
