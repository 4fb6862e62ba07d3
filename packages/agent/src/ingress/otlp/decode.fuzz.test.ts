/**
 * Property tests of the OTLP decoders and mappings (issue 14): random bytes, mutated real requests, random JSON and
 * random OTLP-shaped JSON (with values nested past the limit) never crash anything. Each body either is refused with
 * an OtlpError of status 400, 413 or 415, or decodes to a request whose mapping yields only valid envelopes and
 * accounts for every log record (envelopes or refusals). `FUZZ_RUNS=5000` runs them longer.
 */
import { gzipSync } from "node:zlib";
import { validateEnvelope } from "@tailrace/envelope";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FUZZ_RUNS } from "../file/fuzz_arbitraries.js";
import { decodeLogs, decodeMetrics, type Encoding, inflate } from "./decode.js";
import { OtlpError } from "./errors.js";
import { logsToEnvelopes } from "./logs.js";
import { metricsToEnvelopes } from "./metrics.js";
import { ExportLogsServiceRequest, type LogsRequest } from "./proto.js";
import { limits, logsJson, logsProto, metricsJson, metricsProto, now, placement } from "./testing.js";

/** Decodes and maps one body; returns "refused" or what came out, and fails the property on anything else. */
function attempt(signal: "logs" | "metrics", body: Uint8Array, encoding: Encoding): "refused" | { records: number; out: number } {
  let records = 0;
  try {
    let mapped: ReturnType<typeof logsToEnvelopes>;
    if (signal === "logs") {
      const req = decodeLogs(body, encoding);
      for (const rl of req.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) records += sl.logRecords?.length ?? 0;
      mapped = logsToEnvelopes(req, placement, limits, now);
    } else {
      mapped = metricsToEnvelopes(decodeMetrics(body, encoding), placement, limits, new Set(["service.name"]), now);
    }
    for (const e of mapped.envelopes) validateEnvelope(e);
    expect(mapped.rejected).toBeGreaterThanOrEqual(0);
    if (mapped.rejected > 0) expect(mapped.error).not.toBe("");
    return { records, out: mapped.envelopes.length + mapped.rejected };
  } catch (err) {
    if (!(err instanceof OtlpError)) throw err;
    expect([400, 413, 415]).toContain(err.status);
    expect(err.message).not.toBe("");
    return "refused";
  }
}

const scalar = fc.oneof(
  fc.record({ stringValue: fc.string({ maxLength: 20 }) }),
  fc.record({ boolValue: fc.boolean() }),
  fc.record({ intValue: fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), fc.integer()) }),
  fc.record({ doubleValue: fc.oneof(fc.double(), fc.constantFrom("NaN", "Infinity", "-Infinity")) }),
  fc.record({ bytesValue: fc.base64String({ maxLength: 12 }) }),
  fc.constant({}),
);

/** AnyValues nested up to 24 levels: some past the decoder's limit of 16. */
const anyValue: fc.Arbitrary<object> = fc.letrec<{ v: object }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", maxDepth: 24 },
    scalar,
    fc.record({ arrayValue: fc.record({ values: fc.array(tie("v"), { maxLength: 3 }) }) }),
    fc.record({
      kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: tie("v") }), { maxLength: 3 }) }),
    }),
  ),
})).v;

const attributes = fc.array(
  fc.record({ key: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom("tenant", "__proto__", "service.name")), value: anyValue }),
  {
    maxLength: 6,
  },
);
const nanos = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), fc.nat(), fc.constant("0"));
const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString("hex"));
/** Mostly right values, sometimes any JSON at all in a field. */
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 8, arbitrary: a }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });

const identity = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<unknown> => a;
const logRecordOf = (maybe: <T>(a: fc.Arbitrary<T>) => fc.Arbitrary<unknown>) =>
  fc.record(
    {
      timeUnixNano: maybe(nanos),
      observedTimeUnixNano: nanos,
      severityNumber: maybe(fc.integer({ min: 0, max: 30 })),
      severityText: fc.constantFrom("", "INFO", "ERROR", "fatal"),
      body: maybe(anyValue),
      attributes: maybe(attributes),
      traceId: fc.oneof(hex(16), fc.constant(""), fc.string({ maxLength: 4 })),
      spanId: fc.oneof(hex(8), fc.constant("")),
      eventName: fc.string({ maxLength: 10 }),
    },
    { requiredKeys: [] },
  );
const logRecord = logRecordOf(maybe);

const point = fc.record(
  {
    asDouble: maybe(fc.double()),
    asInt: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
    timeUnixNano: nanos,
    attributes,
  },
  { requiredKeys: [] },
);
const metric = fc.record(
  {
    name: fc.string({ maxLength: 12 }),
    unit: fc.constantFrom("", "1", "By", "ms", "{req}", "Cel"),
    gauge: fc.record({ dataPoints: fc.array(point, { maxLength: 3 }) }),
    sum: fc.record({
      aggregationTemporality: fc.integer({ min: 0, max: 3 }),
      isMonotonic: fc.boolean(),
      dataPoints: fc.array(point, { maxLength: 3 }),
    }),
    histogram: fc.record({ dataPoints: fc.array(fc.record({ count: fc.nat().map(String) }), { maxLength: 2 }) }),
  },
  { requiredKeys: ["name"] },
);

const logsRequest = fc.tuple(fc.array(logRecord, { maxLength: 5 }), attributes).map(([records, resource]) => logsJson(records, resource));
/** Requests whose every field has its proto type (for comparing encodings; `maybe` puts any JSON anywhere). */
const wellTypedLogs = fc
  .tuple(fc.array(logRecordOf(identity), { maxLength: 5 }), attributes)
  .map(([records, resource]) => logsJson(records, resource));
const metricsRequest = fc.tuple(fc.array(metric, { maxLength: 4 }), attributes).map(([ms, resource]) => metricsJson(ms, resource));

/** A valid protobuf request (from a logs request that decodes), then bytes flipped, cut or inserted. */
function mutated(valid: Uint8Array, edits: Array<[number, number, number]>): Uint8Array {
  const b = [...valid];
  for (const [kind, at, value] of edits) {
    const i = b.length ? at % b.length : 0;
    if (kind === 0) b[i] = value;
    else if (kind === 1) b.splice(i, 1);
    else b.splice(i, 0, value);
  }
  return Uint8Array.from(b);
}
const edits = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.integer({ min: 0, max: 255 })), {
  minLength: 1,
  maxLength: 6,
});

const encode = (signal: "logs" | "metrics", o: object): Uint8Array | undefined => {
  try {
    return signal === "logs" ? logsProto(o) : metricsProto(o);
  } catch {
    return undefined; // not a request the JSON mapping accepts (too deep, wrong types): nothing to mutate
  }
};

describe("OTLP decode fuzz", () => {
  it("otlp fuzz - random bytes as protobuf are refused with 400 or decode to valid envelopes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom("logs" as const, "metrics" as const), (bytes, signal) => {
        attempt(signal, bytes, "protobuf");
      }),
      FUZZ_RUNS,
    );
  });

  it("otlp fuzz - real requests with bytes flipped, cut or inserted never crash the decoder", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          logsRequest.map((o) => ["logs", o] as const),
          metricsRequest.map((o) => ["metrics", o] as const),
        ),
        edits,
        ([signal, o], e) => {
          const valid = encode(signal, o);
          if (valid) attempt(signal, mutated(valid, e), "protobuf");
        },
      ),
      FUZZ_RUNS,
    );
  });

  it("otlp fuzz - random JSON, and random OTLP-shaped JSON, is refused with 400 or maps every record", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json({ maxDepth: 6 }),
          logsRequest.map((o) => JSON.stringify(o)),
        ),
        (text) => {
          const r = attempt("logs", Buffer.from(text), "json");
          // Nothing is lost silently: each record is one envelope or more (a long body), or counted as refused.
          if (r !== "refused") expect(r.out).toBeGreaterThanOrEqual(r.records);
        },
      ),
      FUZZ_RUNS,
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json({ maxDepth: 6 }),
          metricsRequest.map((o) => JSON.stringify(o)),
        ),
        (text) => {
          attempt("metrics", Buffer.from(text), "json");
        },
      ),
      FUZZ_RUNS,
    );
  });

  it("otlp fuzz - the JSON and protobuf forms of one request map to the same envelopes", () => {
    fc.assert(
      fc.property(wellTypedLogs, (o) => {
        let fromJson: LogsRequest;
        try {
          fromJson = decodeLogs(Buffer.from(JSON.stringify(o)), "json");
        } catch (err) {
          expect(err).toBeInstanceOf(OtlpError);
          return;
        }
        // The protobuf a client would send for the same request: the JSON-decoded message, encoded.
        const bytes = ExportLogsServiceRequest.encode(fromJson).finish();
        const a = logsToEnvelopes(fromJson, placement, limits, now);
        const b = logsToEnvelopes(decodeLogs(bytes, "protobuf"), placement, limits, now);
        expect(b.envelopes).toEqual(a.envelopes);
        expect(b.rejected).toBe(a.rejected);
      }),
      FUZZ_RUNS,
    );
  });

  it("otlp fuzz - random bytes as gzip are inflated or refused, never more than the limit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 3000 }).map((b) => gzipSync(b)),
        ),
        async (bytes) => {
          try {
            const out = await inflate(Buffer.from(bytes), "gzip", 1024);
            expect(out.length).toBeLessThanOrEqual(1024);
          } catch (err) {
            expect(err).toBeInstanceOf(OtlpError);
          }
        },
      ),
      { numRuns: Math.min(FUZZ_RUNS.numRuns, 200) },
    );
  });
});
