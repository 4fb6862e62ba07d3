/**
 * Why an OTLP/HTTP export was refused as a whole. Each carries the HTTP status the OTLP specification asks for, so the
 * handler answers without guessing. Messages name the rule and the field, never the offending bytes: apps put
 * secrets in log bodies and attributes.
 */
export class OtlpError extends Error {
  override name = "OtlpError";
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The body does not decode as the request type (bad protobuf, bad JSON, bad gzip, a field of the wrong type). */
export class OtlpMalformedError extends OtlpError {
  override name = "OtlpMalformedError";
  constructor(message: string, options?: ErrorOptions) {
    super(400, message, options);
  }
}

/** An AnyValue nested deeper than the agent decodes (arrays and kvlists inside each other). */
export class OtlpDepthError extends OtlpMalformedError {
  override name = "OtlpDepthError";
  constructor(readonly limit: number) {
    super(`attribute or body values nested deeper than ${limit} levels`);
  }
}

/** The body, before or after gunzip, is over the limit. */
export class OtlpTooLargeError extends OtlpError {
  override name = "OtlpTooLargeError";
  constructor(message: string) {
    super(413, message);
  }
}

/** Neither `application/x-protobuf` nor `application/json`, or a content coding other than gzip. */
export class OtlpUnsupportedMediaError extends OtlpError {
  override name = "OtlpUnsupportedMediaError";
  constructor(message: string) {
    super(415, message);
  }
}

/** The agent's buffer has no room for the request: the client should retry after `retryAfterSec`. */
export class OtlpBufferFullError extends OtlpError {
  override name = "OtlpBufferFullError";
  constructor(readonly retryAfterSec: number) {
    super(429, `the agent's buffer is full; retry after ${retryAfterSec} s`);
  }
}
